/**
 * Worked examples from the Amazon S3 API reference (vectors/README.md lists the pages):
 * header auth (GET with Range, PUT, GET ?lifecycle, GET list), presigned GET, the
 * STREAMING-AWS4-HMAC-SHA256-PAYLOAD upload (66560 bytes of 'a' in 64 KiB chunks), the
 * signed-trailer chunk chain, and the POST policy example. Each verifies, and a one-byte change fails.
 */
import { describe, expect, it } from 'vitest'
import { parseQuery, type RawRequest } from '../../http/raw-request.js'
import { S3Error } from '../../s3/errors.js'
import { AwsChunkedDecoder } from './chunked.js'
import { parseAmzDate, parseSignature, type SignatureInput } from './parse.js'
import { decodePayload } from './payload.js'
import {
  checkPostPolicy,
  parsePostAuth,
  parsePostPolicy,
  verifyPostSignature,
} from './post-policy.js'
import { deriveSigningKey } from './signing-key.js'
import { chunkStringToSign, EMPTY_SHA256, hmacSha256, sha256Hex } from './string-to-sign.js'
import { collect, rawRequest, streamError } from './raw.case.js'
import { computeSignature, verifySignature } from './verify.js'
import { asS3 } from '../as-s3.case.js'

const AKID = 'AKIAIOSFODNN7EXAMPLE'
const SECRET = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY'
const NOW = parseAmzDate('20130524T000000Z') as number
const KEY = deriveSigningKey(SECRET, '20130524', 'us-east-1', 's3')
const SCOPE = { date: '20130524', region: 'us-east-1', service: 's3' }

function auth(signedHeaders: string, signature: string): string {
  return `AWS4-HMAC-SHA256 Credential=${AKID}/20130524/us-east-1/s3/aws4_request,SignedHeaders=${signedHeaders},Signature=${signature}`
}

function parse(raw: RawRequest): SignatureInput {
  const s = parseSignature(raw, parseQuery(raw.rawQuery), { service: 's3' })
  if (s === undefined) throw new Error('no signature')
  return s
}

function expectVerifies(raw: RawRequest): SignatureInput {
  const s = parse(raw)
  verifySignature(raw, parseQuery(raw.rawQuery), s, KEY, { now: NOW })
  return s
}

function expectMismatch(raw: RawRequest): void {
  const s = parse(raw)
  let err: unknown
  try {
    verifySignature(raw, parseQuery(raw.rawQuery), s, KEY, { now: NOW })
  } catch (caught) {
    const e = asS3(caught)
    err = e
  }
  expect(err).toBeInstanceOf(S3Error)
  expect((err as S3Error).code).toBe('SignatureDoesNotMatch')
  expect((err as S3Error).extra['AWSAccessKeyId']).toBe(AKID)
  expect((err as S3Error).extra['StringToSign']).toMatch(/^AWS4-HMAC-SHA256\n20130524T000000Z\n/)
}

