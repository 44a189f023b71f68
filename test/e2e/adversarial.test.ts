/**
 * The standing adversarial suite (issue: "one aborted upload must never kill the server"): every
 * way a body can go wrong, thrown at a live server process many times over and concurrently —
 * uploads that are short, reset, half-closed, garbled or missing their trailer, through every
 * body path (PutObject plain / sha256-signed / aws-chunked signed and unsigned / Transfer-Encoding
 * chunked, UploadPart, browser POST, CopyObject, UploadPartCopy) and downloads the client walks
 * away from. Afterwards the server must still be up and answering correctly, with no temp file
 * left, no partial object listed and no part recorded, and no error-level log line.
 */
import { describe, it, expect, beforeAll, afterAll } from 'vitest'
import { readdirSync, existsSync } from 'node:fs'
import { join } from 'node:path'
import {
  CreateBucketCommand,
  PutObjectCommand,
  GetObjectCommand,
  ListObjectsV2Command,
  CreateMultipartUploadCommand,
  UploadPartCommand,
  ListPartsCommand,
  CompleteMultipartUploadCommand,
  HeadObjectCommand,
} from '@aws-sdk/client-s3'
import { createPresignedPost } from '@aws-sdk/s3-presigned-post'
import { startServer, type TestServer } from './harness.js'
import { rawRequest, signHeaders, type RawAnswer } from './raw-client.js'

const BUCKET = 'adversary'
const MiB = 1024 * 1024

let server: TestServer
let uploadId = ''
beforeAll(async () => {
  server = await startServer({ tls: false })
  const s3 = server.s3()
  await s3.send(new CreateBucketCommand({ Bucket: BUCKET }))
  // Sources for copies and downloads: one blob object, one multipart object.
  await s3.send(
    new PutObjectCommand({ Bucket: BUCKET, Key: 'src/big', Body: Buffer.alloc(3 * MiB, 7) }),
  )
  const mp = await s3.send(new CreateMultipartUploadCommand({ Bucket: BUCKET, Key: 'src/multi' }))
  const p1 = await s3.send(
    new UploadPartCommand({
      Bucket: BUCKET,
      Key: 'src/multi',
      UploadId: mp.UploadId,
      PartNumber: 1,
      Body: Buffer.alloc(5 * MiB, 1),
    }),
  )
  const p2 = await s3.send(
    new UploadPartCommand({
      Bucket: BUCKET,
      Key: 'src/multi',
      UploadId: mp.UploadId,
      PartNumber: 2,
      Body: Buffer.alloc(MiB, 2),
    }),
  )
  await s3.send(
    new CompleteMultipartUploadCommand({
      Bucket: BUCKET,
      Key: 'src/multi',
      UploadId: mp.UploadId,
      MultipartUpload: {
        Parts: [
          { PartNumber: 1, ETag: p1.ETag },
          { PartNumber: 2, ETag: p2.ETag },
        ],
      },
    }),
  )
  // An open upload whose parts the attacks target; part 1 is the one good part.
  const open = await s3.send(new CreateMultipartUploadCommand({ Bucket: BUCKET, Key: 'mp/open' }))
  uploadId = open.UploadId ?? ''
  await s3.send(
    new UploadPartCommand({
      Bucket: BUCKET,
      Key: 'mp/open',
      UploadId: uploadId,
      PartNumber: 1,
      Body: Buffer.alloc(5 * MiB, 3),
    }),
  )
}, 60_000)
afterAll(async () => {
  await server.stop()
})

let seq = 0
const key = (kind: string): string => `abort/${kind}-${++seq}`

type Attack = () => Promise<RawAnswer | undefined>

/** A signed PUT of `declared` bytes that sends `sent` of them, then `then`. */
async function shortPut(
  path: string,
  declared: number,
  sent: number,
  then: 'reset' | 'end',
  extra: Record<string, string> = {},
  payloadHash = 'UNSIGNED-PAYLOAD',
): Promise<RawAnswer | undefined> {
  const headers = await signHeaders(server, {
    method: 'PUT',
    path,
    headers: { 'content-length': String(declared), ...extra },
    payloadHash,
  })
  const r = await rawRequest(server, 'PUT', path, headers, Buffer.alloc(sent, 0x61), then)
  return r.answer
}

/** An aws-chunked PUT (unsigned chunks with a trailer, or signed chunks) with the given body. */
async function chunkedPut(
  path: string,
  mode: 'STREAMING-UNSIGNED-PAYLOAD-TRAILER' | 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD',
  decodedLength: number,
  body: string,
  then: 'reset' | 'end' | 'wait',
): Promise<RawAnswer | undefined> {
  const headers = await signHeaders(server, {
    method: 'PUT',
    path,
    headers: {
      'content-encoding': 'aws-chunked',
      'x-amz-decoded-content-length': String(decodedLength),
      'transfer-encoding': 'chunked',
      ...(mode === 'STREAMING-UNSIGNED-PAYLOAD-TRAILER'
        ? { 'x-amz-trailer': 'x-amz-checksum-crc32' }
        : {}),
    },
    payloadHash: mode,
  })
  // The HTTP layer's own chunked framing around the aws-chunked bytes.
  const wire = `${Buffer.byteLength(body).toString(16)}\r\n${body}\r\n${then === 'wait' ? '0\r\n\r\n' : ''}`
  const r = await rawRequest(server, 'PUT', path, headers, wire, then)
  return r.answer
}

