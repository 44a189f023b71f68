/**
 * HeadBucket (HEAD /bucket): exists and the caller may list it. The pipeline has already loaded
 * the bucket (NoSuchBucket → 404 without a body) and decided s3:ListBucket.
 * @module
 */
import { bucketArn } from '../bucket-name.js'
import type { Operation } from '../operation.js'
import { bucketRecordOf, emptyResponse } from '../responses.js'

export const headBucket: Operation = {
  name: 'HeadBucket',
  target: 'bucket',
  authorize: (req) => [{ action: 's3:ListBucket', resource: bucketArn(req.bucket ?? '') }],
  handle(req) {
    const b = bucketRecordOf(req)
    return Promise.resolve(
      emptyResponse(200, { 'x-amz-bucket-region': b.region, 'x-amz-access-point-alias': 'false' }),
    )
  },
}
