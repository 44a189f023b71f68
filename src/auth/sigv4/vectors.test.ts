/**
 * The AWS SigV4 test suite (aws-c-auth tests/aws-signing-test-suite/v4, Apache-2.0; see
 * vectors/README.md): for every case and both forms (Authorization header, presigned query),
 * the signed request is parsed, and our canonical request, string to sign and signature must
 * equal AWS's files; the verifier accepts it, and a one-byte change is rejected.
 * "normalize": true cases use the non-S3 path rules, the "-unnormalized" ones the S3 rules.
 */
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import { parseQuery, type RawRequest } from '../../http/raw-request.js'
import { AuthError } from '../errors.js'
import { parseAmzDate, parseSignature, type SignatureInput } from './parse.js'
import { deriveSigningKey } from './signing-key.js'
import { sha256Hex } from './string-to-sign.js'
import { parseHttpRequest } from './raw.case.js'
import { computeSignature, verifySignature } from './verify.js'

const DIR = join(fileURLToPath(new URL('.', import.meta.url)), 'vectors', 'aws-c-auth-v4')
const CASES = readdirSync(DIR).sort()

/**
 * Skipped with reason: in post-sts-header-after's query form the client appends
 * X-Amz-Security-Token to the URL *after* signing ("omit_session_token", an IoT websocket
 * convention). S3 and STS sign the token; a server that dropped it from the canonical query would
 * let anyone swap tokens on a presigned URL. We assert the rejection instead.
 */
const UNSIGNED_TOKEN_QUERY = 'post-sts-header-after'

interface Context {
  credentials: { access_key_id: string; secret_access_key: string; token?: string }
  normalize: boolean
  region: string
  service: string
  sign_body: boolean
  timestamp: string
}

function read(c: string, f: string): string {
  return readFileSync(join(DIR, c, f), 'utf8')
}

function setup(c: string, form: 'header' | 'query') {
  const ctx = JSON.parse(read(c, 'context.json')) as Context
  const raw = parseHttpRequest(read(c, `${form}-signed-request.txt`))
  const body = read(c, `${form}-signed-request.txt`).split('\n\n').slice(1).join('\n\n')
  const input = parseSignature(raw, parseQuery(raw.rawQuery), {
    service: 'sts',
    checkScopeService: false,
  })
  const key = deriveSigningKey(
    ctx.credentials.secret_access_key,
    ctx.timestamp.slice(0, 10).replace(/-/g, ''),
    ctx.region,
    ctx.service,
  )
  return { ctx, raw, input, key, bodySha: sha256Hex(body) }
}

function withHeaders(raw: RawRequest, headers: Record<string, string | undefined>): RawRequest {
  return { ...raw, headers }
}

describe('AWS SigV4 test suite', () => {
  it('has all 38 cases', () => {
    expect(CASES.length).toBe(38)
  })

  for (const c of CASES) {
    for (const form of ['header', 'query'] as const) {
      if (c === UNSIGNED_TOKEN_QUERY && form === 'query') {
        it(`${c} (query): a token appended after signing is rejected`, () => {
          const { ctx, raw, input, key, bodySha } = setup(c, form)
          const now = parseAmzDate('20150830T123600Z') as number
          expect(input?.sessionToken).toBe(ctx.credentials.token)
          expect(() =>
            verifySignature(
              raw,
              new Map(),
              input as SignatureInput,
              key,
              { now, normalizePath: true },
              bodySha,
            ),
          ).toThrow(/signature we calculated/)
        })
        continue
      }
      describe(`${c} (${form})`, () => {
        it('matches canonical request, string to sign and signature', () => {
          const { ctx, raw, input, key, bodySha } = setup(c, form)
          expect(input).toBeDefined()
          const sig = input as SignatureInput
          expect(sig.kind).toBe(form === 'header' ? 'header' : 'presigned')
          expect(sig.accessKeyId).toBe(ctx.credentials.access_key_id)
          expect(sig.scope).toEqual({ date: '20150830', region: ctx.region, service: ctx.service })
          const computed = computeSignature(
            raw,
            sig,
            key,
            { normalizePath: ctx.normalize },
            bodySha,
          )
          expect(computed.canonicalRequest).toBe(read(c, `${form}-canonical-request.txt`))
          expect(computed.stringToSign).toBe(read(c, `${form}-string-to-sign.txt`))
          expect(computed.signature.toString('hex')).toBe(read(c, `${form}-signature.txt`).trim())
          expect(sig.signature).toBe(read(c, `${form}-signature.txt`).trim())
        })

        it('verifies, and rejects a changed signature or header', () => {
          const { ctx, raw, input, key, bodySha } = setup(c, form)
          const sig = input as SignatureInput
          const now = parseAmzDate('20150830T123600Z') as number
          const opts = { now, normalizePath: ctx.normalize }
          expect(() => verifySignature(raw, new Map(), sig, key, opts, bodySha)).not.toThrow()

          const last = sig.signature.at(-1) === '0' ? '1' : '0'
          const badSig = { ...sig, signature: sig.signature.slice(0, -1) + last }
          expect(() => verifySignature(raw, new Map(), badSig, key, opts, bodySha)).toThrow(
            AuthError,
          )

          const badHost = withHeaders(raw, { ...raw.headers, host: 'example.amazonaws.con' })
          expect(() => verifySignature(badHost, new Map(), sig, key, opts, bodySha)).toThrow(
            /signature/,
          )

          const otherBody = sha256Hex('other body')
          if (sig.payloadHash === '') {
            expect(() => verifySignature(raw, new Map(), sig, key, opts, otherBody)).toThrow(
              AuthError,
            )
          }
        })
      })
    }
  }
})