const ATTACKS: Readonly<Record<string, Attack>> = {
  // The reproduction: Content-Length 1000000, 10 bytes, reset.
  'put-short-reset': () => shortPut(`/${BUCKET}/${key('put')}`, 1_000_000, 10, 'reset'),
  'put-inline-short-reset': () => shortPut(`/${BUCKET}/${key('inl')}`, 50_000, 4096, 'reset'),
  'put-short-halfclose': () => shortPut(`/${BUCKET}/${key('half')}`, 300_000, 200_000, 'end'),
  'put-sha256-short-reset': () =>
    shortPut(`/${BUCKET}/${key('sha')}`, 400_000, 65_536, 'reset', {}, 'a'.repeat(64)),
  'put-md5-short-reset': () =>
    shortPut(`/${BUCKET}/${key('md5')}`, 200_000, 1000, 'reset', {
      'content-md5': '1B2M2Y8AsgTpgAmY7PhCfg==',
    }),
  'put-te-chunked-reset': async () => {
    const path = `/${BUCKET}/${key('te')}`
    const headers = await signHeaders(server, {
      method: 'PUT',
      path,
      headers: { 'transfer-encoding': 'chunked' },
    })
    return (await rawRequest(server, 'PUT', path, headers, '10000\r\nabcdef', 'reset')).answer
  },
  // aws-chunked: declared decoded length larger than what is sent, reset mid-chunk.
  'chunked-unsigned-short-reset': () =>
    chunkedPut(
      `/${BUCKET}/${key('cu')}`,
      'STREAMING-UNSIGNED-PAYLOAD-TRAILER',
      1_000_000,
      '186a0\r\n0123456789',
      'reset',
    ),
  'chunked-signed-short-reset': () =>
    chunkedPut(
      `/${BUCKET}/${key('cs')}`,
      'STREAMING-AWS4-HMAC-SHA256-PAYLOAD',
      1_000_000,
      `186a0;chunk-signature=${'0'.repeat(64)}\r\n0123456789`,
      'reset',
    ),
  // aws-chunked that ends cleanly but short of x-amz-decoded-content-length.
  'chunked-ends-short': () =>
    chunkedPut(
      `/${BUCKET}/${key('ce')}`,
      'STREAMING-UNSIGNED-PAYLOAD-TRAILER',
      1_000_000,
      'a\r\n0123456789\r\n0\r\nx-amz-checksum-crc32:AAAAAA==\r\n\r\n',
      'wait',
    ),
  'chunked-garbled-header': () =>
    chunkedPut(
      `/${BUCKET}/${key('cg')}`,
      'STREAMING-UNSIGNED-PAYLOAD-TRAILER',
      10,
      'zz;;\r\n0123456789\r\n',
      'wait',
    ),
  'chunked-missing-trailer': () =>
    chunkedPut(
      `/${BUCKET}/${key('ct')}`,
      'STREAMING-UNSIGNED-PAYLOAD-TRAILER',
      10,
      'a\r\n0123456789\r\n0\r\n\r\n',
      'wait',
    ),
  'chunked-bad-chunk-signature': () =>
    chunkedPut(
      `/${BUCKET}/${key('cb')}`,
      'STREAMING-AWS4-HMAC-SHA256-PAYLOAD',
      10,
      `a;chunk-signature=${'0'.repeat(64)}\r\n0123456789\r\n0;chunk-signature=${'0'.repeat(64)}\r\n\r\n`,
      'wait',
    ),
  'upload-part-short-reset': () =>
    shortPut(
      `/${BUCKET}/mp/open?partNumber=${2 + (seq++ % 50)}&uploadId=${encodeURIComponent(uploadId)}`,
      6 * MiB,
      300_000,
      'reset',
    ),
  'post-upload-reset-mid-file': async () => {
    const k = key('post')
    const { url, fields } = await createPresignedPost(server.s3(), {
      Bucket: BUCKET,
      Key: k,
      Expires: 600,
    })
    const path = new URL(url).pathname
    const boundary = '----latchkeyadversary'
    let form = ''
    for (const [name, value] of Object.entries(fields))
      form += `--${boundary}\r\nContent-Disposition: form-data; name="${name}"\r\n\r\n${value}\r\n`
    form += `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="f.bin"\r\n\r\n`
    form += 'x'.repeat(200_000)
    const host = new URL(server.endpoint).host
    const r = await rawRequest(
      server,
      'POST',
      path,
      {
        host,
        'content-type': `multipart/form-data; boundary=${boundary}`,
        'content-length': String(form.length + 5_000_000),
      },
      form,
      'reset',
    )
    return r.answer
  },
  'post-upload-garbled': async () => {
    const host = new URL(server.endpoint).host
    const body = '--b\r\nContent-Disposition: form-data; name="key"\r\n\r\nx\r\n--b\r\nGARBAGE'
    const r = await rawRequest(
      server,
      'POST',
      `/${BUCKET}`,
      {
        host,
        'content-type': 'multipart/form-data; boundary=b',
        'content-length': String(body.length),
      },
      body,
      'wait',
    )
    return r.answer
  },
  'copy-reset': async () => {
    const path = `/${BUCKET}/copy/${++seq}`
    const headers = await signHeaders(server, {
      method: 'PUT',
      path,
      headers: { 'x-amz-copy-source': `/${BUCKET}/src/multi`, 'content-length': '0' },
    })
    return (await rawRequest(server, 'PUT', path, headers, '', 'reset')).answer
  },
  'upload-part-copy-reset': async () => {
    const path = `/${BUCKET}/mp/open?partNumber=${60 + (seq++ % 50)}&uploadId=${encodeURIComponent(uploadId)}`
    const headers = await signHeaders(server, {
      method: 'PUT',
      path,
      headers: { 'x-amz-copy-source': `/${BUCKET}/src/big`, 'content-length': '0' },
    })
    return (await rawRequest(server, 'PUT', path, headers, '', 'reset')).answer
  },
  'get-reset': async () => {
    const path = `/${BUCKET}/src/big`
    const headers = await signHeaders(server, { method: 'GET', path })
    return (await rawRequest(server, 'GET', path, headers, '', 'reset')).answer
  },
  'get-multipart-range-reset': async () => {
    const path = `/${BUCKET}/src/multi`
    const headers = await signHeaders(server, {
      method: 'GET',
      path,
      headers: { range: 'bytes=100-6000000' },
    })
    return (await rawRequest(server, 'GET', path, headers, '', 'reset')).answer
  },
}

