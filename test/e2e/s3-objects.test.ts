/**
 * End-to-end object operations with the unmodified AWS SDK v3 (default checksum settings, so
 * CRC32 on every upload and x-amz-checksum-mode on GET), lib-storage's managed upload of a stream
 * of unknown length, presigned URLs used with plain fetch, copies, batch deletes, tagging, ranges,
 * conditional GETs and multipart with UploadPartCopy.
 * @module
 */
import { createHash } from 'node:crypto'
import { Readable } from 'node:stream'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  GetObjectTaggingCommand,
  HeadObjectCommand,
  ListPartsCommand,
  PutObjectCommand,
  PutObjectTaggingCommand,
  UploadPartCommand,
  UploadPartCopyCommand,
  type S3Client,
} from '@aws-sdk/client-s3'
import { Upload } from '@aws-sdk/lib-storage'
import { getSignedUrl } from '@aws-sdk/s3-request-presigner'
import { startServer, type TestServer } from './harness.js'

const MiB = 1024 * 1024
const BUCKET = 'e2e-objects'

function bytes(n: number, seed = 1): Buffer {
  const b = Buffer.allocUnsafe(n)
  let x = seed >>> 0 || 1
  for (let i = 0; i < n; i++) {
    x ^= x << 13
    x ^= x >>> 17
    x ^= x << 5
    b[i] = x & 0xff
  }
  return b
}
const md5hex = (b: Buffer): string => createHash('md5').update(b).digest('hex')

async function readAll(body: unknown): Promise<Buffer> {
  const chunks: Buffer[] = []
  for await (const c of body as AsyncIterable<Uint8Array>) chunks.push(Buffer.from(c))
  return Buffer.concat(chunks)
}

