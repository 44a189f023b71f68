/**
 * SigV4 verification: time window first (skew for header auth, expiry for presigned URLs), then
 * the signature, compared in constant time on the 32-byte digests. A mismatch carries the
 * non-secret StringToSign and CanonicalRequest as AWS does, so clients can debug their signer.
 * @module
 */
import { timingSafeEqual } from 'node:crypto'
import { isoSeconds } from '../../lib/time-format.js'
import type { QueryMap, RawRequest } from '../../http/raw-request.js'
import { AuthError } from '../errors.js'
import { canonicalRequest } from './canonical.js'
import type { SignatureInput } from './parse.js'
import { hmacSha256, stringToSign } from './string-to-sign.js'

export const DEFAULT_MAX_SKEW_MS = 15 * 60 * 1000

export interface VerifyOptions {
  /** Server time, ms epoch (from the injected clock). */
  readonly now: number
  /** Allowed clock skew; 15 minutes by default. */
  readonly maxSkewMs?: number
  /** Path rules; default: S3 rules for scope service 's3', normalised for every other service. */
  readonly normalizePath?: boolean
}

export interface ComputedSignature {
  readonly canonicalRequest: string
  readonly stringToSign: string
  /** The 32-byte HMAC. */
  readonly signature: Buffer
}

/** Everything verification computes, exposed for tests and debugging. */
export function computeSignature(
  raw: RawRequest,
  input: SignatureInput,
  signingKey: Buffer,
  opts: { readonly normalizePath?: boolean; readonly wireBytes?: boolean } = {},
  bodySha256Hex?: string,
): ComputedSignature {
  let payloadHash = input.payloadHash
  if (payloadHash === '') {
    if (bodySha256Hex === undefined) {
      // Programming error in the caller: STS-style requests need sha256(body) passed in.
      throw new AuthError('internal', 'payload hash unavailable')
    }
    payloadHash = bodySha256Hex
  }
  const creq = canonicalRequest({
    method: raw.method,
    rawPath: raw.rawPath,
    rawQuery: raw.rawQuery,
    headers: raw.headers,
    signedHeaders: input.signedHeaders,
    payloadHash,
    presigned: input.kind === 'presigned',
    normalizePath: opts.normalizePath ?? input.scope.service !== 's3',
  })
  const sts = stringToSign(input.amzDate, input.scope, creq, opts.wireBytes ?? true)
  return { canonicalRequest: creq, stringToSign: sts, signature: hmacSha256(signingKey, sts) }
}

/** Constant-time comparison of a hex signature against a computed digest. */
export function signatureEquals(givenHex: string, expected: Buffer): boolean {
  if (!/^[0-9a-f]{64}$/.test(givenHex)) return false
  const given = Buffer.from(givenHex, 'hex')
  return given.length === expected.length && timingSafeEqual(given, expected)
}

/** ServerTime and Expires details: whole seconds, as AWS prints them. */
const iso = isoSeconds

/** Time window checks; throws RequestTimeTooSkewed / AccessDenied. */
export function checkRequestTime(
  input: SignatureInput,
  now: number,
  maxSkewMs = DEFAULT_MAX_SKEW_MS,
): void {
  if (input.kind === 'header') {
    if (Math.abs(now - input.requestTime) > maxSkewMs) {
      throw new AuthError('request-skewed', undefined, {
        RequestTime: input.amzDate,
        ServerTime: iso(now),
        MaxAllowedSkewMilliseconds: String(maxSkewMs),
      })
    }
    return
  }
  if (input.requestTime - now > maxSkewMs) {
    throw new AuthError('presign-not-yet-valid', 'Request is not valid yet', {
      'X-Amz-Date': input.amzDate,
      ServerTime: iso(now),
    })
  }
  const expiresAt = input.requestTime + (input.expiresSeconds ?? 0) * 1000
  if (now > expiresAt) {
    throw new AuthError('presign-expired', 'Request has expired', {
      'X-Amz-Expires': String(input.expiresSeconds ?? 0),
      Expires: iso(expiresAt),
      ServerTime: iso(now),
    })
  }
}

/**
 * How the query string was read by the signature that matched. 'plus-as-space': only reading a
 * literal `+` in the query as a space (as HTML forms do) gives the signature, so the signer meant
 * spaces and the request must be read that way too. URLSearchParams-based signers (aws4fetch's
 * presigned URLs) sign spaces as %20 but send them as `+`; AWS S3 accepts both readings.
 */
export type QueryReading = 'as-sent' | 'plus-as-space'

/**
 * Verify a parsed signature against the request. `bodySha256Hex` is used when
 * `input.payloadHash` is '' (STS form bodies hashed by the caller). Throws AuthError; answers
 * which reading of the query matched (QueryReading).
 */
export function verifySignature(
  raw: RawRequest,
  _query: QueryMap,
  input: SignatureInput,
  signingKey: Buffer,
  opts: VerifyOptions,
  bodySha256Hex?: string,
): QueryReading {
  checkRequestTime(input, opts.now, opts.maxSkewMs)
  const pathOpts = opts.normalizePath !== undefined ? { normalizePath: opts.normalizePath } : {}
  // The header bytes as sent (botocore signs the UTF-8 bytes it sends, as AWS specifies).
  const computed = computeSignature(raw, input, signingKey, pathOpts, bodySha256Hex)
  if (signatureEquals(input.signature, computed.signature)) return 'as-sent'
  // Node-based signers (SDK v3) write a string header as latin1 bytes but hash it as UTF-8: for
  // a non-ASCII header value, the chars as node decoded them are a second legitimate reading.
  if (/[^\x00-\x7f]/.test(computed.canonicalRequest)) {
    const asChars = computeSignature(
      raw,
      input,
      signingKey,
      Object.assign({}, pathOpts, { wireBytes: false }),
      bodySha256Hex,
    )
    if (signatureEquals(input.signature, asChars.signature)) return 'as-sent'
  }
  // A literal `+` in the query: the signer may have meant a space (see QueryReading). Only a
  // second HMAC on a request that already failed; a match means the signer signed spaces.
  if (raw.rawQuery.includes('+')) {
    const spaced = Object.assign({}, raw, { rawQuery: raw.rawQuery.replaceAll('+', '%20') })
    const asSpaces = computeSignature(spaced, input, signingKey, pathOpts, bodySha256Hex)
    if (signatureEquals(input.signature, asSpaces.signature)) return 'plus-as-space'
  }
  throw new AuthError('signature-mismatch', undefined, {
    AWSAccessKeyId: input.accessKeyId,
    StringToSign: computed.stringToSign,
    SignatureProvided: input.signature,
    CanonicalRequest: redactToken(computed.canonicalRequest),
  })
}

/**
 * The canonical request shown in a SignatureDoesNotMatch error, with the session token masked:
 * errors end up in logs and proxies, and the token is a credential.
 */
export function redactToken(canonical: string): string {
  return canonical
    .replace(/^x-amz-security-token:.*$/m, 'x-amz-security-token:<redacted>')
    .replace(/(^|&)X-Amz-Security-Token=[^&\n]*/m, '$1X-Amz-Security-Token=<redacted>')
}
