/**
 * Differential test: random requests signed by @smithy/signature-v4 configured as the S3 client
 * configures it (service 's3', uriEscapePath: false, applyChecksum: false, path pre-encoded with
 * the SDK's extended URI encoding) must verify with our verifier — header and presigned forms,
 * with and without a session token — and changing the path, the query, a signed header, the
 * token or the signature must make verification fail.
 */
import { Sha256 } from '@aws-crypto/sha256-js'
import { HttpRequest } from '@smithy/protocol-http'
import { SignatureV4 } from '@smithy/signature-v4'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { parseQuery, type RawRequest } from '../../http/raw-request.js'
import { S3Error } from '../../s3/errors.js'
import { parseSignature } from './parse.js'
import { deriveSigningKey } from './signing-key.js'
import { rawRequest } from './raw.case.js'
import { verifySignature } from './verify.js'
import { asS3 } from '../as-s3.case.js'

const AKID = 'S4AKTESTTESTTESTTEST0001'
const SECRET = 'abcdefghijklmnopqrstuvwxyz0123456789ABCD'
const REGION = 'us-west-2'
const HOST = 'bucket.s3.example.com'
const NOW = Date.UTC(2026, 2, 14, 15, 9, 26)
const KEY = deriveSigningKey(SECRET, '20260314', REGION, 's3')

