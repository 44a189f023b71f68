/** verifySignature time rules, STS body hashing, signing keys and the key cache. */
import { describe, expect, it } from 'vitest'
import { parseQuery, type RawRequest } from '../../http/raw-request.js'
import { S3Error } from '../../s3/errors.js'
import { canonicalHeaders, canonicalUri, canonicalQuery } from './canonical.js'
import { formatAmzDate, parseSignature } from './parse.js'
import { deriveSigningKey, SigningKeyCache } from './signing-key.js'
import { EMPTY_SHA256, hmacSha256, scopeString, sha256Hex } from './string-to-sign.js'
import { rawRequest } from './raw.case.js'
import { computeSignature, verifySignature } from './verify.js'
import { asS3 } from '../as-s3.case.js'

const T = Date.UTC(2026, 2, 14, 10, 10, 10)
const AMZ = formatAmzDate(T)
const SECRET = 'secret-secret-secret-secret-secret-secre'

/** Signs a header-auth request with our own code (used to build fixtures). */
function signed(service: 's3' | 'sts', extra: Record<string, string> = {}, body = ''): RawRequest {
  const scope = { date: AMZ.slice(0, 8), region: 'eu-west-1', service }
  const headers: Record<string, string> = { host: 'example.test', 'x-amz-date': AMZ, ...extra }
  if (service === 's3') headers['x-amz-content-sha256'] = EMPTY_SHA256
  const names = Object.keys(headers).sort()
  const auth = (sig: string) =>
    `AWS4-HMAC-SHA256 Credential=AK/${scopeString(scope)}, SignedHeaders=${names.join(';')}, Signature=${sig}`
  const draft = rawRequest({
    method: 'POST',
    path: '/',
    headers: { ...headers, authorization: auth('0'.repeat(64)) },
    body,
  })
  const input = parseSignature(draft, new Map(), { service })
  if (input === undefined) throw new Error('unparsed')
  const key = deriveSigningKey(SECRET, scope.date, scope.region, service)
  const sig = computeSignature(draft, input, key, {}, sha256Hex(body)).signature.toString('hex')
  return rawRequest({
    method: 'POST',
    path: '/',
    headers: { ...headers, authorization: auth(sig) },
    body,
  })
}

function check(raw: RawRequest, now: number, service: 's3' | 'sts' = 's3', bodySha?: string): void {
  const input = parseSignature(raw, parseQuery(raw.rawQuery), { service })
  if (input === undefined) throw new Error('unparsed')
  verifySignature(
    raw,
    new Map(),
    input,
    deriveSigningKey(SECRET, input.scope.date, input.scope.region, service),
    { now },
    bodySha,
  )
}

function codeOf(f: () => void): string {
  try {
    f()
    return 'ok'
  } catch (caught) {
    const err = asS3(caught)
    return err instanceof S3Error ? err.code : String(err)
  }
}

describe('verifySignature', () => {
  it('header auth: ±15 minutes of skew', () => {
    const raw = signed('s3')
    expect(codeOf(() => check(raw, T + 15 * 60_000))).toBe('ok')
    expect(codeOf(() => check(raw, T - 15 * 60_000))).toBe('ok')
    expect(codeOf(() => check(raw, T + 15 * 60_000 + 1))).toBe('RequestTimeTooSkewed')
    try {
      check(raw, T - 16 * 60_000)
    } catch (caught) {
      const err = asS3(caught)
      expect((err as S3Error).extra).toMatchObject({
        RequestTime: AMZ,
        ServerTime: '2026-03-14T09:54:10Z',
      })
    }
  })

  it('STS form body: hashed by the caller; another body fails', () => {
    const body = 'Action=GetCallerIdentity&Version=2011-06-15'
    const raw = signed('sts', { 'content-type': 'application/x-www-form-urlencoded' }, body)
    expect(codeOf(() => check(raw, T, 'sts', sha256Hex(body)))).toBe('ok')
    expect(codeOf(() => check(raw, T, 'sts', sha256Hex(`${body}&x=1`)))).toBe(
      'SignatureDoesNotMatch',
    )
    expect(codeOf(() => check(raw, T, 'sts'))).toBe('InternalError')
  })

  it('mismatch details name the key, string to sign and canonical request', () => {
    const raw = signed('s3')
    const tampered = { ...raw, headers: { ...raw.headers, host: 'evil.test' } }
    try {
      check(tampered, T)
      expect.unreachable()
    } catch (caught) {
      const err = asS3(caught)
      const e = err as S3Error
      expect(e.code).toBe('SignatureDoesNotMatch')
      expect(e.extra['AWSAccessKeyId']).toBe('AK')
      expect(e.extra['CanonicalRequest']).toContain('host:evil.test')
      expect(JSON.stringify(e.extra)).not.toContain(SECRET)
    }
  })
})

