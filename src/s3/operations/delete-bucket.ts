/**
 * DeleteBucket (DELETE /bucket): only empty buckets (no objects, no in-progress multipart
 * uploads; the store checks both in the same transaction and throws 'bucket-not-empty').
 * Policy/CORS caches are told the bucket is gone so a re-created bucket starts clean.
 * @module
 */
import { bucketArn } from '../bucket-name.js'
import type { Operation } from '../operation.js'
import { bucketRecordOf, emptyResponse } from '../responses.js'

export const deleteBucket: Operation = {
  name: 'DeleteBucket',
  target: 'bucket',
  authorize: (req) => [{ action: 's3:DeleteBucket', resource: bucketArn(req.bucket ?? '') }],
  async handle(req, env) {
    const b = bucketRecordOf(req)
    await env.meta.deleteBucket(b.name)
    env.bucketPolicyChanged(b.name)
    env.bucketCorsChanged(b.name)
    return emptyResponse(204)
  },
}
