/**
 * SigV4 canonical request (https://docs.aws.amazon.com/IAM/latest/UserGuide/create-signed-request.html).
 *
 * Works on the raw path and query as they came off the wire:
 * - S3 (`normalizePath: false`): the path is not normalised and is encoded once. Each segment is
 *   percent-decoded to bytes and re-encoded with AWS's rules, so `~`/`%7E` or `%2f`/`%2F` spell
 *   the same canonical path (as MinIO's `s3utils.EncodePath(URL.Path)` does).
 * - other services, e.g. STS (`normalizePath: true`): dot segments and empty segments are removed
 *   and the path *as sent* is encoded again (the SDKs' double encoding).
 * - query: decode each name and value ('+' stays '+', as S3 reads it), re-encode, sort by name then
 *   value; the presigned form leaves X-Amz-Signature out.
 * - headers: lower-case names in the order the client listed them; values trimmed with inner
 *   whitespace runs collapsed to one space (repeated headers arrive joined with ',').
 * @module
 */
import { decodeBytesPlusLiteral } from '../../http/percent.js'

const UNRESERVED_ONLY = /^[A-Za-z0-9\-._~]*$/
const HEX = '0123456789ABCDEF'

function isUnreservedByte(b: number): boolean {
  return (
    (b >= 0x41 && b <= 0x5a) || // A-Z
    (b >= 0x61 && b <= 0x7a) || // a-z
    (b >= 0x30 && b <= 0x39) || // 0-9
    b === 0x2d || // -
    b === 0x2e || // .
    b === 0x5f || // _
    b === 0x7e // ~
  )
}

/** AWS URI encoding of raw bytes: unreserved characters kept, everything else %XX (upper hex). */
export function uriEncodeBytes(bytes: Uint8Array): string {
  let out = ''
  for (const b of bytes) {
    out += isUnreservedByte(b) ? String.fromCharCode(b) : `%${HEX[b >> 4]}${HEX[b & 15]}`
  }
  return out
}

/** AWS URI encoding of a string (UTF-8). '/' is encoded too. */
export function uriEncode(s: string): string {
  if (UNRESERVED_ONLY.test(s)) return s
  return uriEncodeBytes(Buffer.from(s, 'utf8'))
}

/** Decode then re-encode one path segment or query component. */
export function reencode(component: string): string {
  if (UNRESERVED_ONLY.test(component)) return component
  return uriEncodeBytes(decodeBytesPlusLiteral(component))
}

/** RFC 3986 dot-segment removal plus collapsing of empty segments; keeps a trailing slash. */
export function normalizePathSegments(path: string): string {
  const out: string[] = []
  for (const seg of path.split('/')) {
    if (seg === '' || seg === '.') continue
    if (seg === '..') out.pop()
    else out.push(seg)
  }
  let result = `/${out.join('/')}`
  if (out.length > 0 && path.endsWith('/')) result += '/'
  return result
}

export function canonicalUri(rawPath: string, normalizePath: boolean): string {
  // The root (every STS call, ListBuckets) is its own canonical form in both rules.
  if (rawPath === '/' || rawPath === '') return '/'
  const path = rawPath
  if (normalizePath) {
    // Non-S3 services: normalise, then encode the path as sent (double encoding).
    return normalizePathSegments(path)
      .split('/')
      .map((seg) => uriEncode(seg))
      .join('/')
  }
  return path
    .split('/')
    .map((seg) => reencode(seg))
    .join('/')
}

export interface QueryPair {
  readonly key: string
  readonly value: string
}

/** Split a raw query into encoded canonical pairs (decoded names for filtering are not needed). */
export function canonicalQueryPairs(rawQuery: string): QueryPair[] {
  const pairs: QueryPair[] = []
  if (rawQuery === '') return pairs
  for (const part of rawQuery.split('&')) {
    if (part === '') continue
    const eq = part.indexOf('=')
    const k = eq < 0 ? part : part.slice(0, eq)
    const v = eq < 0 ? '' : part.slice(eq + 1)
    pairs.push({ key: reencode(k), value: reencode(v) })
  }
  return pairs
}

export function canonicalQuery(rawQuery: string, excludeSignature: boolean): string {
  if (rawQuery === '') return ''
  let pairs = canonicalQueryPairs(rawQuery)
  if (excludeSignature) pairs = pairs.filter((p) => p.key !== 'X-Amz-Signature')
  pairs.sort((a, b) =>
    a.key < b.key ? -1 : a.key > b.key ? 1 : a.value < b.value ? -1 : a.value > b.value ? 1 : 0,
  )
  return pairs.map((p) => `${p.key}=${p.value}`).join('&')
}

export function canonicalHeaderValue(value: string): string {
  return isCanonicalValue(value) ? value : value.trim().replace(/\s+/g, ' ')
}

/**
 * True when trimming and collapsing whitespace would change nothing: printable ASCII with single
 * inner spaces (what SDKs send). Anything else, including non-ASCII text that `\s` or trim() may
 * treat as whitespace, takes the general path.
 */
function isCanonicalValue(v: string): boolean {
  const last = v.length - 1
  for (let i = 0; i <= last; i++) {
    const c = v.charCodeAt(i)
    if (c > 0x20 && c < 0x7f) continue
    if (c !== 0x20 || i === 0 || i === last || v.charCodeAt(i - 1) === 0x20) return false
  }
  return true
}

/** `name:value\n` for each signed header, in the order given. A missing header signs as ''. */
export function canonicalHeaders(
  headers: Readonly<Record<string, string | undefined>>,
  signedHeaders: readonly string[],
): string {
  let out = ''
  for (const name of signedHeaders) {
    // Own headers only: SignedHeaders is the client's list, and `constructor` or `__proto__`
    // would otherwise read Object.prototype's members (and crash the trim below).
    const value = Object.hasOwn(headers, name) ? headers[name] : undefined
    out += `${name}:${value === undefined ? '' : canonicalHeaderValue(value)}\n`
  }
  return out
}

export interface CanonicalRequestInput {
  readonly method: string
  readonly rawPath: string
  readonly rawQuery: string
  readonly headers: Readonly<Record<string, string | undefined>>
  readonly signedHeaders: readonly string[]
  readonly payloadHash: string
  /** Presigned: X-Amz-Signature is left out of the canonical query. */
  readonly presigned: boolean
  /** true for non-S3 services (normalised, double-encoded path); false for S3. */
  readonly normalizePath: boolean
}

export function canonicalRequest(i: CanonicalRequestInput): string {
  return (
    i.method +
    '\n' +
    canonicalUri(i.rawPath, i.normalizePath) +
    '\n' +
    canonicalQuery(i.rawQuery, i.presigned) +
    '\n' +
    canonicalHeaders(i.headers, i.signedHeaders) +
    '\n' +
    signedHeadersList(i.signedHeaders) +
    '\n' +
    i.payloadHash
  )
}

// The parsed SignedHeaders arrays are shared and memoised (parse.ts): so is their joined form.
const joined = new WeakMap<readonly string[], string>()

function signedHeadersList(names: readonly string[]): string {
  let s = joined.get(names)
  if (s === undefined) {
    s = names.join(';')
    joined.set(names, s)
  }
  return s
}