describe('canonical forms', () => {
  it('S3 paths: equivalent encodings canonicalise the same; nothing is normalised', () => {
    expect(canonicalUri('/b/%7e%2f+%20x', false)).toBe('/b/~%2F%2B%20x')
    expect(canonicalUri('/b/~/+ x', false)).toBe('/b/~/%2B%20x')
    expect(canonicalUri('/b/a/../c//d/.', false)).toBe('/b/a/../c//d/.')
    expect(canonicalUri('/b/%zz%', false)).toBe('/b/%25zz%25')
    expect(canonicalUri('/b/%FF%C3', false)).toBe('/b/%FF%C3')
  })

  it('other services: normalised and encoded again', () => {
    expect(canonicalUri('/a%20b/../c/', true)).toBe('/c/')
    expect(canonicalUri('/a%20b', true)).toBe('/a%2520b')
  })

  it('query: sorted by name then value, signature excluded only when presigned', () => {
    expect(canonicalQuery('b=2&a=2&a=1&c', false)).toBe('a=1&a=2&b=2&c=')
    expect(canonicalQuery('X-Amz-Signature=abc&a=%7e+', true)).toBe('a=~%2B')
    expect(canonicalQuery('X-Amz-Signature=abc', false)).toBe('X-Amz-Signature=abc')
  })
})

describe('signing keys', () => {
  it('derives the documented key of the AWS example', () => {
    // docs.aws.amazon.com/IAM/latest/UserGuide/reference_sigv-create-signed-request.html style example
    const k = deriveSigningKey(
      'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY',
      '20120215',
      'us-east-1',
      'iam',
    )
    expect(k.toString('hex')).toBe(
      'f4780e2d9f65fa895f9c67b32ce1baf0b0d8a43505a000a1a9e090d414db404d',
    )
  })

  it('cache: hits, misses on a new secret version, evicts the oldest', () => {
    const cache = new SigningKeyCache(2)
    const scope = { date: '20260314', region: 'r', service: 's3' }
    const a1 = cache.get('A', 'v1', 'secret-1', scope)
    expect(cache.get('A', 'v1', 'ignored-on-hit', scope)).toBe(a1)
    const a2 = cache.get('A', 'v2', 'secret-2', scope)
    expect(a2.equals(a1)).toBe(false)
    expect(a2.equals(deriveSigningKey('secret-2', scope.date, scope.region, scope.service))).toBe(
      true,
    )
    cache.get('B', 'v1', 'secret-b', scope) // evicts A/v1 (least recently used)
    expect(cache.size).toBe(2)
    expect(cache.get('A', 'v1', 'secret-1-new', scope).equals(a1)).toBe(false)
    cache.forget('A')
    expect(cache.size).toBe(1)
    expect(hmacSha256(a1, 'x').length).toBe(32)
  })
})

describe('SignatureDoesNotMatch details', () => {
  it('mask the session token', () => {
    const raw = signed('s3', { 'x-amz-security-token': 'SECRET-TOKEN-VALUE' })
    const tampered = { ...raw, headers: { ...raw.headers, host: 'evil.test' } }
    try {
      check(tampered, T)
      expect.unreachable()
    } catch (caught) {
      const err = asS3(caught)
      const e = err as S3Error
      expect(e.code).toBe('SignatureDoesNotMatch')
      expect(e.extra['CanonicalRequest']).toContain('x-amz-security-token:<redacted>')
      expect(JSON.stringify(e.extra)).not.toContain('SECRET-TOKEN-VALUE')
    }
    expect(check(raw, T)).toBeUndefined()
  })
})

describe('canonical headers from a client-chosen SignedHeaders list', () => {
  it('names like constructor or __proto__ read only the request, never Object.prototype', () => {
    const names = ['__proto__', 'constructor', 'host', 'tostring']
    expect(canonicalHeaders({ host: 'h' }, names)).toBe(
      '__proto__:\nconstructor:\nhost:h\ntostring:\n',
    )
    // End to end through verification: a plain mismatch, not a crash (was a TypeError → 500).
    const raw = rawRequest({
      headers: {
        host: 'h',
        'x-amz-date': AMZ,
        'x-amz-content-sha256': EMPTY_SHA256,
        authorization: `AWS4-HMAC-SHA256 Credential=AK/${AMZ.slice(0, 8)}/eu-west-1/s3/aws4_request, SignedHeaders=constructor;host;x-amz-content-sha256;x-amz-date, Signature=${'0'.repeat(64)}`,
      },
    })
    const input = parseSignature(raw, new Map())
    if (input === undefined) throw new Error('unparsed')
    const key = deriveSigningKey(SECRET, AMZ.slice(0, 8), 'eu-west-1', 's3')
    let err: unknown
    try {
      verifySignature(raw, new Map(), input, key, { now: T })
    } catch (caught) {
      const e = asS3(caught)
      err = e
    }
    expect(err).toBeInstanceOf(S3Error)
    expect((err as S3Error).code).toBe('SignatureDoesNotMatch')
  })
})
