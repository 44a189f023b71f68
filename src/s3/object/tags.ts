/**
 * Object tag sets: validation by S3's rules (at most 10 tags, key 1..128 and value 0..256
 * Unicode characters from S3's allowed set, unique keys, no `aws:` prefix), parsing of the
 * `x-amz-tagging` header (URL query form) and of the <Tagging> XML body, and rendering. Tag sets
 * are prototype-free records, so keys like `__proto__` and `constructor` are stored, returned and
 * checked for duplicates like any other key (AWS allows them).
 * @module
 */
import { decodePlusAsSpaceStrict } from '../../http/percent.js'
import { dict } from '../../lib/dict.js'
import { S3Error } from '../errors.js'
import { child, doc, el, list, text, wrap, type XmlNode } from '../xml.js'

export const MAX_TAGS = 10
const ALLOWED = /^[\p{L}\p{Z}\p{N}_.:/=+\-@]*$/u

export type TagSet = Readonly<Record<string, string>>

function invalid(message: string): S3Error {
  return new S3Error('InvalidTag', message)
}

/** Validate a list of [key, value] pairs and turn it into a tag set. */
export function validateTags(pairs: readonly (readonly [string, string])[]): TagSet {
  if (pairs.length > MAX_TAGS) throw invalid('Object tags cannot be greater than 10')
  const out = dict<string>() // a '__proto__' tag is a key like any other (lib/dict.ts)
  for (const [k, v] of pairs) {
    const klen = [...k].length
    if (klen < 1 || klen > 128) throw invalid('The TagKey you have provided is invalid')
    if ([...v].length > 256) throw invalid('The TagValue you have provided is invalid')
    if (!ALLOWED.test(k)) throw invalid('The TagKey you have provided is invalid')
    if (!ALLOWED.test(v)) throw invalid('The TagValue you have provided is invalid')
    if (k.toLowerCase().startsWith('aws:'))
      throw invalid('Your TagKey cannot be prefixed with aws:')
    if (Object.hasOwn(out, k)) throw invalid('Cannot provide multiple Tags with the same key')
    out[k] = v
  }
  return out
}

/** `x-amz-tagging: k1=v1&k2=v2` (URL-encoded); absent → undefined. */
export function parseTaggingHeader(value: string | undefined): TagSet | undefined {
  if (value === undefined) return undefined
  if (value === '') return {}
  const pairs: [string, string][] = []
  for (const part of value.split('&')) {
    if (part === '') continue
    const eq = part.indexOf('=')
    const k = decodeFormComponent(eq < 0 ? part : part.slice(0, eq))
    const v = decodeFormComponent(eq < 0 ? '' : part.slice(eq + 1))
    pairs.push([k, v])
  }
  return validateTags(pairs)
}

function decodeFormComponent(s: string): string {
  const decoded = decodePlusAsSpaceStrict(s)
  if (decoded === undefined) throw invalid('The header x-amz-tagging is not URL-encoded correctly')
  return decoded
}

/** Parse `<Tagging><TagSet><Tag><Key/><Value/></Tag>…</TagSet></Tagging>`. */
export function parseTaggingXml(root: XmlNode): TagSet {
  const tagging = root['Tagging']
  if (tagging === undefined) throw new S3Error('MalformedXML')
  const tagSet = child(tagging, 'TagSet')
  if (tagSet === undefined) throw new S3Error('MalformedXML')
  const pairs: [string, string][] = []
  for (const tag of list(child(tagSet, 'Tag'))) {
    const k = text(child(tag, 'Key'))
    const v = text(child(tag, 'Value')) ?? ''
    if (k === undefined) throw new S3Error('MalformedXML')
    pairs.push([k, v])
  }
  return validateTags(pairs)
}

export function renderTagging(tags: TagSet): string {
  let inner = ''
  for (const [k, v] of Object.entries(tags)) inner += wrap('Tag', el('Key', k) + el('Value', v))
  return doc('Tagging', wrap('TagSet', inner))
}

/** Policy condition keys describing a tag set (s3:RequestObjectTag/<k>, s3:RequestObjectTagKeys). */
export function requestTagContext(tags: TagSet | undefined): Record<string, string | string[]> {
  const ctx: Record<string, string | string[]> = {}
  if (tags === undefined) return ctx
  for (const [k, v] of Object.entries(tags)) ctx[`s3:RequestObjectTag/${k}`] = v
  ctx['s3:RequestObjectTagKeys'] = Object.keys(tags)
  return ctx
}

/** s3:ExistingObjectTag/<k> condition keys for an existing object's tags. */
export function existingTagContext(tags: TagSet): Record<string, string> {
  const ctx: Record<string, string> = {}
  for (const [k, v] of Object.entries(tags)) ctx[`s3:ExistingObjectTag/${k}`] = v
  return ctx
}