describe('S3 API reference: header auth (sig-v4-header-based-auth)', () => {
  const getObject = (range = 'bytes=0-9') =>
    rawRequest({
      path: '/test.txt',
      headers: {
        host: 'examplebucket.s3.amazonaws.com',
        range,
        'x-amz-content-sha256': EMPTY_SHA256,
        'x-amz-date': '20130524T000000Z',
        authorization: auth(
          'host;range;x-amz-content-sha256;x-amz-date',
          'f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41',
        ),
      },
    })

  it('GET object with Range', () => {
    const s = expectVerifies(getObject())
    expect(computeSignature(getObject(), s, KEY).canonicalRequest).toBe(
      [
        'GET',
        '/test.txt',
        '',
        'host:examplebucket.s3.amazonaws.com',
        'range:bytes=0-9',
        `x-amz-content-sha256:${EMPTY_SHA256}`,
        'x-amz-date:20130524T000000Z',
        '',
        'host;range;x-amz-content-sha256;x-amz-date',
        EMPTY_SHA256,
      ].join('\n'),
    )
    expectMismatch(getObject('bytes=0-8'))
  })

  const body = 'Welcome to Amazon S3.'
  const putObject = (path = '/test%24file.text') =>
    rawRequest({
      method: 'PUT',
      path,
      headers: {
        host: 'examplebucket.s3.amazonaws.com',
        date: 'Fri, 24 May 2013 00:00:00 GMT',
        'x-amz-date': '20130524T000000Z',
        'x-amz-storage-class': 'REDUCED_REDUNDANCY',
        'x-amz-content-sha256': sha256Hex(body),
        authorization: auth(
          'date;host;x-amz-content-sha256;x-amz-date;x-amz-storage-class',
          '98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd',
        ),
      },
      body,
    })

  it('PUT object ($ in the key, payload hash)', async () => {
    expectVerifies(putObject())
    // The same key sent with '$' unencoded canonicalises identically (decode, then encode once).
    expectVerifies(putObject('/test$file.text'))
    expectMismatch(putObject('/test%24file.txt'))
    const raw = putObject()
    const decoded = decodePayload(raw, parse(raw), KEY)
    expect((await collect(decoded.body)).toString()).toBe(body)
  })

  it('GET ?lifecycle', () => {
    const raw = (q: string) =>
      rawRequest({
        path: '/',
        query: q,
        headers: {
          host: 'examplebucket.s3.amazonaws.com',
          'x-amz-date': '20130524T000000Z',
          'x-amz-content-sha256': EMPTY_SHA256,
          authorization: auth(
            'host;x-amz-content-sha256;x-amz-date',
            'fea454ca298b7da1c68078a5d1bdbfbbe0d65c699e0f91ac7a200a0136783543',
          ),
        },
      })
    expectVerifies(raw('lifecycle'))
    expectMismatch(raw('lifecycl'))
  })

  it('GET list objects (max-keys, prefix)', () => {
    const raw = (q: string) =>
      rawRequest({
        path: '/',
        query: q,
        headers: {
          host: 'examplebucket.s3.amazonaws.com',
          'x-amz-date': '20130524T000000Z',
          'x-amz-content-sha256': EMPTY_SHA256,
          authorization: auth(
            'host;x-amz-content-sha256;x-amz-date',
            '34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7',
          ),
        },
      })
    expectVerifies(raw('max-keys=2&prefix=J'))
    expectVerifies(raw('prefix=J&max-keys=2')) // order does not matter
    expectMismatch(raw('max-keys=3&prefix=J'))
  })
})

describe('S3 API reference: presigned GET (sigv4-query-string-auth)', () => {
  const raw = (sig: string, path = '/test.txt') =>
    rawRequest({
      path,
      query:
        'X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20130524%2Fus-east-1%2Fs3%2Faws4_request' +
        `&X-Amz-Date=20130524T000000Z&X-Amz-Expires=86400&X-Amz-SignedHeaders=host&X-Amz-Signature=${sig}`,
      headers: { host: 'examplebucket.s3.amazonaws.com' },
    })
  const SIG = 'aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404'

  it('verifies within its lifetime and expires after 86400 s', () => {
    const s = expectVerifies(raw(SIG))
    expect(s.kind).toBe('presigned')
    expect(s.expiresSeconds).toBe(86400)
    expect(s.payloadHash).toBe('UNSIGNED-PAYLOAD')
    verifySignature(raw(SIG), new Map(), s, KEY, { now: NOW + 86400_000 })
    expect(() => verifySignature(raw(SIG), new Map(), s, KEY, { now: NOW + 86401_000 })).toThrow(
      'Request has expired',
    )
    expect(() => verifySignature(raw(SIG), new Map(), s, KEY, { now: NOW - 16 * 60_000 })).toThrow(
      'Request is not valid yet',
    )
  })

  it('rejects a changed path or signature', () => {
    expectMismatch(raw(SIG, '/test.txu'))
    expectMismatch(raw(`${SIG.slice(0, -1)}5`))
  })
})

