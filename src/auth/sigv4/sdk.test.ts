/**
 * The real @aws-sdk/client-s3 (and its presigner): requests are captured at the HTTP handler,
 * after signing and aws-chunked encoding, then parsed, verified and decoded by our code, with the
 * body and its checksum checked end to end. Covers the SDK's default flexible checksums (CRC32
 * header on small bodies, STREAMING-UNSIGNED-PAYLOAD-TRAILER on streams).
 */
import { Readable } from 'node:stream'
import {
  DeleteObjectsCommand,
  GetObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3'
import { getSignedUrl } from '@aws-sdk/s3-request-presigner'
import { HttpResponse, type HttpRequest } from '@smithy/protocol-http'
import { describe, expect, it } from 'vitest'
import { parseQuery, type RawRequest } from '../../http/raw-request.js'
import { BodyDigests, expectedChecksum } from '../../s3/integrity/checksum.js'
import { parseSignature } from './parse.js'
import { decodePayload } from './payload.js'
import { deriveSigningKey } from './signing-key.js'
import { collect, rawRequest } from './raw.case.js'
import { verifySignature } from './verify.js'

const AKID = 'S4AKsdkTESTsdkTEST0001'
const SECRET = 'sdk-secret-sdk-secret-sdk-secret-sdk-sec'

const escapeUri = (s: string): string =>
  encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`)

function queryString(q: HttpRequest['query']): string {
  const parts: string[] = []
  for (const [k, v] of Object.entries(q ?? {}).sort(([a], [b]) => (a < b ? -1 : 1))) {
    if (v === null) parts.push(escapeUri(k))
    else
      for (const one of Array.isArray(v) ? v : [v]) parts.push(`${escapeUri(k)}=${escapeUri(one)}`)
  }
  return parts.join('&')
}

async function bodyBytes(body: unknown): Promise<Buffer> {
  if (body === undefined || body === null) return Buffer.alloc(0)
  if (typeof body === 'string' || body instanceof Uint8Array) return Buffer.from(body as string)
  return collect(body as Readable)
}

function makeClient(session?: string) {
  const captured: RawRequest[] = []
  const client = new S3Client({
    region: 'eu-central-1',
    endpoint: 'http://127.0.0.1:9000',
    forcePathStyle: true,
    credentials: {
      accessKeyId: AKID,
      secretAccessKey: SECRET,
      ...(session !== undefined ? { sessionToken: session } : {}),
    },
    requestHandler: {
      async handle(request: HttpRequest) {
        const headers: Record<string, string> = {}
        for (const [k, v] of Object.entries(request.headers)) headers[k.toLowerCase()] = v
        headers['host'] ??=
          `${request.hostname}${request.port !== undefined ? `:${request.port}` : ''}`
        captured.push(
          rawRequest({
            method: request.method,
            path: request.path,
            query: queryString(request.query),
            headers,
            body: await bodyBytes(request.body),
          }),
        )
        const xml =
          request.method === 'GET' && !request.path.includes('/k')
            ? '<?xml version="1.0"?><ListBucketResult><Name>b</Name><KeyCount>0</KeyCount><IsTruncated>false</IsTruncated></ListBucketResult>'
            : request.method === 'POST'
              ? '<?xml version="1.0"?><DeleteResult></DeleteResult>'
              : ''
        return {
          response: new HttpResponse({
            statusCode: 200,
            headers: { etag: '"x"' },
            body: Readable.from([Buffer.from(xml)]),
          }),
        }
      },
    },
  })
  return { client, captured }
}

async function verifyAndDecode(
  raw: RawRequest,
): Promise<{ body: Buffer; trailers: Map<string, string>; checksum?: string }> {
  const query = parseQuery(raw.rawQuery)
  const input = parseSignature(raw, query, { service: 's3' })
  if (input === undefined) throw new Error('unsigned')
  const key = deriveSigningKey(SECRET, input.scope.date, input.scope.region, input.scope.service)
  verifySignature(raw, query, input, key, { now: Date.now() })
  const expected = expectedChecksum(raw.headers)
  const decoded = decodePayload(raw, input, key)
  const digests = new BodyDigests(expected?.algorithm)
  const body = await collect(decoded.body.pipe(digests))
  const checksum = digests.checksumBase64()
  if (expected !== undefined) {
    const want = expected.fromTrailer
      ? decoded.trailers.get(`x-amz-checksum-${expected.algorithm.toLowerCase()}`)
      : expected.value
    expect(checksum).toBe(want)
  }
  return { body, trailers: decoded.trailers, ...(checksum !== undefined ? { checksum } : {}) }
}

describe('@aws-sdk/client-s3 requests verify and decode', () => {
  it('PutObject with a small body (CRC32 header), odd key, session token', async () => {
    const { client, captured } = makeClient('SESSION+TOKEN/==')
    await client.send(
      new PutObjectCommand({
        Bucket: 'b',
        Key: "dir/ä ö+(1)!*'~.txt",
        Body: 'hello world',
        Metadata: { a: 'b  c' },
      }),
    )
    const raw = captured[0] as RawRequest
    expect(parseSignature(raw, parseQuery(raw.rawQuery))?.sessionToken).toBe('SESSION+TOKEN/==')
    const r = await verifyAndDecode(raw)
    expect(r.body.toString()).toBe('hello world')
  })

  it('PutObject with a stream body (aws-chunked, trailer checksum)', async () => {
    const { client, captured } = makeClient()
    const data = Buffer.alloc(200_000, 0x5a)
    await client.send(
      new PutObjectCommand({
        Bucket: 'b',
        Key: 'k/stream',
        Body: Readable.from([data.subarray(0, 70_000), data.subarray(70_000)]),
        ContentLength: data.length,
      }),
    )
    const raw = captured[0] as RawRequest
    const r = await verifyAndDecode(raw)
    expect(r.body.equals(data)).toBe(true)
    expect(raw.headers['x-amz-content-sha256']).toMatch(/^STREAMING-/)
    expect(r.trailers.size).toBeGreaterThan(0)
  })

  it('GetObject with Range, ListObjectsV2 with a unicode prefix, DeleteObjects', async () => {
    const { client, captured } = makeClient()
    await client
      .send(new GetObjectCommand({ Bucket: 'b', Key: 'k/a b', Range: 'bytes=0-9' }))
      .catch(() => undefined)
    await client.send(
      new ListObjectsV2Command({ Bucket: 'b', Prefix: 'ü/ x+y', MaxKeys: 5, StartAfter: 'a=b&c' }),
    )
    await client
      .send(
        new DeleteObjectsCommand({
          Bucket: 'b',
          Delete: { Objects: [{ Key: 'x' }, { Key: 'y z' }] },
        }),
      )
      .catch(() => undefined)
    expect(captured.length).toBe(3)
    for (const raw of captured) await verifyAndDecode(raw)
  })

  it('presigned GET and PUT URLs', async () => {
    const { client } = makeClient('TOK')
    for (const cmd of [
      new GetObjectCommand({ Bucket: 'b', Key: 'k/p q' }),
      new PutObjectCommand({ Bucket: 'b', Key: 'k/€' }),
    ]) {
      const url = new URL(await getSignedUrl(client, cmd, { expiresIn: 600 }))
      const raw = rawRequest({
        method: cmd instanceof GetObjectCommand ? 'GET' : 'PUT',
        path: url.pathname,
        query: url.search.slice(1),
        headers: { host: url.host },
      })
      const s = parseSignature(raw, parseQuery(raw.rawQuery))
      expect(s?.kind).toBe('presigned')
      expect(s?.sessionToken).toBe('TOK')
      await verifyAndDecode(raw)
      const other = { ...raw, rawPath: `${raw.rawPath}x` }
      await expect(verifyAndDecode(other)).rejects.toThrow(/signature/)
    }
  })
})
