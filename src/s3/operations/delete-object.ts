/**
 * DeleteObject (DELETE /bucket/key): 204 whether or not the key existed, as S3 answers for
 * unversioned buckets; the body's blobs are deleted after the metadata commit.
 * @module
 */
import type { Operation } from '../operation.js'
import { bucketOf, checkVersionId, keyOf, requestObjectArn } from '../object/access.js'
import { discardBody } from '../object/ingest.js'

export const deleteObject: Operation = {
  name: 'DeleteObject',
  target: 'object',
  authorize: (req) => [{ action: 's3:DeleteObject', resource: requestObjectArn(req) }],
  async handle(req, env) {
    const bucket = bucketOf(req)
    checkVersionId(req)
    const removed = await env.meta.deleteObject(bucket.name, keyOf(req))
    await discardBody(req, env, removed)
    return { status: 204 }
  },
}
