/**
 * GetObjectAttributes (issue 12, ACL section): ETag, Checksum, ObjectParts, StorageClass and
 * ObjectSize through the SDK's GetObjectAttributesCommand, for a single-part object and for a
 * multipart object uploaded with CRC32 checksums (parts paged by max-parts and
 * part-number-marker), and the two permissions AWS requires. Real server process, AWS SDK v3.
 * @module
 */
import { beforeAll, describe, expect, it } from 'vitest'
import {
  DeleteBucketPolicyCommand,
  GetObjectAttributesCommand,
  PutBucketPolicyCommand,
  PutObjectCommand,
  type S3Client,
} from '@aws-sdk/client-s3'
import type { TestServer } from './harness.js'
import { MiB, failure, serverWithBucket, signed, twoPartObject } from './s3-fixtures.js'

const BUCKET = 'e2e-attributes'
const ctx = serverWithBucket(BUCKET)
let server: TestServer
let s3: S3Client
beforeAll(() => {
  server = ctx.server
  s3 = ctx.s3
})

const signedRequest = (
  method: string,
  path: string,
  body?: string,
  headers: Record<string, string> = {},
): ReturnType<typeof signed> => signed(server, method, path, body, headers)
const twoParts = (bucket: string, key: string): ReturnType<typeof twoPartObject> =>
  twoPartObject(s3, bucket, key)

describe('GetObjectAttributes', () => {
  const ALL = ['ETag', 'Checksum', 'ObjectParts', 'StorageClass', 'ObjectSize'] as const

  it('REGRESSION get-object-attributes: a single-part object: ETag, Checksum, StorageClass, ObjectSize', async () => {
    const put = await s3.send(
      new PutObjectCommand({
        Bucket: BUCKET,
        Key: 'attrs-single',
        Body: 'attribute body',
        ChecksumAlgorithm: 'SHA256',
      }),
    )
    const r = await s3.send(
      new GetObjectAttributesCommand({
        Bucket: BUCKET,
        Key: 'attrs-single',
        ObjectAttributes: [...ALL],
      }),
    )
    expect(r.ETag).toBe(put.ETag?.replace(/"/g, ''))
    expect(r.ObjectSize).toBe('attribute body'.length)
    expect(r.StorageClass).toBe('STANDARD')
    expect(r.Checksum?.ChecksumSHA256).toBe(put.ChecksumSHA256)
    expect(r.Checksum?.ChecksumType).toBe('FULL_OBJECT')
    expect(r.ObjectParts).toBeUndefined()
    expect(r.LastModified).toBeInstanceOf(Date)
    // Only what was asked for.
    const some = await s3.send(
      new GetObjectAttributesCommand({
        Bucket: BUCKET,
        Key: 'attrs-single',
        ObjectAttributes: ['ObjectSize'],
      }),
    )
    expect(some.ObjectSize).toBe('attribute body'.length)
    expect(some.ETag).toBeUndefined()
    expect(some.Checksum).toBeUndefined()
    // A missing key is NoSuchKey; no attribute asked is InvalidArgument.
    expect(
      (
        await failure(
          s3.send(
            new GetObjectAttributesCommand({
              Bucket: BUCKET,
              Key: 'attrs-missing',
              ObjectAttributes: ['ETag'],
            }),
          ),
        )
      ).name,
    ).toBe('NoSuchKey')
    const none = await signedRequest('GET', `/${BUCKET}/attrs-single?attributes`)
    expect(none.status).toBe(400)
    expect(none.text).toContain('<Code>InvalidArgument</Code>')
    const unknown = await signedRequest('GET', `/${BUCKET}/attrs-single?attributes`, undefined, {
      'x-amz-object-attributes': 'ETag,Colour',
    })
    expect(unknown.status).toBe(400)
    expect(unknown.text).toContain('<Code>InvalidArgument</Code>')
  })

  it('REGRESSION get-object-attributes-parts: a multipart object with checksums: composite checksum and its parts, paged by max-parts and part-number-marker', async () => {
    const { etag } = await twoParts(BUCKET, 'attrs-mp')
    const r = await s3.send(
      new GetObjectAttributesCommand({
        Bucket: BUCKET,
        Key: 'attrs-mp',
        ObjectAttributes: [...ALL],
      }),
    )
    expect(r.ETag).toBe(etag.replace(/"/g, ''))
    expect(r.ObjectSize).toBe(5 * MiB + 1024)
    expect(r.Checksum?.ChecksumCRC32).toMatch(/-2$/)
    expect(r.Checksum?.ChecksumType).toBe('COMPOSITE')
    expect(r.ObjectParts?.TotalPartsCount).toBe(2)
    expect(r.ObjectParts?.IsTruncated).toBe(false)
    expect(r.ObjectParts?.Parts?.map((p) => [p.PartNumber, p.Size])).toEqual([
      [1, 5 * MiB],
      [2, 1024],
    ])
    expect(r.ObjectParts?.Parts?.every((p) => typeof p.ChecksumCRC32 === 'string')).toBe(true)

    const page1 = await s3.send(
      new GetObjectAttributesCommand({
        Bucket: BUCKET,
        Key: 'attrs-mp',
        ObjectAttributes: ['ObjectParts'],
        MaxParts: 1,
      }),
    )
    expect(page1.ObjectParts?.IsTruncated).toBe(true)
    expect(page1.ObjectParts?.MaxParts).toBe(1)
    expect(page1.ObjectParts?.Parts?.map((p) => p.PartNumber)).toEqual([1])
    expect(page1.ObjectParts?.NextPartNumberMarker).toBe('1')
    const page2 = await s3.send(
      new GetObjectAttributesCommand({
        Bucket: BUCKET,
        Key: 'attrs-mp',
        ObjectAttributes: ['ObjectParts'],
        MaxParts: 1,
        PartNumberMarker: page1.ObjectParts?.NextPartNumberMarker ?? '',
      }),
    )
    expect(page2.ObjectParts?.IsTruncated).toBe(false)
    expect(page2.ObjectParts?.PartNumberMarker).toBe('1')
    expect(page2.ObjectParts?.Parts?.map((p) => p.PartNumber)).toEqual([2])
  })

  it('REGRESSION get-object-attributes-authz: needs s3:GetObject and s3:GetObjectAttributes, as on AWS', async () => {
    await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'public-attrs', Body: 'pub' }))
    const policy = (actions: string[]): PutBucketPolicyCommand =>
      new PutBucketPolicyCommand({
        Bucket: BUCKET,
        Policy: JSON.stringify({
          Version: '2012-10-17',
          Statement: [
            {
              Effect: 'Allow',
              Principal: '*',
              Action: actions,
              Resource: `arn:aws:s3:::${BUCKET}/public-attrs`,
            },
          ],
        }),
      })
    const anon = async (key: string): Promise<number> =>
      (
        await fetch(`${server.endpoint}/${BUCKET}/${key}?attributes`, {
          headers: { 'x-amz-object-attributes': 'ObjectSize' },
        })
      ).status
    await s3.send(policy(['s3:GetObjectAttributes']))
    expect(await anon('public-attrs')).toBe(403)
    await s3.send(policy(['s3:GetObject']))
    expect(await anon('public-attrs')).toBe(403)
    await s3.send(policy(['s3:GetObject', 's3:GetObjectAttributes']))
    expect(await anon('public-attrs')).toBe(200)
    expect(await anon('attrs-single')).toBe(403)
    await s3.send(new DeleteBucketPolicyCommand({ Bucket: BUCKET }))
  })
})
