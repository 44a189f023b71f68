/**
 * AbortMultipartUpload (DELETE /bucket/key?uploadId=U): removes the upload and deletes its parts'
 * bodies; 204. Unknown upload (or one of another key) → NoSuchUpload.
 * Authorized as s3:AbortMultipartUpload on the object ARN.
 * @module
 */
import type { Operation } from '../operation.js'
import { bucketOf, keyOf, requestObjectArn } from '../object/access.js'
import { discardBody } from '../object/ingest.js'
import { loadUpload } from '../object/multipart.js'

export const abortMultipartUpload: Operation = {
  name: 'AbortMultipartUpload',
  target: 'object',
  authorize: (req) => [{ action: 's3:AbortMultipartUpload', resource: requestObjectArn(req) }],
  async handle(req, env) {
    const bucket = bucketOf(req)
    const upload = await loadUpload(req, env, bucket.name, keyOf(req))
    const bodies = await env.meta.abortUpload(upload.uploadId)
    for (const b of bodies) await discardBody(req, env, b)
    return { status: 204 }
  },
}