async function statusOf(p: Promise<unknown>): Promise<{ status?: number; name?: string }> {
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

describe('objects through the AWS SDK', () => {
  it('PutObject / GetObject / HeadObject with metadata and default CRC32', async () => {
    const body = bytes(100_000)
    const put = await s3.send(
      new PutObjectCommand({
        Bucket: BUCKET,
        Key: 'dir/a.bin',
        Body: body,
        ContentType: 'application/x-test',
        Metadata: { color: 'blue' },
      }),
    )
    expect(put.ETag).toBe(`"${md5hex(body)}"`)
    expect(put.ChecksumCRC32).toBeDefined()
    const got = await s3.send(
      new GetObjectCommand({ Bucket: BUCKET, Key: 'dir/a.bin', ChecksumMode: 'ENABLED' }),
    )
    expect((await readAll(got.Body)).equals(body)).toBe(true)
    expect(got.ChecksumCRC32).toBe(put.ChecksumCRC32)
    expect(got.ContentType).toBe('application/x-test')
    const head = await s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key: 'dir/a.bin' }))
    expect(head.Metadata).toEqual({ color: 'blue' })
    expect(head.ContentLength).toBe(body.length)
    expect(
      await statusOf(s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'missing' }))),
    ).toEqual({ status: 404, name: 'NoSuchKey' })
    expect(
      (await statusOf(s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key: 'missing' })))).status,
    ).toBe(404)
  })

  it('ranges and conditional GET', async () => {
    const body = bytes(10_000, 2)
    const put = await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'r.bin', Body: body }))
    const part = await s3.send(
      new GetObjectCommand({ Bucket: BUCKET, Key: 'r.bin', Range: 'bytes=100-199' }),
    )
    expect(part.ContentRange).toBe('bytes 100-199/10000')
    expect((await readAll(part.Body)).equals(body.subarray(100, 200))).toBe(true)
    const tail = await s3.send(
      new GetObjectCommand({ Bucket: BUCKET, Key: 'r.bin', Range: 'bytes=-10' }),
    )
    expect((await readAll(tail.Body)).equals(body.subarray(9990))).toBe(true)
    expect(
      (
        await statusOf(
          s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'r.bin', Range: 'bytes=20000-' })),
        )
      ).status,
    ).toBe(416)
    expect(
      (
        await statusOf(
          s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'r.bin', IfNoneMatch: put.ETag })),
        )
      ).status,
    ).toBe(304)
    expect(
      (
        await statusOf(
          s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'r.bin', IfMatch: '"nope"' })),
        )
      ).status,
    ).toBe(412)
    const ok = await s3.send(
      new GetObjectCommand({ Bucket: BUCKET, Key: 'r.bin', IfMatch: put.ETag }),
    )
    expect((await readAll(ok.Body)).length).toBe(10_000)
  })

  it('lib-storage Upload: small body and a >5 MiB stream of unknown length (multipart)', async () => {
    const small = bytes(1000, 3)
    await new Upload({
      client: s3,
      params: { Bucket: BUCKET, Key: 'up/small', Body: small },
    }).done()
    const gotSmall = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'up/small' }))
    expect((await readAll(gotSmall.Body)).equals(small)).toBe(true)

    const big = bytes(12 * MiB, 4)
    const stream = Readable.from(
      (function* () {
        for (let i = 0; i < big.length; i += 256 * 1024) yield big.subarray(i, i + 256 * 1024)
      })(),
    )
    const res = await new Upload({
      client: s3,
      params: { Bucket: BUCKET, Key: 'up/big', Body: stream },
      partSize: 5 * MiB,
    }).done()
    expect(res.ETag).toMatch(/-3"$/)
    const got = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'up/big' }))
    const back = await readAll(got.Body)
    expect(back.length).toBe(big.length)
    expect(back.equals(big)).toBe(true)
    const p2 = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'up/big', PartNumber: 2 }))
    expect(p2.PartsCount).toBe(3)
    expect((await readAll(p2.Body)).equals(big.subarray(5 * MiB, 10 * MiB))).toBe(true)
  })

  it('presigned GET and PUT used with plain fetch', async () => {
    const putUrl = await getSignedUrl(
      s3,
      new PutObjectCommand({ Bucket: BUCKET, Key: 'pre/x.txt' }),
      { expiresIn: 300 },
    )
    const put = await fetch(putUrl, { method: 'PUT', body: 'presigned body' })
    expect(put.status).toBe(200)
    const getUrl = await getSignedUrl(
      s3,
      new GetObjectCommand({ Bucket: BUCKET, Key: 'pre/x.txt' }),
      { expiresIn: 300 },
    )
    const get = await fetch(getUrl)
    expect(get.status).toBe(200)
    expect(await get.text()).toBe('presigned body')
    const overrideUrl = await getSignedUrl(
      s3,
      new GetObjectCommand({
        Bucket: BUCKET,
        Key: 'pre/x.txt',
        ResponseContentDisposition: 'attachment; filename="y.txt"',
      }),
      { expiresIn: 300 },
    )
    const o = await fetch(overrideUrl)
    expect(o.headers.get('content-disposition')).toBe('attachment; filename="y.txt"')
    await o.arrayBuffer()
  })

  it('CopyObject with metadata directives and conditional copy', async () => {
    await s3.send(
      new PutObjectCommand({ Bucket: BUCKET, Key: 'c/src', Body: 'copy me', Metadata: { a: '1' } }),
    )
    const copied = await s3.send(
      new CopyObjectCommand({ Bucket: BUCKET, Key: 'c/dst', CopySource: `${BUCKET}/c/src` }),
    )
    expect(copied.CopyObjectResult?.ETag).toBe(`"${md5hex(Buffer.from('copy me'))}"`)
    const head = await s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key: 'c/dst' }))
    expect(head.Metadata).toEqual({ a: '1' })
    await s3.send(
      new CopyObjectCommand({
        Bucket: BUCKET,
        Key: 'c/dst',
        CopySource: `${BUCKET}/c/src`,
        MetadataDirective: 'REPLACE',
        Metadata: { b: '2' },
      }),
    )
    expect(
      (await s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key: 'c/dst' }))).Metadata,
    ).toEqual({ b: '2' })
    expect(
      (
        await statusOf(
          s3.send(
            new CopyObjectCommand({ Bucket: BUCKET, Key: 'c/src', CopySource: `${BUCKET}/c/src` }),
          ),
        )
      ).status,
    ).toBe(400)
    expect(
      (
        await statusOf(
          s3.send(
            new CopyObjectCommand({
              Bucket: BUCKET,
              Key: 'c/x',
              CopySource: `${BUCKET}/c/src`,
              CopySourceIfMatch: '"nope"',
            }),
          ),
        )
      ).status,
    ).toBe(412)
  })

  it('tagging and DeleteObjects', async () => {
    await s3.send(
      new PutObjectCommand({ Bucket: BUCKET, Key: 't/1', Body: 'x', Tagging: 'a=1&b=2' }),
    )
    const tags = await s3.send(new GetObjectTaggingCommand({ Bucket: BUCKET, Key: 't/1' }))
    expect(tags.TagSet).toEqual([
      { Key: 'a', Value: '1' },
      { Key: 'b', Value: '2' },
    ])
    await s3.send(
      new PutObjectTaggingCommand({
        Bucket: BUCKET,
        Key: 't/1',
        Tagging: { TagSet: [{ Key: 'z', Value: '9' }] },
      }),
    )
    expect(
      (await s3.send(new GetObjectTaggingCommand({ Bucket: BUCKET, Key: 't/1' }))).TagSet,
    ).toEqual([{ Key: 'z', Value: '9' }])
    await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 't/2', Body: 'y' }))
    const del = await s3.send(
      new DeleteObjectsCommand({
        Bucket: BUCKET,
        Delete: { Objects: [{ Key: 't/1' }, { Key: 't/2' }, { Key: 't/none' }] },
      }),
    )
    expect((del.Deleted ?? []).map((d) => d.Key).sort()).toEqual(['t/1', 't/2', 't/none'])
    expect(del.Errors ?? []).toEqual([])
    expect(
      (await statusOf(s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key: 't/1' })))).status,
    ).toBe(404)
    await s3.send(new DeleteObjectCommand({ Bucket: BUCKET, Key: 't/none' }))
  })

  it('multipart with UploadPartCopy, ListParts, abort', async () => {
    const src = bytes(6 * MiB, 5)
    await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'm/src', Body: src }))
    const { UploadId } = await s3.send(
      new CreateMultipartUploadCommand({ Bucket: BUCKET, Key: 'm/dst' }),
    )
    const p1 = await s3.send(
      new UploadPartCopyCommand({
        Bucket: BUCKET,
        Key: 'm/dst',
        UploadId,
        PartNumber: 1,
        CopySource: `${BUCKET}/m/src`,
        CopySourceRange: `bytes=0-${5 * MiB - 1}`,
      }),
    )
    const tail = bytes(1000, 6)
    const p2 = await s3.send(
      new UploadPartCommand({ Bucket: BUCKET, Key: 'm/dst', UploadId, PartNumber: 2, Body: tail }),
    )
    const parts = await s3.send(new ListPartsCommand({ Bucket: BUCKET, Key: 'm/dst', UploadId }))
    expect((parts.Parts ?? []).map((p) => p.Size)).toEqual([5 * MiB, 1000])
    const done = await s3.send(
      new CompleteMultipartUploadCommand({
        Bucket: BUCKET,
        Key: 'm/dst',
        UploadId,
        MultipartUpload: {
          Parts: [
            { PartNumber: 1, ETag: p1.CopyPartResult?.ETag },
            { PartNumber: 2, ETag: p2.ETag },
          ],
        },
      }),
    )
    expect(done.ETag).toMatch(/-2"$/)
    const got = await readAll(
      (await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'm/dst' }))).Body,
    )
    expect(got.equals(Buffer.concat([src.subarray(0, 5 * MiB), tail]))).toBe(true)

    const second = await s3.send(
      new CreateMultipartUploadCommand({ Bucket: BUCKET, Key: 'm/aborted' }),
    )
    await s3.send(
      new UploadPartCommand({
        Bucket: BUCKET,
        Key: 'm/aborted',
        UploadId: second.UploadId,
        PartNumber: 1,
        Body: 'x',
      }),
    )
    await s3.send(
      new AbortMultipartUploadCommand({
        Bucket: BUCKET,
        Key: 'm/aborted',
        UploadId: second.UploadId,
      }),
    )
    expect(
      (
        await statusOf(
          s3.send(
            new ListPartsCommand({ Bucket: BUCKET, Key: 'm/aborted', UploadId: second.UploadId }),
          ),
        )
      ).name,
    ).toBe('NoSuchUpload')
  })
})
