/**
 * The percent-decoders of the wire, one per rule. They differ on purpose, and the name says how:
 * whether `+` stays a literal plus (URI paths, S3 query strings, SigV4) or is a space (HTML forms:
 * STS bodies, x-amz-tagging, S3's encoding-type=url), and what an invalid escape or invalid UTF-8
 * does (keep the input, refuse it, or decode leniently as WHATWG does).
 *
 * - decodePlusLiteralOrKeep: `+` literal; bad escape or UTF-8 → the input as sent. Query
 *   parameters (parseQuery), the admin path, the Resource of S3 errors.
 * - decodePlusLiteralStrict: `+` literal; bad → `undefined`. S3 bucket/key paths, copy source.
 * - decodePlusAsSpaceStrict: `+` is a space; bad → `undefined`. x-amz-tagging, encoding-type=url.
 * - decodeFormValuePlusAsSpace: `+` is a space; WHATWG-lenient (bad escape kept as text, bad
 *   UTF-8 → U+FFFD). Query-protocol forms (STS).
 * - decodeBytesPlusLiteral: `+` literal; bad escape kept as text; returns bytes, never checks
 *   UTF-8. SigV4's canonical re-encoding.
 *
 * Nothing here throws and nothing knows a surface: each caller maps `undefined` to its own error.
 * @module
 */

function hexValue(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30
  const l = c | 0x20
  return l >= 0x61 && l <= 0x66 ? l - 0x61 + 10 : -1
}

/**
 * Strict decoding (decodeURIComponent) with `+` literal; on a malformed escape or invalid UTF-8
 * the input comes back unchanged, as sent.
 */
export function decodePlusLiteralOrKeep(s: string): string {
  if (!s.includes('%')) return s
  try {
    return decodeURIComponent(s)
  } catch {
    return s
  }
}

/** Strict decoding with `+` literal; `undefined` on a malformed escape or invalid UTF-8. */
export function decodePlusLiteralStrict(s: string): string | undefined {
  if (!s.includes('%')) return s
  try {
    return decodeURIComponent(s)
  } catch {
    return undefined
  }
}

/** `+` is a space, then strict decoding; `undefined` on a malformed escape or invalid UTF-8. */
export function decodePlusAsSpaceStrict(s: string): string | undefined {
  try {
    return decodeURIComponent(s.replace(/\+/g, ' '))
  } catch {
    return undefined
  }
}

/**
 * Percent-decode to bytes, `+` literal. Characters outside %XX are taken as UTF-8; a '%' not
 * followed by two hex digits stays a literal '%'. Never fails (invalid UTF-8 after decoding is
 * kept as bytes).
 */
export function decodeBytesPlusLiteral(s: string): Buffer {
  if (!s.includes('%')) return Buffer.from(s, 'utf8')
  const src = Buffer.from(s, 'utf8')
  const out = Buffer.allocUnsafe(src.length)
  let n = 0
  for (let i = 0; i < src.length; i++) {
    const c = src[i] as number
    if (c === 0x25 && i + 2 < src.length) {
      const hi = hexValue(src[i + 1] as number)
      const lo = hexValue(src[i + 2] as number)
      if (hi >= 0 && lo >= 0) {
        out[n++] = (hi << 4) | lo
        i += 2
        continue
      }
    }
    out[n++] = c
  }
  return out.subarray(0, n)
}

/**
 * One application/x-www-form-urlencoded component: `+` is a space, then WHATWG percent-decoding
 * (valid %XX become bytes, anything else stays; then UTF-8 with bad sequences → U+FFFD), which is
 * URLSearchParams' result (Node's own URLSearchParams departs from the spec only where raw
 * non-ASCII meets a %-escape).
 */
export function decodeFormValuePlusAsSpace(s: string): string {
  const spaced = s.includes('+') ? s.replaceAll('+', ' ') : s
  if (!spaced.includes('%')) return spaced
  try {
    return decodeURIComponent(spaced) // well-formed input: the fast path
  } catch {
    return decodeBytesPlusLiteral(spaced).toString('utf8')
  }
}
