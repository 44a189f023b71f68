/**
 * GetBucketLocation (GET /bucket?location): an empty LocationConstraint means us-east-1, as AWS
 * answers (SDKs map the empty value back to us-east-1).
 * @module
 */
import { bucketArn } from '../bucket-name.js'
import type { Operation } from '../operation.js'
import { bucketRecordOf, xmlResponse } from '../responses.js'
import { XML_DECL, S3_NS, xmlEscape } from '../xml.js'

export const getBucketLocation: Operation = {
  name: 'GetBucketLocation',
  target: 'bucket',
  authorize: (req) => [{ action: 's3:GetBucketLocation', resource: bucketArn(req.bucket ?? '') }],
  handle(req) {
    const b = bucketRecordOf(req)
    const region = b.region === 'us-east-1' ? '' : b.region
    return Promise.resolve(
      xmlResponse(
        `${XML_DECL}<LocationConstraint xmlns="${S3_NS}">${xmlEscape(region)}</LocationConstraint>`,
      ),
    )
  },
}
