/**
 * Property tests of the object tag parser: keys that name Object.prototype members (`__proto__`,
 * `constructor`, ...) round-trip like any other key through every form (pairs, x-amz-tagging,
 * <Tagging> XML, rendering), and a repeated key is always the duplicate error.
 */
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { S3Error } from '../errors.js'
import { parseXml } from '../xml.js'
import { parseUserMetadata } from './headers.js'
import {
  MAX_TAGS,
  parseTaggingHeader,
  parseTaggingXml,
  renderTagging,
  validateTags,
  type TagSet,
} from './tags.js'

const PROTO_NAMES = [
  '__proto__',
  'constructor',
  'toString',
  'hasOwnProperty',
  'valueOf',
  'isPrototypeOf',
  '__defineGetter__',
  'propertyIsEnumerable',
]
const key = fc.oneof(
  fc.constantFrom(...PROTO_NAMES, 'a', 'Team', '0', '10', 'k:v', 'x y'),
  fc.stringMatching(/^[A-Za-z0-9_.:/=+@-]{1,12}$/),
)
const value = fc.constantFrom('', 'v', '__proto__', 'constructor', 'two words', '=+@')
const tagPairs = fc.uniqueArray(fc.tuple(key, value), {
  selector: ([k]) => k,
  maxLength: MAX_TAGS,
})

const sortedPairs = (pairs: readonly (readonly [string, string])[]): string[] =>
  pairs.map(([k, v]) => JSON.stringify([k, v])).sort()
const entriesOf = (tags: TagSet): string[] => sortedPairs(Object.entries(tags))

function xmlOf(pairs: readonly (readonly [string, string])[]): string {
  const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;')
  const tags = pairs
    .map(([k, v]) => `<Tag><Key>${esc(k)}</Key><Value>${esc(v)}</Value></Tag>`)
    .join('')
  return `<Tagging><TagSet>${tags}</TagSet></Tagging>`
}

function tagError(f: () => unknown): string {
  try {
    f()
  } catch (e) {
    if (e instanceof S3Error) return `${e.code}: ${e.message}`
    throw e
  }
  return 'OK'
}

describe('tag parser with prototype-named keys (property)', () => {
  it('every form round-trips every key, __proto__ included', () => {
    fc.assert(
      fc.property(tagPairs, (pairs) => {
        const want = sortedPairs(pairs)
        const fromPairs = validateTags(pairs)
        expect(entriesOf(fromPairs)).toEqual(want)
        const header = pairs
          .map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`)
          .join('&')
        expect(entriesOf(parseTaggingHeader(header) ?? {})).toEqual(want)
        expect(entriesOf(parseTaggingXml(parseXml(xmlOf(pairs))))).toEqual(want)
        expect(entriesOf(parseTaggingXml(parseXml(renderTagging(fromPairs))))).toEqual(want)
        // Only own keys: a lookup of an absent prototype name finds nothing.
        for (const n of PROTO_NAMES)
          expect(Object.hasOwn(fromPairs, n)).toBe(pairs.some(([k]) => k === n))
      }),
    )
  })

  it('a repeated key is InvalidTag (duplicate), whatever the key', () => {
    fc.assert(
      fc.property(
        tagPairs.filter((p) => p.length > 0 && p.length < MAX_TAGS),
        fc.nat(),
        value,
        (pairs, i, v) => {
          const [k] = pairs[i % pairs.length] as readonly [string, string]
          const dup = [...pairs, [k, v] as const]
          const want = 'InvalidTag: Cannot provide multiple Tags with the same key'
          expect(tagError(() => validateTags(dup))).toBe(want)
          expect(tagError(() => parseTaggingXml(parseXml(xmlOf(dup))))).toBe(want)
          const header = dup.map(
            ([a, b]) => `${encodeURIComponent(a)}=${b === '' ? '' : encodeURIComponent(b)}`,
          )
          expect(tagError(() => parseTaggingHeader(header.join('&')))).toBe(want)
        },
      ),
    )
  })
})

describe('user metadata with prototype-named keys', () => {
  it('x-amz-meta-__proto__ and friends are stored as own keys', () => {
    const headers: Record<string, string> = {}
    for (const n of PROTO_NAMES) headers[`x-amz-meta-${n.toLowerCase()}`] = `m-${n}`
    const meta = parseUserMetadata(headers)
    expect(Object.keys(meta).sort()).toEqual(PROTO_NAMES.map((n) => n.toLowerCase()).sort())
    expect(meta['__proto__']).toBe('m-__proto__')
    expect(JSON.parse(JSON.stringify(meta))).toEqual(
      Object.fromEntries(PROTO_NAMES.map((n) => [n.toLowerCase(), `m-${n}`])),
    )
  })
})
