/**
 * CreateMultipartUpload (POST /bucket/key?uploads): validates and records everything the final
 * object will carry (content headers, metadata, tags, checksum algorithm and type) so that
 * CompleteMultipartUpload needs only the part list. Authorized as s3:PutObject.
 * @module
 */
import { principalArn } from '../../auth/principal.js'
import type { ChecksumAlgorithm, UploadRecord } from '../../storage/metadata-store.js'
import { S3Error } from '../errors.js'
import type { Operation } from '../operation.js'
import { bucketOf, keyOf } from '../object/access.js'
import { describeObject } from '../object/headers.js'
import { objectAclFromRequest } from '../acl-apply.js'
import { requireChecksumAlgorithm } from '../object/ingest.js'
import { parseTaggingHeader } from '../object/tags.js'
import { doc, el } from '../xml.js'
import { checkContentType } from '../object/upload-caps.js'
import { aclWriteRequirement, objectCreationContext, putRequirement } from './put-object.js'

type ChecksumType = 'FULL_OBJECT' | 'COMPOSITE'

/** x-amz-checksum-algorithm + x-amz-checksum-type, with AWS's defaults and combinations. */
export function parseUploadChecksum(
  algHeader: string | undefined,
  typeHeader: string | undefined,
): { algorithm?: ChecksumAlgorithm; type?: ChecksumType } {
  const algorithm = requireChecksumAlgorithm(algHeader)
  let type: ChecksumType | undefined
  if (typeHeader !== undefined) {
    const t = typeHeader.toUpperCase()
    if (t !== 'FULL_OBJECT' && t !== 'COMPOSITE') {
      throw new S3Error('InvalidRequest', 'Value for x-amz-checksum-type header is invalid.')
    }
    type = t
  }
  if (algorithm === undefined) {
    if (type !== undefined) {
      throw new S3Error(
        'InvalidRequest',
        'The x-amz-checksum-type header can only be used with the x-amz-checksum-algorithm header.',
      )
    }
    return {}
  }
  const resolved: ChecksumType = type ?? (algorithm === 'CRC64NVME' ? 'FULL_OBJECT' : 'COMPOSITE')
  if (resolved === 'FULL_OBJECT' && (algorithm === 'SHA1' || algorithm === 'SHA256')) {
    throw new S3Error(
      'InvalidRequest',
      `The FULL_OBJECT checksum type cannot be used with the ${algorithm.toLowerCase()} checksum algorithm.`,
    )
  }
  if (resolved === 'COMPOSITE' && algorithm === 'CRC64NVME') {
    throw new S3Error(
      'InvalidRequest',
      'The COMPOSITE checksum type cannot be used with the crc64nvme checksum algorithm.',
    )
  }
  return { algorithm, type: resolved }
}

export const createMultipartUpload: Operation = {
  name: 'CreateMultipartUpload',
  target: 'object',
  authorize: (req) => [
    putRequirement(req, objectCreationContext(req, false)),
    ...aclWriteRequirement(req),
  ],
  async handle(req, env) {
    const bucket = bucketOf(req)
    const key = keyOf(req)
    const desc = describeObject((n) => req.header(n), req.raw.headers)
    // A session's content-type cap refuses the upload now, not after its parts (Complete checks
    // again for the completing session).
    checkContentType(req.principal, desc.headers.contentType)
    const tags = parseTaggingHeader(req.header('x-amz-tagging')) ?? {}
    // Checked now (a refused ACL refuses the upload), applied to the object at completion.
    const acl = await objectAclFromRequest(desc.acl, bucket, env)
    const cs = parseUploadChecksum(
      req.header('x-amz-checksum-algorithm'),
      req.header('x-amz-checksum-type'),
    )
    const upload: UploadRecord = {
      uploadId: env.ids.uid(),
      bucket: bucket.name,
      key,
      initiatedAt: req.ctx.clock.now(),
      headers: desc.headers,
      userMetadata: desc.userMetadata,
      tags,
      ownerAccountId: bucket.accountId,
      initiator: principalArn(req.principal),
      ...(cs.algorithm === undefined ? {} : { checksumAlgorithm: cs.algorithm }),
      ...(cs.type === undefined ? {} : { checksumType: cs.type }),
      ...(acl === undefined ? {} : { acl }),
    }
    await env.meta.createUpload(upload)
    const headers: Record<string, string> = { 'content-type': 'application/xml' }
    if (cs.algorithm !== undefined && cs.type !== undefined) {
      headers['x-amz-checksum-algorithm'] = cs.algorithm
      headers['x-amz-checksum-type'] = cs.type
    }
    return {
      status: 200,
      headers,
      body: doc(
        'InitiateMultipartUploadResult',
        el('Bucket', bucket.name) + el('Key', key) + el('UploadId', upload.uploadId),
      ),
    }
  },
}
