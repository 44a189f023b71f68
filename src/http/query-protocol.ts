/**
 * STS request parameters. The query protocol sends them as a form body (POST) or in the query
 * string (GET); AWS merges both, so we read the body first and let the query fill in what the body
 * lacks. List members use the query protocol's `Name.member.N[.Field]` flattening.
 * @module
 */

import { crc32c } from '@node-rs/crc32'
import { Lru } from '../lib/lru.js'
import { ownString } from '../lib/own-string.js'
import { decodeFormValuePlusAsSpace } from './percent.js'

export type Params = ReadonlyMap<string, string>

/**
 * Form-decode (application/x-www-form-urlencoded); first value wins. A plain split and decode
 * rather than URLSearchParams: the same result at under half the cost on a 2 KB policy body
 * (AssumeRole is a hot path).
 */
function formDecode(text: string, into: Map<string, string>, bytes?: Buffer): void {
  if (text === '') return
  let from = 0
  while (from <= text.length) {
    let amp = text.indexOf('&', from)
    if (amp < 0) amp = text.length
    if (amp > from) {
      const eq = text.indexOf('=', from)
      const hasValue = eq >= 0 && eq < amp
      const k = decodeFormValuePlusAsSpace(text.slice(from, hasValue ? eq : amp))
      if (!into.has(k)) into.set(k, hasValue ? decodeValue(text, eq + 1, amp, bytes) : '')
    }
    from = amp + 1
  }
}

/**
 * Values at least this long (a session policy: 945 characters are ~1,700 on the wire) are looked
 * up among the recently decoded ones before they are decoded; shorter ones are decoded directly.
 */
const LONG_VALUE = 256
/** …and at most this long (a packed policy is at most 2,048 characters; 3 wire bytes each). */
const LONG_VALUE_MAX = 8192
/** Recently decoded long values, by CRC-32C of the value as sent. */
const decodedLong = new Lru<number, { readonly sent: string; readonly value: string }>(64)

/** `text[from, to)` decoded; `bytes`, when given, are text's own bytes, one per character. */
function decodeValue(text: string, from: number, to: number, bytes: Buffer | undefined): string {
  const sent = text.slice(from, to)
  if (sent.length < LONG_VALUE || sent.length > LONG_VALUE_MAX)
    return decodeFormValuePlusAsSpace(sent)
  // A script sends the same session policy call after call. Decoding it costs ~2 µs, and the
  // decoded text's first use as a Map key (the compiled-policy cache) ~1 µs more, since V8 hashes
  // a string ~1 ns per character and keeps the hash in the string. A recent value's decoded
  // string comes back as the very same string, hash and all. The CRC only picks the candidate;
  // the exact comparison decides, so a collision is a miss. The CRC is of the bytes as received
  // when they are at hand (the text would have to be encoded again).
  const key = crc32c(bytes !== undefined ? bytes.subarray(from, to) : sent)
  const hit = decodedLong.get(key)
  if (hit !== undefined && hit.sent === sent) return hit.value
  // Both kept with characters of their own: `sent` is a view of the whole request body, and so
  // is a value that had nothing to decode.
  const value = ownString(decodeFormValuePlusAsSpace(sent))
  decodedLong.set(key, { sent: ownString(sent), value })
  return value
}

/** Body parameters first, then query parameters for names the body did not carry. */
export function readParams(
  rawQuery: string,
  body: Buffer,
  contentType: string | undefined,
): Map<string, string> {
  const out = new Map<string, string>()
  if (body.length > 0 && isForm(contentType)) {
    const text = body.toString('utf8')
    // As many characters as bytes: one character per byte (a form body is ASCII), so offsets
    // agree. Were they ever off, the memo's CRC would only pick the wrong candidate: a miss.
    formDecode(text, out, text.length === body.length ? body : undefined)
  }
  formDecode(rawQuery, out)
  return out
}

const FORM_TYPE = 'application/x-www-form-urlencoded'

function isForm(contentType: string | undefined): boolean {
  if (contentType === undefined || contentType === '') return true
  // The SDKs' exact spelling first: no lower-cased copy of the header per request.
  return contentType.startsWith(FORM_TYPE) || contentType.toLowerCase().startsWith(FORM_TYPE)
}

/** `Prefix.member.1`, `Prefix.member.2`, … until the first gap. Also `Prefix.member.N.Field`. */
export function memberIndexes(params: Params, prefix: string): number[] {
  const head = `${prefix}.member.`
  // Most calls name no member (AssumeRole without tags or policy ARNs): nothing is allocated
  // for them beyond the head.
  let seen: Set<number> | undefined
  for (const k of params.keys()) {
    if (!k.startsWith(head)) continue
    seen ??= new Set<number>()
    const rest = k.slice(head.length)
    const dot = rest.indexOf('.')
    const n = Number(dot < 0 ? rest : rest.slice(0, dot))
    if (Number.isInteger(n) && n >= 1) seen.add(n)
  }
  return seen === undefined ? [] : [...seen].sort((a, b) => a - b)
}

/** Values of a simple list (`TransitiveTagKeys.member.N`). */
export function memberList(params: Params, prefix: string): string[] {
  return memberIndexes(params, prefix).map((n) => params.get(`${prefix}.member.${n}`) ?? '')
}

/** Structure lists (`Tags.member.N.Key` / `.Value`, `PolicyArns.member.N.arn`). */
export function memberStructs(
  params: Params,
  prefix: string,
  fields: readonly string[],
): Record<string, string | undefined>[] {
  return memberIndexes(params, prefix).map((n) => {
    const o: Record<string, string | undefined> = {}
    for (const f of fields) o[f] = params.get(`${prefix}.member.${n}.${f}`)
    return o
  })
}