describe('S3 API reference: chunked upload (sigv4-streaming)', () => {
  const SEED = '4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9'
  const CHUNK_SIGS = [
    'ad80c730a21e5b8d04586a2213dd63b9a0e99e0e2307b0ade35a65485a288648',
    '0055627c9e194cb4542bae2aa5492e3c1575bbb81b612b7d234b86a503ef5497',
    'b6c6ea8a5354eaf15b3cb7646744f4275b71ea724fed81ceb9323e279d449df9',
  ]
  const data = Buffer.alloc(66560, 'a')
  const encode = (sigs: readonly string[]) =>
    Buffer.concat([
      Buffer.from(`10000;chunk-signature=${sigs[0]}\r\n`),
      data.subarray(0, 65536),
      Buffer.from(`\r\n400;chunk-signature=${sigs[1]}\r\n`),
      data.subarray(65536),
      Buffer.from(`\r\n0;chunk-signature=${sigs[2]}\r\n\r\n`),
    ])
  const request = (body: Buffer, seed = SEED) =>
    rawRequest({
      method: 'PUT',
      path: '/examplebucket/chunkObject.txt',
      headers: {
        host: 's3.amazonaws.com',
        'x-amz-date': '20130524T000000Z',
        'x-amz-storage-class': 'REDUCED_REDUNDANCY',
        'x-amz-content-sha256': 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD',
        'content-encoding': 'aws-chunked',
        'x-amz-decoded-content-length': '66560',
        'content-length': '66824',
        authorization: auth(
          'content-encoding;content-length;host;x-amz-content-sha256;x-amz-date;x-amz-decoded-content-length;x-amz-storage-class',
          seed,
        ),
      },
      body: [body.subarray(0, 1000), body.subarray(1000, 65600), body.subarray(65600)],
    })

  it('seed signature and the first chunk signature match the documented values', () => {
    expect(encode(CHUNK_SIGS).length).toBe(66824)
    expectVerifies(request(encode(CHUNK_SIGS)))
    const first = hmacSha256(
      KEY,
      chunkStringToSign('20130524T000000Z', SCOPE, SEED, sha256Hex(data.subarray(0, 65536))),
    )
    expect(first.toString('hex')).toBe(CHUNK_SIGS[0])
  })

  it('decodes the documented body to 66560 bytes of "a"', async () => {
    const raw = request(encode(CHUNK_SIGS))
    const decoded = decodePayload(raw, expectVerifies(raw), KEY)
    expect(decoded.contentLength).toBe(66560)
    expect((await collect(decoded.body)).equals(data)).toBe(true)
  })

  it('a changed chunk byte or chunk signature fails the stream', async () => {
    const tampered = encode(CHUNK_SIGS)
    tampered[66000] = 0x62 // a "b" inside the second chunk
    const raw = request(tampered)
    const err = await streamError(decodePayload(raw, expectVerifies(raw), KEY).body)
    expect((err as S3Error).code).toBe('SignatureDoesNotMatch')

    const badSigs = [
      CHUNK_SIGS[0] as string,
      CHUNK_SIGS[1] as string,
      `${(CHUNK_SIGS[2] as string).slice(0, -1)}0`,
    ]
    const raw2 = request(encode(badSigs))
    const err2 = await streamError(decodePayload(raw2, expectVerifies(raw2), KEY).body)
    expect((err2 as S3Error).code).toBe('SignatureDoesNotMatch')
  })
})

describe('S3 API reference: chunked upload with trailer (sigv4-streaming-trailers)', () => {
  // Seed and signatures of the documented example (request headers omitted here: the chain
  // starts at the documented seed signature).
  const SEED = '106e2a8a18243abcf37539882f36619c00e2dfc72633413f02d3b74544bfeb8e'
  const data = Buffer.alloc(66560, 'a')
  const body = (trailerSig: string) =>
    Buffer.concat([
      Buffer.from(
        '10000;chunk-signature=b474d8862b1487a5145d686f57f013e54db672cee1c953b3010fb58501ef5aa2\r\n',
      ),
      data.subarray(0, 65536),
      Buffer.from(
        '\r\n400;chunk-signature=1c1344b170168f8e65b41376b44b20fe354e373826ccbbe2c1d40a8cae51e5c7\r\n',
      ),
      data.subarray(65536),
      Buffer.from(
        '\r\n0;chunk-signature=2ca2aba2005185cf7159c6277faf83795951dd77a3a99e6e65d5c9f85863f992\r\n',
      ),
      Buffer.from(
        `x-amz-checksum-crc32c:sOO8/Q==\r\nx-amz-trailer-signature:${trailerSig}\r\n\r\n`,
      ),
    ])
  const decode = (b: Buffer) => {
    const d = new AwsChunkedDecoder({
      mode: 'signed-trailer',
      decodedLength: 66560,
      signing: { key: KEY, amzDate: '20130524T000000Z', scope: SCOPE, seedSignature: SEED },
    })
    d.end(b)
    return d
  }
  const TRAILER_SIG = 'd81f82fc3505edab99d459891051a732e8730629a2e4a59689829ca17fe2e435'

  it('verifies the chunk chain and the trailer signature, and exposes the trailer', async () => {
    const d = decode(body(TRAILER_SIG))
    expect((await collect(d)).equals(data)).toBe(true)
    expect(d.trailers.get('x-amz-checksum-crc32c')).toBe('sOO8/Q==')
  })

  it('rejects a changed trailer signature or trailer value', async () => {
    expect(
      ((await streamError(decode(body(`${TRAILER_SIG.slice(0, -1)}6`)))) as S3Error).code,
    ).toBe('SignatureDoesNotMatch')
    const changed = Buffer.from(
      body(TRAILER_SIG).toString('latin1').replace('sOO8/Q==', 'sOO8/R=='),
      'latin1',
    )
    expect(((await streamError(decode(changed))) as S3Error).code).toBe('SignatureDoesNotMatch')
  })
})

