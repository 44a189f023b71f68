/**
 * ListParts (GET /bucket/key?uploadId=U): one page of parts after part-number-marker, at most
 * max-parts (default and ceiling 1000), with IsTruncated/NextPartNumberMarker, the initiator and
 * owner, and the upload's checksum algorithm/type. Authorized as s3:ListMultipartUploadParts.
 * @module
 */
import { S3Error } from '../errors.js'
import type { Operation } from '../operation.js'
import { bucketOf, keyOf, requestObjectArn } from '../object/access.js'
import { checksumElementName } from '../object/ingest.js'
import { loadUpload } from '../object/multipart.js'
import { doc, el, isoDate, wrap } from '../xml.js'

function intParam(name: string, v: string | undefined, dflt: number): number {
  if (v === undefined) return dflt
  const n = /^\d{1,10}$/.test(v) ? Number(v) : NaN
  if (!Number.isSafeInteger(n)) {
    throw new S3Error(
      'InvalidArgument',
      `Provided ${name} not an integer or within integer range`,
      {
        ArgumentName: name,
        ArgumentValue: v,
      },
    )
  }
  return n
}

export const listParts: Operation = {
  name: 'ListParts',
  target: 'object',
  authorize: (req) => [{ action: 's3:ListMultipartUploadParts', resource: requestObjectArn(req) }],
  async handle(req, env) {
    const bucket = bucketOf(req)
    const key = keyOf(req)
    const marker = intParam('part-number-marker', req.query.get('part-number-marker'), 0)
    const maxParts = Math.min(1000, intParam('max-parts', req.query.get('max-parts'), 1000))
    const upload = await loadUpload(req, env, bucket.name, key)
    const page =
      maxParts === 0 ? [] : await env.meta.listParts(upload.uploadId, marker, maxParts + 1)
    const truncated = page.length > maxParts
    const shown = page.slice(0, maxParts)
    const owner = env.owner(upload.ownerAccountId)
    let parts = ''
    for (const p of shown) {
      parts += wrap(
        'Part',
        el('PartNumber', p.partNumber) +
          el('LastModified', isoDate(p.lastModified)) +
          el('ETag', `"${p.etag}"`) +
          el('Size', p.size) +
          (p.checksum === undefined
            ? ''
            : el(checksumElementName(p.checksum.algorithm), p.checksum.value)),
      )
    }
    const last = shown[shown.length - 1]
    const body = doc(
      'ListPartsResult',
      el('Bucket', bucket.name) +
        el('Key', key) +
        el('UploadId', upload.uploadId) +
        wrap('Initiator', el('ID', upload.initiator) + el('DisplayName', owner.displayName)) +
        wrap('Owner', el('ID', owner.id) + el('DisplayName', owner.displayName)) +
        el('StorageClass', 'STANDARD') +
        el('PartNumberMarker', marker) +
        (truncated && last !== undefined ? el('NextPartNumberMarker', last.partNumber) : '') +
        el('MaxParts', maxParts) +
        el('IsTruncated', truncated) +
        (upload.checksumAlgorithm === undefined
          ? ''
          : el('ChecksumAlgorithm', upload.checksumAlgorithm)) +
        (upload.checksumType === undefined ? '' : el('ChecksumType', upload.checksumType)) +
        parts,
    )
    return { status: 200, headers: { 'content-type': 'application/xml' }, body }
  },
}
