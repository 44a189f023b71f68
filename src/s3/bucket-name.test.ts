import { describe, expect, it } from 'vitest'
import { bucketNameProblem, refuseReservedBucketName, validateBucketName } from './bucket-name.js'
import { S3Error } from './errors.js'

describe('validateBucketName', () => {
  const valid = [
    'abc',
    'my-bucket',
    'my.bucket.name',
    'a'.repeat(63),
    '1bucket',
    'bucket1',
    'a-b.c-d',
    'xn-a',
    'docexamplebucket1',
  ]
  const invalid: [string, RegExp][] = [
    ['ab', /between 3 and 63/],
    ['a'.repeat(64), /between 3 and 63/],
    ['', /between 3 and 63/],
    ['MyBucket', /lowercase/],
    ['my_bucket', /lowercase/],
    ['-bucket', /begin and end/],
    ['bucket-', /begin and end/],
    ['.bucket', /begin and end/],
    ['bucket.', /begin and end/],
    ['my..bucket', /adjacent periods/],
    ['192.168.5.4', /IP address/],
    ['xn--bucket', /xn--/],
    ['sthree-bucket', /sthree-/],
    ['amzn-s3-demo-bucket', /amzn-s3-demo-/],
    ['bucket-s3alias', /-s3alias/],
    ['bucket--ol-s3', /--ol-s3/],
    ['bucket.mrap', /\.mrap/],
    ['bucket--x-s3', /--x-s3/],
    ['bucket--table-s3', /--table-s3/],
    ['büket', /lowercase/],
    ['my bucket', /lowercase/],
  ]
  it.each(valid)('accepts %s', (n) => {
    expect(bucketNameProblem(n)).toBeUndefined()
    expect(() => validateBucketName(n)).not.toThrow()
  })
  it.each(invalid)('rejects %s', (n, why) => {
    expect(bucketNameProblem(n)).toMatch(why)
    let err: unknown
    try {
      validateBucketName(n)
    } catch (e) {
      err = e
    }
    expect(err).toBeInstanceOf(S3Error)
    expect((err as S3Error).code).toBe('InvalidBucketName')
    expect((err as S3Error).status).toBe(400)
    expect((err as S3Error).extra['BucketName']).toBe(n)
  })
})

describe('refuseReservedBucketName', () => {
  it.each(['health', 'ready', 'metrics', 'api', 'console'])(
    'refuses %s (a server path) as InvalidBucketName',
    (n) => {
      expect(bucketNameProblem(n)).toBeUndefined() // valid for S3, reserved only at creation
      let err: unknown
      try {
        refuseReservedBucketName(n)
      } catch (e) {
        err = e
      }
      expect(err).toBeInstanceOf(S3Error)
      expect((err as S3Error).code).toBe('InvalidBucketName')
      expect((err as S3Error).message).toMatch(/reserved by this server/)
      expect((err as S3Error).extra['BucketName']).toBe(n)
    },
  )
  it.each(['healthy', 'api-docs', 'my-api', 'consoles', 'metrics1'])('accepts %s', (n) => {
    expect(() => refuseReservedBucketName(n)).not.toThrow()
  })
})
