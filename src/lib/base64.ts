/**
 * Strict base64: only the canonical encoding of some bytes is accepted (padding required, no
 * whitespace, no URL-safe alphabet), so a value has exactly one spelling. Used for checksum
 * headers (S3 integrity) and the POST policy document (auth), which must both refuse what
 * Buffer.from(…, 'base64') would silently accept.
 * @module
 */

const STRICT_BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/

/** Strict base64 → bytes, or undefined when not canonical base64. */
export function decodeBase64Strict(value: string): Buffer | undefined {
  if (!STRICT_BASE64.test(value)) return undefined
  return Buffer.from(value, 'base64')
}
