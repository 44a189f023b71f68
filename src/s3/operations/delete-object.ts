/**
 * DeleteObject (DELETE /bucket/key): 204 whether or not the key existed, as S3 answers for
 * unversioned buckets; the body's blobs are retired after the metadata commit (storage/commit.ts).
 * @module
 */
import type { Operation } from '../operation.js'
import { bucketOf, checkVersionId, keyOf, requestObjectArn } from '../object/access.js'
import { removeObject } from '../object/remove.js'

export const deleteObject: Operation = {
  name: 'DeleteObject',
  target: 'object',
  authorize: (req) => [{ action: 's3:DeleteObject', resource: requestObjectArn(req) }],
  async handle(req, env) {
    const bucket = bucketOf(req)
    checkVersionId(req)
    await removeObject(req, env, bucket.name, keyOf(req))
    return { status: 204 }
  },
}
