/**
 * Query parameters shared by the listing operations (ListObjects v1/v2, ListObjectVersions,
 * ListMultipartUploads): max-keys style limits, encoding-type, S3's URL encoding of names, and
 * the opaque continuation token. Pure functions; every bad value becomes InvalidArgument with
 * the ArgumentName/ArgumentValue AWS reports.
 * @module
 */
import { decodePlusAsSpaceStrict } from '../../http/percent.js'
import { S3Error } from '../errors.js'

export const MAX_LIST = 1000

/**
 * Parse a max-keys / max-uploads value: absent → 1000; non-integer or negative → InvalidArgument;
 * larger than 1000 → 1000 (AWS clamps silently).
 */
export function parseMaxKeys(value: string | undefined, argName = 'max-keys'): number {
  if (value === undefined) return MAX_LIST
  if (
    !/^-?\d+$/.test(value.trim()) ||
    !Number.isSafeInteger(Number(value.trim())) ||
    Math.abs(Number(value)) > 2147483647
  )
    throw new S3Error(
      'InvalidArgument',
      `Provided ${argName} not an integer or within integer range`,
      {
        ArgumentName: argName,
        ArgumentValue: value,
      },
    )
  const n = Number(value.trim())
  if (n < 0)
    throw new S3Error(
      'InvalidArgument',
      `Argument ${argName} must be an integer between 0 and 2147483647`,
      {
        ArgumentName: argName,
        ArgumentValue: value,
      },
    )
  return Math.min(n, MAX_LIST)
}

export type EncodingType = 'url'

/** encoding-type: only 'url' exists (case-insensitive as AWS); anything else → InvalidArgument. */
export function parseEncodingType(value: string | undefined): EncodingType | undefined {
  if (value === undefined) return undefined
  if (value.toLowerCase() === 'url') return 'url'
  throw new S3Error('InvalidArgument', 'Invalid Encoding Method specified in Request', {
    ArgumentName: 'encoding-type',
    ArgumentValue: value,
  })
}

const SAFE = new Set(
  'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.*/'.split(''),
)

/**
 * S3's encoding-type=url: UTF-8 bytes percent-encoded (upper-case hex) except [A-Za-z0-9-_.*\/]
 * (AWS documents `test_file(3).png` as `test_file%283%29.png`), a space as `%20` and `+` as `%2B`
 * as the S3 conformance suite expects and RGW answers (botocore's unquote_plus reads both).
 */
export function s3UrlEncode(s: string): string {
  let out = ''
  for (const ch of s) {
    if (SAFE.has(ch)) out += ch
    else
      for (const b of Buffer.from(ch, 'utf8'))
        out += '%' + b.toString(16).toUpperCase().padStart(2, '0')
  }
  return out
}

/** Inverse of s3UrlEncode ('+' → space, then percent-decoding). */
export function s3UrlDecode(s: string): string {
  const decoded = decodePlusAsSpaceStrict(s)
  if (decoded === undefined) throw new URIError('URI malformed')
  return decoded
}

/** Apply the request's encoding-type to a name (key, prefix, delimiter, marker). */
export function encodeName(s: string, enc: EncodingType | undefined): string {
  return enc === 'url' ? s3UrlEncode(s) : s
}

/** Opaque continuation token: base64 of the last key or common prefix returned. */
export function encodeContinuationToken(lastReturned: string): string {
  return Buffer.from(lastReturned, 'utf8').toString('base64')
}

/** Decode a continuation token; anything we could not have issued → InvalidArgument. */
export function decodeContinuationToken(token: string): string {
  const bad = (): S3Error =>
    new S3Error('InvalidArgument', 'The continuation token provided is incorrect', {
      ArgumentName: 'continuation-token',
      ArgumentValue: token,
    })
  if (token === '' || !/^[A-Za-z0-9+/]+={0,2}$/.test(token)) throw bad()
  const buf = Buffer.from(token, 'base64')
  const key = buf.toString('utf8')
  // Round trip: rejects non-canonical padding and bytes that are not valid UTF-8.
  if (key === '' || Buffer.from(key, 'utf8').toString('base64') !== token) throw bad()
  return key
}
