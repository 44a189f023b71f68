/**
 * GetObjectAttributes (issue 12, ACL section): ETag, Checksum, ObjectParts, StorageClass and
 * ObjectSize through the SDK's GetObjectAttributesCommand, for a single-part object and for a
 * multipart object uploaded with CRC32 checksums (parts paged by max-parts and
 * part-number-marker), and the two permissions AWS requires. Real server process, AWS SDK v3.
 * @module
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  CompleteMultipartUploadCommand,
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  DeleteBucketPolicyCommand,
  GetObjectAttributesCommand,
  PutBucketPolicyCommand,
  PutObjectCommand,
  UploadPartCommand,
  type S3Client,
} from '@aws-sdk/client-s3'
import { startServer, type TestServer } from './harness.js'
import { signHeaders } from './raw-client.js'

const MiB = 1024 * 1024
const BUCKET = 'e2e-attributes'

let server: TestServer
let s3: S3Client

beforeAll(async () => {
  server = await startServer()
  s3 = server.s3()
  await s3.send(new CreateBucketCommand({ Bucket: BUCKET }))
})
afterAll(async () => {
  s3?.destroy()
  await server?.stop()
})

function fill(n: number, byte: number): Buffer {
  return Buffer.alloc(n, byte)
}

async function failure(p: Promise<unknown>): Promise<{ status?: number; name?: string }> {
  try {
    await p
    return { status: 200 }
  } catch (e) {
    const err = e as { name?: string; $metadata?: { httpStatusCode?: number } }
    return {
      ...(err.$metadata?.httpStatusCode === undefined
        ? {}
        : { status: err.$metadata.httpStatusCode }),
      ...(err.name === undefined ? {} : { name: err.name }),
    }
  }
}

/** A signed request with fetch: the SDK cannot send a malformed partNumber or an empty list. */
async function signed(
  method: string,
  path: string,
  body?: string,
  headers: Record<string, string> = {},
): Promise<{ status: number; text: string; headers: Headers }> {
  const h = await signHeaders(server, { method, path, headers })
  const r = await fetch(server.endpoint + path, {
    method,
    headers: h,
    ...(body === undefined ? {} : { body }),
  })
  return { status: r.status, text: await r.text(), headers: r.headers }
}

/** A two-part object: 5 MiB of 'a' then 1 KiB of 'b', with CRC32 checksums per part. */
async function twoPartObject(
  bucket: string,
  key: string,
): Promise<{ uploadId: string; etag: string; parts: { PartNumber: number; ETag: string }[] }> {
  const { UploadId } = await s3.send(
    new CreateMultipartUploadCommand({ Bucket: bucket, Key: key, ChecksumAlgorithm: 'CRC32' }),
  )
  const uploadId = UploadId ?? ''
  const parts: { PartNumber: number; ETag: string; ChecksumCRC32: string }[] = []
  for (const [n, body] of [
    [1, fill(5 * MiB, 0x61)],
    [2, fill(1024, 0x62)],
  ] as const) {
    const r = await s3.send(
      new UploadPartCommand({
        Bucket: bucket,
        Key: key,
        UploadId: uploadId,
        PartNumber: n,
        Body: body,
        ChecksumAlgorithm: 'CRC32',
      }),
    )
    parts.push({ PartNumber: n, ETag: r.ETag ?? '', ChecksumCRC32: r.ChecksumCRC32 ?? '' })
  }
  const done = await s3.send(
    new CompleteMultipartUploadCommand({
      Bucket: bucket,
      Key: key,
      UploadId: uploadId,
      MultipartUpload: { Parts: parts },
    }),
  )
  return { uploadId, etag: done.ETag ?? '', parts }
}

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
    const none = await signed('GET', `/${BUCKET}/attrs-single?attributes`)
    expect(none.status).toBe(400)
    expect(none.text).toContain('<Code>InvalidArgument</Code>')
    const unknown = await signed('GET', `/${BUCKET}/attrs-single?attributes`, undefined, {
      'x-amz-object-attributes': 'ETag,Colour',
    })
    expect(unknown.status).toBe(400)
    expect(unknown.text).toContain('<Code>InvalidArgument</Code>')
  })

  it('REGRESSION get-object-attributes-parts: a multipart object with checksums: composite checksum and its parts, paged by max-parts and part-number-marker', async () => {
    const { etag } = await twoPartObject(BUCKET, 'attrs-mp')
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
