/**
 * DeleteBucket (DELETE /bucket): only a bucket without objects (the store checks in the same
 * transaction and throws 'bucket-not-empty'). Incomplete multipart uploads do not keep a bucket
 * alive, as on AWS: the store removes them with it, and their parts' blobs are retired through the
 * blob ledger like an abort's (commitRemoval), so nothing is leaked.
 * The store announces the deletion on the ChangeFeed, which drops the bucket's policy and CORS
 * from every cache (s3/bucket-config.ts), so a re-created bucket starts clean.
 * @module
 */
import { commitRemoval } from '../../storage/commit.js'
import { bucketArn } from '../bucket-name.js'
import { commitIo } from '../object/ingest.js'
import type { Operation } from '../operation.js'
import { bucketRecordOf, emptyResponse } from '../responses.js'

export const deleteBucket: Operation = {
  name: 'DeleteBucket',
  target: 'bucket',
  authorize: (req) => [{ action: 's3:DeleteBucket', resource: bucketArn(req.bucket ?? '') }],
  async handle(req, env) {
    const b = bucketRecordOf(req)
    await commitRemoval(commitIo(req, env), async () => ({
      result: undefined,
      freed: await env.meta.deleteBucket(b.name),
    }))
    return emptyResponse(204)
  },
}