describe('S3 API reference: POST policy (sigv4-post-example)', () => {
  const POLICY =
    'eyAiZXhwaXJhdGlvbiI6ICIyMDE1LTEyLTMwVDEyOjAwOjAwLjAwMFoiLA0KICAiY29uZGl0aW9ucyI6IFsNCiAgICB7ImJ1Y2tldCI6ICJzaWd2NGV4YW1wbGVidWNrZXQifSwNCiAgICBbInN0YXJ0cy13aXRoIiwgIiRrZXkiLCAidXNlci91c2VyMS8iXSwNCiAgICB7ImFjbCI6ICJwdWJsaWMtcmVhZCJ9LA0KICAgIHsic3VjY2Vzc19hY3Rpb25fcmVkaXJlY3QiOiAiaHR0cDovL3NpZ3Y0ZXhhbXBsZWJ1Y2tldC5zMy5hbWF6b25hd3MuY29tL3N1Y2Nlc3NmdWxfdXBsb2FkLmh0bWwifSwNCiAgICBbInN0YXJ0cy13aXRoIiwgIiRDb250ZW50LVR5cGUiLCAiaW1hZ2UvIl0sDQogICAgeyJ4LWFtei1tZXRhLXV1aWQiOiAiMTQzNjUxMjM2NTEyNzQifSwNCiAgICB7IngtYW16LXNlcnZlci1zaWRlLWVuY3J5cHRpb24iOiAiQUVTMjU2In0sDQogICAgWyJzdGFydHMtd2l0aCIsICIkeC1hbXotbWV0YS10YWciLCAiIl0sDQoNCiAgICB7IngtYW16LWNyZWRlbnRpYWwiOiAiQUtJQUlPU0ZPRE5ON0VYQU1QTEUvMjAxNTEyMjkvdXMtZWFzdC0xL3MzL2F3czRfcmVxdWVzdCJ9LA0KICAgIHsieC1hbXotYWxnb3JpdGhtIjogIkFXUzQtSE1BQy1TSEEyNTYifSwNCiAgICB7IngtYW16LWRhdGUiOiAiMjAxNTEyMjlUMDAwMDAwWiIgfQ0KICBdDQp9'
  const SIGNATURE = '8afdbf4008c03f22c2cd3cdb72e4afbb1f6a588f3255ac628749a66d7f09699e'
  const fields = () =>
    new Map<string, string>([
      ['key', 'user/user1/${filename}'],
      ['acl', 'public-read'],
      [
        'success_action_redirect',
        'http://sigv4examplebucket.s3.amazonaws.com/successful_upload.html',
      ],
      ['content-type', 'image/jpeg'],
      ['x-amz-meta-uuid', '14365123651274'],
      ['x-amz-server-side-encryption', 'AES256'],
      ['x-amz-credential', 'AKIAIOSFODNN7EXAMPLE/20151229/us-east-1/s3/aws4_request'],
      ['x-amz-algorithm', 'AWS4-HMAC-SHA256'],
      ['x-amz-date', '20151229T000000Z'],
      ['x-amz-meta-tag', ''],
      ['policy', POLICY],
      ['x-amz-signature', SIGNATURE],
      ['bucket', 'sigv4examplebucket'],
    ])

  it('signature verifies and the form satisfies the policy', () => {
    const a = parsePostAuth(fields())
    expect(a.accessKeyId).toBe(AKID)
    const key = deriveSigningKey(SECRET, a.scope.date, a.scope.region, a.scope.service)
    expect(verifyPostSignature(a.policyB64, a.signature, key)).toBe(true)
    expect(verifyPostSignature(a.policyB64, `${SIGNATURE.slice(0, -1)}f`, key)).toBe(false)
    expect(verifyPostSignature(`${POLICY.slice(0, -2)}==`, SIGNATURE, key)).toBe(false)
    const policy = parsePostPolicy(a.policyB64)
    expect(policy.expiration).toBe(Date.parse('2015-12-30T12:00:00.000Z'))
    checkPostPolicy(policy, fields(), Date.parse('2015-12-29T00:00:00Z'))
  })

  it('a field violating the policy is denied', () => {
    const policy = parsePostPolicy(POLICY)
    const f = fields()
    f.set('key', 'user/user2/x')
    expect(() => checkPostPolicy(policy, f, Date.parse('2015-12-29T00:00:00Z'))).toThrow(
      'Invalid according to Policy: Policy Condition failed: ["starts-with", "$key", "user/user1/"]',
    )
  })
})
