/**
 * GetBucketVersioning / PutBucketVersioning. Buckets are never versioned: the answer is the
 * empty configuration AWS gives for a bucket that never had versioning, and enabling it is
 * refused with NotImplemented (never a wrong success that would promise old versions are kept).
 * @module
 */
import { bucketArn } from '../bucket-name.js'
import { S3Error } from '../errors.js'
import type { Operation } from '../operation.js'
import { bucketRecordOf, xmlResponse } from '../responses.js'
import { XML_DECL, S3_NS } from '../xml.js'

export const getBucketVersioning: Operation = {
  name: 'GetBucketVersioning',
  target: 'bucket',
  authorize: (req) => [{ action: 's3:GetBucketVersioning', resource: bucketArn(req.bucket ?? '') }],
  handle(req) {
    bucketRecordOf(req)
    return Promise.resolve(xmlResponse(`${XML_DECL}<VersioningConfiguration xmlns="${S3_NS}"/>`))
  },
}

export const putBucketVersioning: Operation = {
  name: 'PutBucketVersioning',
  target: 'bucket',
  authorize: (req) => [{ action: 's3:PutBucketVersioning', resource: bucketArn(req.bucket ?? '') }],
  handle(req) {
    bucketRecordOf(req)
    req.body.resume()
    return Promise.reject(
      new S3Error(
        'NotImplemented',
        'Bucket versioning is not implemented; buckets keep only the latest version of each object.',
      ),
    )
  },
}
