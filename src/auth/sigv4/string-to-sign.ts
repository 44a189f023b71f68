/**
 * SigV4 strings to sign: the request form, the aws-chunked chunk form and the trailer form.
 * Pure functions; the hashing helpers (crypto/hash.ts) use node's native crypto.
 * https://docs.aws.amazon.com/AmazonS3/latest/API/sig-v4-header-based-auth.html
 * https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-streaming.html
 * @module
 */
import { sha256Hex } from '../../crypto/hash.js'

export const ALGORITHM = 'AWS4-HMAC-SHA256'
export const CHUNK_ALGORITHM = 'AWS4-HMAC-SHA256-PAYLOAD'
export const TRAILER_ALGORITHM = 'AWS4-HMAC-SHA256-TRAILER'
export const SCOPE_TERMINATOR = 'aws4_request'
/** sha256('') in hex. */
export const EMPTY_SHA256 = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855'

const NON_ASCII = /[^\x00-\x7f]/

export interface Scope {
  /** yyyymmdd */
  readonly date: string
  readonly region: string
  readonly service: string
}

export { hmacSha256, sha256Hex } from '../../crypto/hash.js'

/** `<date>/<region>/<service>/aws4_request` */
export function scopeString(scope: Scope): string {
  return `${scope.date}/${scope.region}/${scope.service}/${SCOPE_TERMINATOR}`
}

/**
 * The request's string to sign. The canonical request is hashed as UTF-8, or, with `wireBytes`,
 * char for byte: every part of it is ASCII except header values, which node hands over as latin1
 * (one char per byte), so that hashes the header bytes exactly as they were on the wire.
 */
export function stringToSign(
  amzDate: string,
  scope: Scope,
  canonicalRequest: string,
  wireBytes = false,
): string {
  // An ASCII canonical request (the usual case) is the same bytes in both readings: hashed as
  // is, without a latin1 copy.
  const hash = sha256Hex(
    wireBytes && NON_ASCII.test(canonicalRequest)
      ? Buffer.from(canonicalRequest, 'latin1')
      : canonicalRequest,
  )
  return `${ALGORITHM}\n${amzDate}\n${scopeString(scope)}\n${hash}`
}

/** One aws-chunked chunk: chains on the previous signature (the seed for the first chunk). */
export function chunkStringToSign(
  amzDate: string,
  scope: Scope,
  previousSignature: string,
  chunkSha256Hex: string,
): string {
  return (
    `${CHUNK_ALGORITHM}\n${amzDate}\n${scopeString(scope)}\n${previousSignature}\n` +
    `${EMPTY_SHA256}\n${chunkSha256Hex}`
  )
}

/** The trailer block of a signed-trailer upload; `trailerSha256Hex` hashes `name:value\n` lines. */
export function trailerStringToSign(
  amzDate: string,
  scope: Scope,
  previousSignature: string,
  trailerSha256Hex: string,
): string {
  return `${TRAILER_ALGORITHM}\n${amzDate}\n${scopeString(scope)}\n${previousSignature}\n${trailerSha256Hex}`
}
