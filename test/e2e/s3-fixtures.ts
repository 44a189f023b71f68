/**
 * What the multipart and GetObjectAttributes suites share: one server and client per file, the
 * error of a call as {status, name}, a signed fetch (the SDK cannot send a malformed partNumber
 * or an empty list), and a two-part object with CRC32 checksums per part.
 * @module
 */
import { afterAll, beforeAll } from 'vitest'
import {
  CompleteMultipartUploadCommand,
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  UploadPartCommand,
  type S3Client,
} from '@aws-sdk/client-s3'
import { startServer, type TestServer } from './harness.js'
import { signHeaders } from './raw-client.js'

export const MiB = 1024 * 1024

export function fill(n: number, byte: number): Buffer {
  return Buffer.alloc(n, byte)
}

/** A server with `bucket` made, started before the file's tests and stopped after them. */
export function serverWithBucket(bucket: string): { server: TestServer; s3: S3Client } {
  const ctx = {} as { server: TestServer; s3: S3Client }
  beforeAll(async () => {
    ctx.server = await startServer()
    ctx.s3 = ctx.server.s3()
    await ctx.s3.send(new CreateBucketCommand({ Bucket: bucket }))
  })
  afterAll(async () => {
    ctx.s3?.destroy()
    await ctx.server?.stop()
  })
  return ctx
}

export async function failure(p: Promise<unknown>): Promise<{ status?: number; name?: string }> {
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
export async function signed(
  server: TestServer,
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
export async function twoPartObject(
  s3: S3Client,
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
