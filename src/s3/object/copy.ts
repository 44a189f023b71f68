/**
 * The source side of CopyObject and UploadPartCopy: resolve the source bucket (NoSuchBucket),
 * decide s3:GetObject on the source (with its s3:ExistingObjectTag/* keys once loaded), then
 * NoSuchKey, then the x-amz-copy-source-if-* conditions (412 PreconditionFailed).
 * The object is only looked up after the GetObject decision, so callers without read access
 * learn nothing about whether the source exists.
 * @module
 */
import type { BucketRecord, ObjectRecord } from '../../storage/metadata-store.js'
import { S3Error } from '../errors.js'
import type { S3Env, S3Request } from '../operation.js'
import { noSuchKey, objectArn } from './access.js'
import { checkCopySourceConditions } from './conditional.js'
import { parseCopySource, type CopySource } from './copy-source.js'
import { existingTagContext } from './tags.js'

export interface LoadedSource {
  readonly src: CopySource
  readonly bucket: BucketRecord
  readonly object: ObjectRecord
}

export async function loadCopySource(req: S3Request, env: S3Env): Promise<LoadedSource> {
  const src = parseCopySource(req.header('x-amz-copy-source'))
  const bucket = await env.meta.getBucket(src.bucket)
  if (bucket === undefined) throw new S3Error('NoSuchBucket', undefined, { BucketName: src.bucket })
  const resource = objectArn(src.bucket, src.key)
  await env.authz.require(req, { action: 's3:GetObject', resource }, bucket)
  const object = await env.meta.getObject(src.bucket, src.key)
  if (object === undefined) throw noSuchKey(src.key)
  if (Object.keys(object.tags).length > 0) {
    await env.authz.require(
      req,
      { action: 's3:GetObject', resource, context: existingTagContext(object.tags) },
      bucket,
    )
  }
  checkCopySourceConditions((n) => req.header(n), object.etag, object.lastModified)
  return { src, bucket, object }
}
