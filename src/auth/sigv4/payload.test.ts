/** decodePayload: the body modes and their stream errors. */
import { describe, expect, it } from 'vitest'
import { S3Error } from '../../s3/errors.js'
import { AuthError } from '../errors.js'
import { encodeAwsChunked } from './chunked.js'
import type { SignatureInput } from './parse.js'
import { decodePayload } from './payload.js'
import { deriveSigningKey } from './signing-key.js'
import { EMPTY_SHA256, sha256Hex } from './string-to-sign.js'
import { collect, rawRequest, streamError } from './raw.case.js'
import { asS3, s3ErrorOf } from '../as-s3.case.js'

const SCOPE = { date: '20260314', region: 'us-east-1', service: 's3' }
const KEY = deriveSigningKey('k'.repeat(40), SCOPE.date, SCOPE.region, SCOPE.service)
const input = (payloadHash: string): SignatureInput => ({
  kind: 'header',
  accessKeyId: 'AK',
  requestTime: 0,
  amzDate: '20260314T000000Z',
  scope: SCOPE,
  signedHeaders: ['host'],
  signature: 'd'.repeat(64),
  payloadHash,
})

const code = (e: unknown) => {
  const s = asS3(e)
  return s instanceof S3Error ? s.code : s
}

describe('decodePayload', () => {
  it('anonymous / UNSIGNED-PAYLOAD: body as sent; short of Content-Length → IncompleteBody', async () => {
    const ok = decodePayload(
      rawRequest({ headers: { 'content-length': '5' }, body: 'hello' }),
      undefined,
      undefined,
    )
    expect(ok.contentLength).toBe(5)
    expect((await collect(ok.body)).toString()).toBe('hello')
    const short = decodePayload(
      rawRequest({ headers: { 'content-length': '6' }, body: 'hello' }),
      input('UNSIGNED-PAYLOAD'),
      KEY,
    )
    expect(code(await streamError(short.body))).toBe('IncompleteBody')
    const noLength = decodePayload(rawRequest({ body: 'abc' }), input('UNSIGNED-PAYLOAD'), KEY)
    expect((await collect(noLength.body)).toString()).toBe('abc')
    expect(noLength.contentLength).toBeUndefined()
  })

  it('hex sha256: matching body passes, any other body → XAmzContentSHA256Mismatch', async () => {
    const body = 'some object bytes'
    const good = decodePayload(
      rawRequest({ headers: { 'content-length': '17' }, body }),
      input(sha256Hex(body)),
      KEY,
    )
    expect((await collect(good.body)).toString()).toBe(body)
    const bad = decodePayload(
      rawRequest({ headers: { 'content-length': '17' }, body: 'some object bytez' }),
      input(sha256Hex(body)),
      KEY,
    )
    const err = await streamError(bad.body)
    expect(code(err)).toBe('XAmzContentSHA256Mismatch')
    expect((err as S3Error).extra['ClientComputedContentSHA256']).toBe(sha256Hex(body))
    const upper = decodePayload(
      rawRequest({ method: 'PUT', body }),
      input(sha256Hex(body).toUpperCase()),
      KEY,
    )
    expect((await collect(upper.body)).toString()).toBe(body)
  })

  it('a GET without a body: the declared hash must be the empty hash, no verifier stream', () => {
    const ok = decodePayload(rawRequest({ method: 'GET' }), input(EMPTY_SHA256), KEY)
    expect(ok.contentLength).toBeUndefined()
    expect(
      s3ErrorOf(() => decodePayload(rawRequest({ method: 'GET' }), input(sha256Hex('x')), KEY)),
    ).toEqual(expect.objectContaining({ code: 'XAmzContentSHA256Mismatch' }))
  })

  it('empty body with the empty hash: fast path', async () => {
    const d = decodePayload(
      rawRequest({ headers: { 'content-length': '0' } }),
      input(EMPTY_SHA256),
      KEY,
    )
    expect((await collect(d.body)).length).toBe(0)
  })

  it('bad Content-Length → InvalidArgument', () => {
    expect(() =>
      decodePayload(rawRequest({ headers: { 'content-length': '-1' } }), undefined, undefined),
    ).toThrow(AuthError)
  })

  it('aws-chunked unsigned trailer: decoded body, length and trailers', async () => {
    const data = Buffer.from('x'.repeat(100))
    const encoded = encodeAwsChunked(data, 30, { trailers: [['x-amz-checksum-crc32', 'AAAAAA==']] })
    const raw = rawRequest({
      method: 'PUT',
      headers: {
        'x-amz-decoded-content-length': '100',
        'content-encoding': 'aws-chunked',
        'transfer-encoding': 'chunked',
      },
      body: [encoded.subarray(0, 7), encoded.subarray(7)],
    })
    const d = decodePayload(raw, input('STREAMING-UNSIGNED-PAYLOAD-TRAILER'), KEY)
    expect(d.contentLength).toBe(100)
    expect((await collect(d.body)).equals(data)).toBe(true)
    expect(d.trailers.get('x-amz-checksum-crc32')).toBe('AAAAAA==')
  })

  it('aws-chunked signed: chained from the request signature; wrong seed fails', async () => {
    const data = Buffer.from('y'.repeat(50))
    const seed = 'd'.repeat(64)
    const signing = { key: KEY, amzDate: '20260314T000000Z', scope: SCOPE, seedSignature: seed }
    const encoded = encodeAwsChunked(data, 20, { signing })
    const headers = { 'x-amz-decoded-content-length': '50' }
    const ok = decodePayload(
      rawRequest({ headers, body: encoded }),
      input('STREAMING-AWS4-HMAC-SHA256-PAYLOAD'),
      KEY,
    )
    expect((await collect(ok.body)).equals(data)).toBe(true)
    const other = { ...input('STREAMING-AWS4-HMAC-SHA256-PAYLOAD'), signature: 'e'.repeat(64) }
    const bad = decodePayload(rawRequest({ headers, body: encoded }), other, KEY)
    expect(code(await streamError(bad.body))).toBe('SignatureDoesNotMatch')
  })

  it('header-level problems throw at once', () => {
    expect(() =>
      decodePayload(rawRequest({}), input('STREAMING-UNSIGNED-PAYLOAD-TRAILER'), KEY),
    ).toThrow('x-amz-decoded-content-length')
    try {
      decodePayload(
        rawRequest({ headers: { 'x-amz-decoded-content-length': '1' } }),
        input('STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD'),
        KEY,
      )
      expect.unreachable()
    } catch (caught) {
      const err = asS3(caught)
      expect(code(err)).toBe('NotImplemented')
    }
  })

  it('a failing request stream becomes IncompleteBody', async () => {
    const raw = rawRequest({ headers: { 'content-length': '10' }, body: 'abc' })
    const d = decodePayload(raw, input('UNSIGNED-PAYLOAD'), KEY)
    raw.body.destroy(new Error('ECONNRESET'))
    expect(code(await streamError(d.body))).toBe('IncompleteBody')
  })
})