async function tmpFiles(): Promise<string[]> {
  const dir = join(server.dataDir, 'objects', 'tmp')
  return existsSync(dir) ? readdirSync(dir) : []
}

describe('adversarial: aborted, short and garbled bodies', () => {
  it('REGRESSION aborted-upload-crash: dozens of aborted/short/garbled uploads and downloads of every kind leave the server up, correct and clean', async () => {
    const names = Object.keys(ATTACKS)
    const ROUNDS = 4
    const answers = new Map<string, (number | undefined)[]>()
    for (let round = 0; round < ROUNDS; round++) {
      // All kinds at once, so aborts land while other bodies are mid-flight.
      const got = await Promise.all(names.map((n) => (ATTACKS[n] as Attack)()))
      names.forEach((n, i) => {
        const list = answers.get(n) ?? []
        list.push(got[i]?.status)
        answers.set(n, list)
      })
      expect(server.proc.exitCode).toBeNull()
    }
    // The cases that read an answer got a 4xx, never a 5xx.
    for (const n of [
      'chunked-ends-short',
      'chunked-garbled-header',
      'chunked-missing-trailer',
      'chunked-bad-chunk-signature',
      'post-upload-garbled',
    ]) {
      for (const status of answers.get(n) ?? []) {
        expect(status, n).toBeGreaterThanOrEqual(400)
        expect(status, n).toBeLessThan(500)
      }
    }

    // Still up, and still correct.
    expect(server.proc.exitCode).toBeNull()
    expect((await fetch(`${server.endpoint}/health`)).status).toBe(200)
    const s3 = server.s3()
    await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'after', Body: 'still here' }))
    const back = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'after' }))
    expect(await back.Body?.transformToString()).toBe('still here')

    // No temp file left (cleanup of a reset upload is asynchronous: give it a moment).
    let left = await tmpFiles()
    for (let i = 0; i < 50 && left.length > 0; i++) {
      await new Promise((r) => setTimeout(r, 100))
      left = await tmpFiles()
    }
    expect(left).toEqual([])
    // No partial object: nothing under abort/ was committed.
    const listed = await s3.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: 'abort/' }))
    expect(listed.KeyCount).toBe(0)
    // Copies either completed whole (the client left after sending everything) or not at all.
    const copies = await s3.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: 'copy/' }))
    for (const c of copies.Contents ?? []) expect(c.Size).toBe(6 * MiB)
    // The open upload still has only its one good part, plus whole copied parts at most.
    const parts = await s3.send(
      new ListPartsCommand({ Bucket: BUCKET, Key: 'mp/open', UploadId: uploadId }),
    )
    for (const p of parts.Parts ?? []) {
      if ((p.PartNumber ?? 0) < 60) expect(p.PartNumber).toBe(1)
      else expect(p.Size).toBe(3 * MiB)
    }
    // The sources are intact.
    const head = await s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key: 'src/multi' }))
    expect(head.ContentLength).toBe(6 * MiB)
    // Aborts are normal traffic: no error-level line, no stack.
    const errors = server.output.filter((l) => /"level":(50|60)|Unhandled|uncaught/i.test(l))
    expect(errors).toEqual([])
  }, 120_000)
})
