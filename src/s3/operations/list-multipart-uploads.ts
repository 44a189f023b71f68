/**
 * ListMultipartUploads (GET /bucket?uploads): in-progress uploads in key order, then upload id,
 * with prefix/delimiter grouping and key-marker/upload-id-marker pagination done by the store.
 * Initiator is the principal that started the upload (an IAM ARN prints as AWS prints IAM
 * initiators: the ARN as ID, the name as DisplayName; the account root as the owner).
 * @module
 */
import { bucketArn } from '../bucket-name.js'
import type { Operation, OwnerInfo, S3Env } from '../operation.js'
import { encodeName, parseEncodingType, parseMaxKeys } from '../listing/params.js'
import { bucketRecordOf, ownerXml, xmlResponse } from '../responses.js'
import { commonPrefixesXml } from './list-objects.js'
import { doc, el, isoDate, wrap } from '../xml.js'

/** Initiator element for a stored principal ARN. */
export function initiatorOf(arn: string, env: S3Env, ownerAccountId: string): OwnerInfo {
  const root = /^arn:aws:iam::(\d+):root$/.exec(arn)
  if (root?.[1] !== undefined) return env.owner(root[1])
  if (arn === '' || !arn.startsWith('arn:')) return env.owner(ownerAccountId)
  const name = arn.slice(arn.lastIndexOf('/') + 1)
  return { id: arn, displayName: name }
}

export const listMultipartUploads: Operation = {
  name: 'ListMultipartUploads',
  target: 'bucket',
  authorize: (req) => [
    { action: 's3:ListBucketMultipartUploads', resource: bucketArn(req.bucket ?? '') },
  ],
  async handle(req, env) {
    const bucket = bucketRecordOf(req).name
    const prefix = req.query.get('prefix') ?? ''
    const d = req.query.get('delimiter')
    const delimiter = d === undefined || d === '' ? undefined : d
    const maxUploads = parseMaxKeys(req.query.get('max-uploads'), 'max-uploads')
    const enc = parseEncodingType(req.query.get('encoding-type'))
    const keyMarker = req.query.get('key-marker') ?? ''
    // AWS ignores upload-id-marker without key-marker.
    const uploadIdMarker = keyMarker === '' ? '' : (req.query.get('upload-id-marker') ?? '')
    const p =
      maxUploads === 0
        ? { uploads: [], commonPrefixes: [], isTruncated: false }
        : await env.meta.listUploads(bucket, {
            prefix,
            maxUploads,
            ...(delimiter !== undefined ? { delimiter } : {}),
            ...(keyMarker !== '' ? { keyMarker } : {}),
            ...(uploadIdMarker !== '' ? { uploadIdMarker } : {}),
          })
    const next =
      'nextKeyMarker' in p
        ? el(
            'NextKeyMarker',
            p.nextKeyMarker === undefined ? '' : encodeName(p.nextKeyMarker, enc),
          ) + el('NextUploadIdMarker', p.nextUploadIdMarker ?? '')
        : el('NextKeyMarker', '') + el('NextUploadIdMarker', '')
    const uploads = p.uploads
      .map((u) =>
        wrap(
          'Upload',
          el('Key', encodeName(u.key, enc)) +
            el('UploadId', u.uploadId) +
            ownerXml(initiatorOf(u.initiator, env, u.ownerAccountId), 'Initiator') +
            ownerXml(env.owner(u.ownerAccountId)) +
            el('StorageClass', 'STANDARD') +
            el('Initiated', isoDate(u.initiatedAt)) +
            (u.checksumAlgorithm !== undefined
              ? el('ChecksumAlgorithm', u.checksumAlgorithm)
              : '') +
            (u.checksumType !== undefined ? el('ChecksumType', u.checksumType) : ''),
        ),
      )
      .join('')
    const body =
      el('Bucket', bucket) +
      el('KeyMarker', encodeName(keyMarker, enc)) +
      el('UploadIdMarker', uploadIdMarker) +
      next +
      el('Prefix', encodeName(prefix, enc)) +
      (delimiter !== undefined ? el('Delimiter', encodeName(delimiter, enc)) : '') +
      el('MaxUploads', maxUploads) +
      el('IsTruncated', p.isTruncated) +
      (enc !== undefined ? el('EncodingType', enc) : '') +
      uploads +
      commonPrefixesXml(p.commonPrefixes, enc)
    return xmlResponse(doc('ListMultipartUploadsResult', body))
  },
}