/** The SDK's escapeUri (encodeURIComponent plus !'()*). */
const escapeUri = (s: string): string =>
  encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`)

const keyChar = fc.oneof(
  fc.constantFrom(
    ' ',
    '/',
    '+',
    '%',
    '~',
    '!',
    '*',
    "'",
    '(',
    ')',
    '$',
    '&',
    '=',
    '?',
    '#',
    ':',
    '@',
    ',',
    ';',
    'é',
    '日',
    '😀',
    '.',
    '..',
    '-',
    '_',
  ),
  fc.string({ minLength: 1, maxLength: 1, unit: 'grapheme-ascii' }),
  fc.string({ minLength: 1, maxLength: 1, unit: 'grapheme' }),
)
const objectKey = fc.array(keyChar, { minLength: 1, maxLength: 24 }).map((a) => a.join(''))
const queryName = fc
  .array(
    fc.oneof(
      fc.constantFrom('a', 'b', 'Z', '-', '_', '.', '~', ' ', '+', '%', 'é', '/', '='),
      fc.string({ minLength: 1, maxLength: 1, unit: 'grapheme-ascii' }),
    ),
    { minLength: 1, maxLength: 10 },
  )
  .map((a) => a.join(''))
  .filter((k) => !k.toLowerCase().startsWith('x-amz-'))
const queryValue = fc.array(keyChar, { maxLength: 12 }).map((a) => a.join(''))
const headerName = fc.stringMatching(/^[a-z0-9]{1,10}$/).map((s) => `x-amz-meta-${s}`)
const headerValue = fc
  .stringMatching(/^[!-~]([ !-~]{0,20}[!-~])?$/)
  .chain((v) => fc.constantFrom(v, `${v}   x`, `a  ${v}`))

const requestArb = fc.record({
  method: fc.constantFrom('GET', 'PUT', 'POST', 'DELETE', 'HEAD'),
  key: objectKey,
  query: fc.uniqueArray(fc.tuple(queryName, queryValue), { maxLength: 5, selector: (t) => t[0] }),
  headers: fc.uniqueArray(fc.tuple(headerName, headerValue), {
    maxLength: 4,
    selector: (t) => t[0],
  }),
  token: fc.option(fc.stringMatching(/^[A-Za-z0-9+/=]{8,40}$/), { nil: undefined }),
  presigned: fc.boolean(),
  payload: fc.constantFrom(
    'UNSIGNED-PAYLOAD',
    'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
  ),
  expires: fc.integer({ min: 1, max: 604800 }),
})
type Req = typeof requestArb extends fc.Arbitrary<infer T> ? T : never

async function signWithSmithy(r: Req): Promise<RawRequest> {
  const signer = new SignatureV4({
    service: 's3',
    region: REGION,
    credentials: {
      accessKeyId: AKID,
      secretAccessKey: SECRET,
      ...(r.token !== undefined ? { sessionToken: r.token } : {}),
    },
    sha256: Sha256,
    uriEscapePath: false,
    applyChecksum: false,
  })
  const path = `/bucket/${r.key.split('/').map(escapeUri).join('/')}`
  const headers: Record<string, string> = {
    host: HOST,
    'x-amz-content-sha256': r.presigned ? 'UNSIGNED-PAYLOAD' : r.payload,
  }
  for (const [k, v] of r.headers) headers[k] = v
  const req = new HttpRequest({
    method: r.method,
    protocol: 'https:',
    hostname: HOST,
    path,
    query: Object.fromEntries(r.query),
    headers,
  })
  const signed = r.presigned
    ? await signer.presign(req, {
        signingDate: new Date(NOW),
        expiresIn: r.expires,
        unhoistableHeaders: new Set(['x-amz-content-sha256']),
        unsignableHeaders: new Set(['x-amz-content-sha256']),
      })
    : await signer.sign(req, { signingDate: new Date(NOW) })
  const rawQuery = Object.entries(signed.query ?? {})
    .map(([k, v]) => `${escapeUri(k)}=${escapeUri(String(v))}`)
    .join('&')
  const outHeaders: Record<string, string> = {}
  for (const [k, v] of Object.entries(signed.headers))
    outHeaders[k.toLowerCase()] = String(v).trim()
  if (r.presigned) delete outHeaders['x-amz-content-sha256']
  return rawRequest({ method: r.method, path: signed.path, query: rawQuery, headers: outHeaders })
}

function verify(raw: RawRequest): void {
  const query = parseQuery(raw.rawQuery)
  const input = parseSignature(raw, query, { service: 's3' })
  if (input === undefined) throw new Error('no signature parsed')
  verifySignature(raw, query, input, KEY, { now: NOW })
}

function rejects(raw: RawRequest): boolean {
  try {
    verify(raw)
    return false
  } catch (caught) {
    const err = asS3(caught)
    return err instanceof S3Error
  }
}

function changeLast(s: string): string {
  return s.slice(0, -1) + (s.endsWith('z') ? 'y' : 'z')
}

describe('differential: @smithy/signature-v4 (S3 client settings) → our verifier', () => {
  it('accepts what smithy signs', async () => {
    await fc.assert(
      fc.asyncProperty(requestArb, async (r) => {
        verify(await signWithSmithy(r))
      }),
      { numRuns: 300 },
    )
  })

  it('rejects a changed path, query, signed header, token or signature', async () => {
    await fc.assert(
      fc.asyncProperty(requestArb, async (r) => {
        const raw = await signWithSmithy(r)
        expect(rejects({ ...raw, rawPath: changeLast(raw.rawPath) })).toBe(true)
        const q = raw.rawQuery
        expect(rejects({ ...raw, rawQuery: q === '' ? 'extra=1' : `extra=1&${q}` })).toBe(true)
        if (r.presigned) {
          // Change the value of a signed query parameter (X-Amz-Date is never last in smithy's order).
          const parts = q.split('&')
          const i = parts.findIndex((p) => p.startsWith('X-Amz-SignedHeaders='))
          parts[i] = `${parts[i]}%3Bx-amz-meta-z`
          expect(rejects({ ...raw, rawQuery: parts.join('&') })).toBe(true)
          const flipSig = q.replace(
            /(X-Amz-Signature=[0-9a-f]{63})([0-9a-f])/,
            (_m, a: string, c: string) => a + (c === '0' ? '1' : '0'),
          )
          expect(flipSig).not.toBe(q)
          expect(rejects({ ...raw, rawQuery: flipSig })).toBe(true)
          if (r.token !== undefined) {
            expect(
              rejects({
                ...raw,
                rawQuery: q.replace(/X-Amz-Security-Token=/, 'X-Amz-Security-Token=Z'),
              }),
            ).toBe(true)
          }
        } else {
          const auth = raw.headers['authorization'] ?? ''
          const flipped = auth.slice(0, -1) + (auth.endsWith('0') ? '1' : '0')
          expect(rejects({ ...raw, headers: { ...raw.headers, authorization: flipped } })).toBe(
            true,
          )
          for (const [name] of r.headers) {
            expect(
              rejects({
                ...raw,
                headers: { ...raw.headers, [name]: `${raw.headers[name] ?? ''}z` },
              }),
            ).toBe(true)
          }
          if (r.token !== undefined) {
            expect(
              rejects({
                ...raw,
                headers: { ...raw.headers, 'x-amz-security-token': `${r.token}z` },
              }),
            ).toBe(true)
          }
        }
        expect(rejects({ ...raw, headers: { ...raw.headers, host: `x${HOST}` } })).toBe(true)
        expect(rejects({ ...raw, method: raw.method === 'GET' ? 'PUT' : 'GET' })).toBe(true)
      }),
      { numRuns: 200 },
    )
  })
})
