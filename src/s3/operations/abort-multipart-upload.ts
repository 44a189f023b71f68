/**
 * AbortMultipartUpload (DELETE /bucket/key?uploadId=U): removes the upload and retires its parts'
 * bodies (storage/commit.ts); 204. Unknown upload (or one of another key) → NoSuchUpload.
 * Authorized as s3:AbortMultipartUpload on the object ARN.
 * @module
 */
import { commitRemoval } from '../../storage/commit.js'
import type { Operation } from '../operation.js'
import { bucketOf, keyOf, requestObjectArn } from '../object/access.js'
import { commitIo } from '../object/ingest.js'
import { loadUpload } from '../object/multipart.js'

export const abortMultipartUpload: Operation = {
  name: 'AbortMultipartUpload',
  target: 'object',
  authorize: (req) => [{ action: 's3:AbortMultipartUpload', resource: requestObjectArn(req) }],
  async handle(req, env) {
    const bucket = bucketOf(req)
    const upload = await loadUpload(req, env, bucket.name, keyOf(req))
    await commitRemoval(commitIo(req, env), async () => ({
      result: undefined,
      freed: await env.meta.abortUpload(upload.uploadId),
    }))
    return { status: 204 }
  },
}
