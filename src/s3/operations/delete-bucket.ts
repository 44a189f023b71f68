/**
 * DeleteBucket (DELETE /bucket): only empty buckets (no objects, no in-progress multipart
 * uploads; the store checks both in the same transaction and throws 'bucket-not-empty').
 * The store announces the deletion on the ChangeFeed, which drops the bucket's policy and CORS
 * from every cache (s3/bucket-config.ts), so a re-created bucket starts clean.
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
    return emptyResponse(204)
  },
}
