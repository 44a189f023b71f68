/**
 * Get/Put/DeleteBucketLifecycleConfiguration (`?lifecycle`). The XML is validated into rules
 * (lifecycle.ts) and stored as canonical JSON, the bucket's `lifecycle` sub-resource; the
 * background worker (lifecycle-worker.ts) applies them and GET/HEAD/PUT answers name the rule
 * that will expire the object (x-amz-expiration). AWS requires Content-MD5 or an
 * x-amz-checksum-* on the PUT; so do we (the SDK sends a CRC32 by default, the aws CLI an MD5).
 * Authorized as s3:PutLifecycleConfiguration (also for the DELETE, as AWS does) and
 * s3:GetLifecycleConfiguration.
 * @module
 */
import { bucketArn } from '../bucket-name.js'
import { S3Error } from '../errors.js'
import type { Operation } from '../operation.js'
import { readVerifiedBody } from '../integrity/verify-body.js'
import { bucketRecordOf, emptyResponse, xmlResponse } from '../responses.js'
import {
  MAX_LIFECYCLE_BYTES,
  parseLifecycleXml,
  parseStoredLifecycle,
  renderLifecycleXml,
  serializeLifecycle,
} from '../lifecycle.js'

export const getBucketLifecycle: Operation = {
  name: 'GetBucketLifecycleConfiguration',
  target: 'bucket',
  authorize: (req) => [
    { action: 's3:GetLifecycleConfiguration', resource: bucketArn(req.bucket ?? '') },
  ],
  async handle(req, env) {
    const b = bucketRecordOf(req)
    const stored = await env.meta.getBucketSubresource(b.name, 'lifecycle')
    if (stored === undefined)
      throw new S3Error('NoSuchLifecycleConfiguration', undefined, { BucketName: b.name })
    return xmlResponse(renderLifecycleXml(parseStoredLifecycle(stored)))
  },
}

export const putBucketLifecycle: Operation = {
  name: 'PutBucketLifecycleConfiguration',
  target: 'bucket',
  authorize: (req) => [
    { action: 's3:PutLifecycleConfiguration', resource: bucketArn(req.bucket ?? '') },
  ],
  async handle(req, env) {
    const b = bucketRecordOf(req)
    const xml = await readVerifiedBody(req, {
      maxBytes: MAX_LIFECYCLE_BYTES,
      requireChecksum: true,
    })
    const rules = parseLifecycleXml(xml)
    await env.meta.setBucketSubresource(b.name, 'lifecycle', serializeLifecycle(rules))
    return emptyResponse(200)
  },
}

export const deleteBucketLifecycle: Operation = {
  name: 'DeleteBucketLifecycle',
  target: 'bucket',
  authorize: (req) => [
    { action: 's3:PutLifecycleConfiguration', resource: bucketArn(req.bucket ?? '') },
  ],
  async handle(req, env) {
    const b = bucketRecordOf(req)
    await env.meta.setBucketSubresource(b.name, 'lifecycle', null)
    return emptyResponse(204)
  },
}
