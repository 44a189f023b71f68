/**
 * Multipart as AWS documents it, beyond the happy path (issue 12 item 5): a
 * CompleteMultipartUpload retried after it succeeded, completing with no parts, DeleteBucket over
 * abandoned uploads, GET/HEAD with partNumber (206, x-amz-mp-parts-count, InvalidPartNumber,
 * InvalidArgument, part 1 of a single-part object), UploadPartCopy from a percent-encoded key.
 * Real server process, unmodified AWS SDK v3.
 * @module
 */
import { createHash } from 'node:crypto'
import { beforeAll, describe, expect, it } from 'vitest'
import {
  CompleteMultipartUploadCommand,
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  DeleteBucketCommand,
  GetObjectCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  ListMultipartUploadsCommand,
  PutObjectCommand,
  UploadPartCommand,
  UploadPartCopyCommand,
  type S3Client,
} from '@aws-sdk/client-s3'
import type { TestServer } from './harness.js'
import { MiB, failure, fill, serverWithBucket, signed, twoPartObject } from './s3-fixtures.js'

const BUCKET = 'e2e-mp-gaps'
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

describe('multipart (issue 12 item 5)', () => {
  it('REGRESSION mp-complete-retry: a CompleteMultipartUpload retried after it succeeded answers 200 with the same ETag', async () => {
    const { uploadId, etag, parts } = await twoParts(BUCKET, 'retried')
    expect(etag).toMatch(/^"[0-9a-f]{32}-2"$/)
    const again = await s3.send(
      new CompleteMultipartUploadCommand({
        Bucket: BUCKET,
        Key: 'retried',
        UploadId: uploadId,
        MultipartUpload: { Parts: parts.map(({ PartNumber, ETag }) => ({ PartNumber, ETag })) },
      }),
    )
    expect(again.ETag).toBe(etag)
    expect(again.Key).toBe('retried')
    // A different part list is not a retry of that completion.
    expect(
      (
        await failure(
          s3.send(
            new CompleteMultipartUploadCommand({
              Bucket: BUCKET,
              Key: 'retried',
              UploadId: uploadId,
              MultipartUpload: { Parts: [{ PartNumber: 1, ETag: parts[0]?.ETag ?? '' }] },
            }),
          ),
        )
      ).name,
    ).toBe('NoSuchUpload')
    // Nor is the same upload id under another key.
    expect(
      (
        await failure(
          s3.send(
            new CompleteMultipartUploadCommand({
              Bucket: BUCKET,
              Key: 'elsewhere',
              UploadId: uploadId,
              MultipartUpload: { Parts: parts },
            }),
          ),
        )
      ).name,
    ).toBe('NoSuchUpload')
    // The object is unchanged and still readable.
    const h = await s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key: 'retried' }))
    expect(h.ETag).toBe(etag)
    expect(h.ContentLength).toBe(5 * MiB + 1024)
  })

  it('mp-complete-empty (already held before this change): completing with no parts is MalformedXML and the upload stays', async () => {
    const { UploadId } = await s3.send(
      new CreateMultipartUploadCommand({ Bucket: BUCKET, Key: 'empty' }),
    )
    const path = `/${BUCKET}/empty?uploadId=${encodeURIComponent(UploadId ?? '')}`
    const r = await signedRequest(
      'POST',
      path,
      '<CompleteMultipartUpload xmlns="http://s3.amazonaws.com/doc/2006-03-01/"></CompleteMultipartUpload>',
    )
    expect(r.status).toBe(400)
    expect(r.text).toContain('<Code>MalformedXML</Code>')
    const none = await signedRequest('POST', path, '')
    expect(none.status).toBe(400)
    expect(none.text).toContain('<Code>MalformedXML</Code>')
    const up = await s3.send(new ListMultipartUploadsCommand({ Bucket: BUCKET, Prefix: 'empty' }))
    expect(up.Uploads?.map((u) => u.UploadId)).toEqual([UploadId])
  })

  it('REGRESSION mp-delete-bucket-uploads: DeleteBucket succeeds over incomplete multipart uploads and removes them', async () => {
    const b = 'e2e-mp-abandoned'
    await s3.send(new CreateBucketCommand({ Bucket: b }))
    const { UploadId } = await s3.send(new CreateMultipartUploadCommand({ Bucket: b, Key: 'k' }))
    await s3.send(
      new UploadPartCommand({
        Bucket: b,
        Key: 'k',
        UploadId,
        PartNumber: 1,
        Body: fill(256 * 1024, 0x63),
      }),
    )
    await s3.send(new CreateMultipartUploadCommand({ Bucket: b, Key: 'other' }))
    await s3.send(new DeleteBucketCommand({ Bucket: b }))
    expect((await failure(s3.send(new HeadBucketCommand({ Bucket: b })))).status).toBe(404)
    // Re-created, the bucket starts without the old uploads.
    await s3.send(new CreateBucketCommand({ Bucket: b }))
    const up = await s3.send(new ListMultipartUploadsCommand({ Bucket: b }))
    expect(up.Uploads ?? []).toEqual([])
    // A bucket holding an object is still not empty.
    await s3.send(new PutObjectCommand({ Bucket: b, Key: 'o', Body: 'x' }))
    expect((await failure(s3.send(new DeleteBucketCommand({ Bucket: b })))).name).toBe(
      'BucketNotEmpty',
    )
  })

  it('REGRESSION mp-part-number-get: GET/HEAD ?partNumber answer 206 with Content-Range and x-amz-mp-parts-count; past the end InvalidPartNumber 416; malformed InvalidArgument 400', async () => {
    await twoParts(BUCKET, 'parts')
    const total = 5 * MiB + 1024
    const p2 = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'parts', PartNumber: 2 }))
    expect(p2.$metadata.httpStatusCode).toBe(206)
    expect(p2.PartsCount).toBe(2)
    expect(p2.ContentRange).toBe(`bytes ${5 * MiB}-${total - 1}/${total}`)
    expect(Buffer.from(await p2.Body!.transformToByteArray())).toEqual(fill(1024, 0x62))
    const h1 = await s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key: 'parts', PartNumber: 1 }))
    expect(h1.$metadata.httpStatusCode).toBe(206)
    expect(h1.PartsCount).toBe(2)
    expect(h1.ContentLength).toBe(5 * MiB)

    const past = await signedRequest('GET', `/${BUCKET}/parts?partNumber=3`)
    expect(past.status).toBe(416)
    expect(past.text).toContain('<Code>InvalidPartNumber</Code>')
    const headPast = await signedRequest('HEAD', `/${BUCKET}/parts?partNumber=3`)
    expect(headPast.status).toBe(416)
    for (const bad of ['abc', '0', '-1', '10001', '1.5']) {
      const r = await signedRequest('GET', `/${BUCKET}/parts?partNumber=${bad}`)
      expect([bad, r.status]).toEqual([bad, 400])
      expect(r.text).toContain('<Code>InvalidArgument</Code>')
    }
  })

  it('REGRESSION mp-part-number-single: partNumber=1 on a non-multipart object returns the whole object (206 with Content-Range, no parts count, as AWS); 2 is InvalidPartNumber 416', async () => {
    await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'single', Body: 'hello world' }))
    // As AWS answers it (a captured AWS answer: 206, Content-Range: bytes 0-9/10, no parts count).
    const r = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'single', PartNumber: 1 }))
    expect(r.$metadata.httpStatusCode).toBe(206)
    expect(r.ContentRange).toBe('bytes 0-10/11')
    expect(r.PartsCount).toBeUndefined()
    expect(await r.Body!.transformToString()).toBe('hello world')
    const two = await signedRequest('GET', `/${BUCKET}/single?partNumber=2`)
    expect(two.status).toBe(416)
    expect(two.text).toContain('<Code>InvalidPartNumber</Code>')
  })

  it('mp-upload-part-copy-encoded (already held before this change): UploadPartCopy accepts a percent-encoded source key', async () => {
    const key = 'dir/a b+c%d é.txt'
    await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: 'copied body' }))
    const { UploadId } = await s3.send(
      new CreateMultipartUploadCommand({ Bucket: BUCKET, Key: 'copy-dest' }),
    )
    const encoded = `${BUCKET}/${key.split('/').map(encodeURIComponent).join('/')}`
    const r = await s3.send(
      new UploadPartCopyCommand({
        Bucket: BUCKET,
        Key: 'copy-dest',
        UploadId,
        PartNumber: 1,
        CopySource: encoded,
      }),
    )
    const md5 = createHash('md5').update('copied body').digest('hex')
    expect(r.CopyPartResult?.ETag).toBe(`"${md5}"`)
    // The same with a leading slash, as some clients send it.
    const r2 = await s3.send(
      new UploadPartCopyCommand({
        Bucket: BUCKET,
        Key: 'copy-dest',
        UploadId,
        PartNumber: 2,
        CopySource: '/' + encoded,
      }),
    )
    expect(r2.CopyPartResult?.ETag).toBe(`"${md5}"`)
    const done = await s3.send(
      new CompleteMultipartUploadCommand({
        Bucket: BUCKET,
        Key: 'copy-dest',
        UploadId,
        MultipartUpload: { Parts: [{ PartNumber: 2, ETag: `"${md5}"` }] },
      }),
    )
    expect(done.ETag).toMatch(/-1"$/)
    const got = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'copy-dest' }))
    expect(await got.Body!.transformToString()).toBe('copied body')
  })
})
