/**
 * Small response and request helpers the bucket operations share: the loaded bucket record, XML
 * and empty answers, and the owner element. Kept here so each operation file stays a few lines.
 * @module
 */
import { S3Error } from './errors.js'
import type { OwnerInfo, S3Request, S3Response } from './operation.js'
import type { BucketRecord } from '../storage/metadata-store.js'
import { el, wrap } from './xml.js'

/** The bucket the pipeline loaded; its absence means the bucket does not exist. */
export function bucketRecordOf(req: S3Request): BucketRecord {
  const b = req.bucketRecord
  if (b === undefined)
    throw new S3Error('NoSuchBucket', undefined, { BucketName: req.bucket ?? '' })
  return b
}

export function xmlResponse(
  body: string,
  status = 200,
  headers: Record<string, string> = {},
): S3Response {
  return { status, headers: { 'content-type': 'application/xml', ...headers }, body }
}

export function emptyResponse(status: number, headers: Record<string, string> = {}): S3Response {
  return { status, headers }
}

/** `<tag><ID/><DisplayName/></tag>` */
export function ownerXml(owner: OwnerInfo, tag = 'Owner'): string {
  return wrap(tag, el('ID', owner.id) + el('DisplayName', owner.displayName))
}
