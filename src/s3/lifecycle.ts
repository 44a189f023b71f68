/**
 * Bucket lifecycle: the rule model, PutBucketLifecycleConfiguration's validation, the stored form
 * (canonical JSON, so neither the pipeline's cache nor the worker re-parses XML), the XML
 * GetBucketLifecycleConfiguration returns, and the pure questions the rest asks: does a rule
 * apply to an object, when does it expire (the `x-amz-expiration` header and the worker), when
 * is an incomplete multipart upload due for abort.
 *
 * Supported, as AWS has them (docs.aws.amazon.com/AmazonS3/latest/API/API_LifecycleRule.html):
 * `Expiration` (Days or Date; ExpiredObjectDeleteMarker is accepted and has nothing to act on,
 * since buckets are unversioned), `AbortIncompleteMultipartUpload` (DaysAfterInitiation), rule
 * `ID` and `Status`, filtered by the legacy rule-level `Prefix` or a `Filter` holding one of
 * `Prefix`, `Tag`, `ObjectSizeGreaterThan`, `ObjectSizeLessThan`, `And`. Transitions and the
 * noncurrent-version actions need storage classes and versions Latchkey does not have: they are
 * NotImplemented, never a silent success.
 *
 * Time: AWS adds the rule's days to the object's creation time and rounds up to the next midnight
 * UTC (an object written 10:30 on the 15th with Days=3 expires at 00:00 on the 19th). Here a "day"
 * is `dayMs`, 86,400,000 unless the operator shortens it for tests (--lifecycle-day-seconds); the
 * same rounding applies to the shortened day (the next multiple of dayMs since the epoch).
 * @module
 */
import { createHash } from 'node:crypto'
import { dict } from '../lib/dict.js'
import { S3Error } from './errors.js'
import { doc, el as xmlEl, list, parseXml, wrap, type XmlNode, type XmlValue } from './xml.js'

export const DAY_MS = 24 * 60 * 60 * 1000
export const MAX_LIFECYCLE_RULES = 1000
/** 1000 rules of a few hundred bytes each. */
export const MAX_LIFECYCLE_BYTES = 1024 * 1024

export interface LifecycleTag {
  readonly key: string
  readonly value: string
}

/**
 * Which objects a rule applies to, and how the request wrote it (so GET answers in the same
 * shape): `legacy` = the rule-level <Prefix>; `filter` = <Filter> with at most one predicate;
 * `and` = <Filter><And>…</And></Filter>.
 */
export interface LifecycleFilter {
  readonly form: 'legacy' | 'filter' | 'and'
  readonly prefix?: string
  readonly tags: readonly LifecycleTag[]
  readonly sizeGreaterThan?: number
  readonly sizeLessThan?: number
}

export type LifecycleExpiration =
  | { readonly days: number }
  /** ms since epoch, at midnight UTC */
  | { readonly date: number }
  | { readonly expiredObjectDeleteMarker: boolean }

export interface LifecycleRule {
  readonly id: string
  readonly enabled: boolean
  readonly filter: LifecycleFilter
  readonly expiration?: LifecycleExpiration
  readonly abortIncompleteAfterDays?: number
}

/** What a rule needs to know of an object. */
export interface LifecycleObject {
  readonly key: string
  readonly size: number
  readonly lastModified: number
  readonly tags: Readonly<Record<string, string>>
}

/** xml.ts's el, with carriage returns as character references so they survive a re-parse. */
function el(name: string, value: string | number | boolean | undefined): string {
  return xmlEl(name, value).replace(/\r/g, '&#13;')
}

const malformed = (): S3Error => new S3Error('MalformedXML')
const invalid = (message: string): S3Error => new S3Error('InvalidArgument', message)

/**
 * An element's children, checked against the allowed names. Whitespace between elements (a
 * pretty-printed document) is ignored; any other text inside a container is malformed.
 */
function fields(v: XmlValue | undefined, allowed: readonly string[]): XmlNode {
  if (typeof v === 'string') {
    if (v.trim() !== '') throw malformed()
    return {}
  }
  if (v === undefined || Array.isArray(v)) throw malformed()
  const n = v as XmlNode
  for (const k of Object.keys(n)) {
    if (k === '#text') {
      const t = n[k]
      if (typeof t !== 'string' || t.trim() !== '') throw malformed()
    } else if (!allowed.includes(k)) {
      throw malformed()
    }
  }
  return n
}

/** The text of a leaf element that may appear at most once; undefined when absent. */
function leaf(n: XmlNode, name: string): string | undefined {
  const v = n[name]
  if (v === undefined) return undefined
  if (Array.isArray(v)) throw malformed()
  if (typeof v === 'string') return v
  // <Prefix/> parses as '' ; anything with children is not a leaf.
  if (Object.keys(v as XmlNode).length === 0) return ''
  throw malformed()
}

function once(n: XmlNode, name: string): XmlValue | undefined {
  const v = n[name]
  if (Array.isArray(v)) {
    if (v.length !== 1) throw malformed()
    return v[0] as XmlValue
  }
  return v
}

/** A non-negative decimal integer no larger than `max`; MalformedXML otherwise. */
function integer(s: string, max = Number.MAX_SAFE_INTEGER): number {
  const t = s.trim()
  if (!/^-?\d{1,16}$/.test(t)) throw malformed()
  const n = Number(t)
  if (n > max) throw malformed()
  return n
}

function positiveDays(s: string, what: string): number {
  const n = integer(s, 2_147_483_647)
  if (n <= 0) throw invalid(`'${what}' must be a positive integer`)
  return n
}

function size(s: string): number {
  const n = integer(s)
  if (n < 0) throw invalid('Object size filters must be non-negative integers')
  return n
}

function parseTag(v: XmlValue): LifecycleTag {
  const n = fields(v, ['Key', 'Value'])
  const key = leaf(n, 'Key')
  if (key === undefined) throw malformed()
  if ([...key].length < 1 || [...key].length > 128)
    throw new S3Error('InvalidTag', 'The TagKey you have provided is invalid')
  const value = leaf(n, 'Value') ?? ''
  if ([...value].length > 256)
    throw new S3Error('InvalidTag', 'The TagValue you have provided is invalid')
  return { key, value }
}

function uniqueTags(tags: readonly LifecycleTag[]): readonly LifecycleTag[] {
  const seen = new Set<string>()
  for (const t of tags) {
    if (seen.has(t.key)) throw invalid('Duplicate Tag Keys are not allowed.')
    seen.add(t.key)
  }
  return tags
}

const PREDICATES = ['Prefix', 'Tag', 'ObjectSizeGreaterThan', 'ObjectSizeLessThan'] as const

function predicates(
  n: XmlNode,
  form: 'filter' | 'and',
): Omit<LifecycleFilter, 'form'> & { count: number } {
  const prefix = leaf(n, 'Prefix')
  const tags = uniqueTags(list(n['Tag']).map(parseTag))
  const gt = leaf(n, 'ObjectSizeGreaterThan')
  const lt = leaf(n, 'ObjectSizeLessThan')
  const sizeGreaterThan = gt === undefined ? undefined : size(gt)
  const sizeLessThan = lt === undefined ? undefined : size(lt)
  if (
    sizeGreaterThan !== undefined &&
    sizeLessThan !== undefined &&
    sizeGreaterThan >= sizeLessThan
  )
    throw invalid('ObjectSizeGreaterThan must be less than ObjectSizeLessThan')
  const count =
    (prefix === undefined ? 0 : 1) +
    tags.length +
    (sizeGreaterThan === undefined ? 0 : 1) +
    (sizeLessThan === undefined ? 0 : 1)
  if (form === 'and' && count === 0) throw malformed()
  return Object.assign(prefix !== undefined ? { prefix } : {}, {
    tags,
    ...(sizeGreaterThan !== undefined ? { sizeGreaterThan } : {}),
    ...(sizeLessThan !== undefined ? { sizeLessThan } : {}),
    count,
  })
}

function parseFilter(v: XmlValue): LifecycleFilter {
  const n = fields(v, [...PREDICATES, 'And'])
  const and = once(n, 'And')
  if (and !== undefined) {
    if (Object.keys(n).some((k) => k !== 'And' && k !== '#text')) throw malformed()
    const { count: _count, ...p } = predicates(fields(and, PREDICATES), 'and')
    return { form: 'and', ...p }
  }
  // A Filter holds exactly one predicate, or none (the whole bucket).
  const { count, ...p } = predicates(n, 'filter')
  if (count > 1) throw malformed()
  return { form: 'filter', ...p }
}

function parseDate(s: string): number {
  const t = s.trim()
  // ISO 8601: a date, or a date and time with an optional offset.
  if (!/^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})?)?$/.test(t))
    throw malformed()
  const ms = Date.parse(/T/.test(t) && !/(Z|[+-]\d{2}:?\d{2})$/.test(t) ? `${t}Z` : t)
  if (!Number.isFinite(ms)) throw malformed()
  if (ms % DAY_MS !== 0) throw invalid("'Date' must be at midnight GMT")
  return ms
}

function parseExpiration(v: XmlValue): LifecycleExpiration {
  const n = fields(v, ['Days', 'Date', 'ExpiredObjectDeleteMarker'])
  const days = leaf(n, 'Days')
  const date = leaf(n, 'Date')
  const marker = leaf(n, 'ExpiredObjectDeleteMarker')
  const given = [days, date, marker].filter((x) => x !== undefined).length
  if (given !== 1) throw malformed()
  if (days !== undefined) return { days: positiveDays(days, 'Days') }
  if (date !== undefined) return { date: parseDate(date) }
  const m = (marker ?? '').trim()
  if (m !== 'true' && m !== 'false') throw malformed()
  return { expiredObjectDeleteMarker: m === 'true' }
}

const RULE_FIELDS = [
  'ID',
  'Status',
  'Prefix',
  'Filter',
  'Expiration',
  'AbortIncompleteMultipartUpload',
  'Transition',
  'NoncurrentVersionTransition',
  'NoncurrentVersionExpiration',
]

/** A rule without an ID gets one derived from its content and position (stable across retries). */
function derivedId(n: XmlNode, index: number): string {
  return createHash('sha256')
    .update(`${index}\n${JSON.stringify(n)}`)
    .digest('base64')
    .replace(/[^A-Za-z0-9]/g, '')
    .slice(0, 32)
}

function parseRule(v: XmlValue, index: number): LifecycleRule {
  const n = fields(v, RULE_FIELDS)
  for (const k of ['Transition', 'NoncurrentVersionTransition', 'NoncurrentVersionExpiration'])
    if (n[k] !== undefined)
      throw new S3Error('NotImplemented', `Lifecycle ${k} actions are not implemented.`)
  const given = leaf(n, 'ID')
  if (given !== undefined && [...given].length > 255)
    throw invalid('ID length should not exceed allowed limit of 255')
  const id = given === undefined || given === '' ? derivedId(n, index) : given
  const status = leaf(n, 'Status')
  if (status === undefined || (status.trim() !== 'Enabled' && status.trim() !== 'Disabled'))
    throw malformed()
  // Filter is required unless the rule carries the legacy Prefix; never both.
  const legacy = leaf(n, 'Prefix')
  const f = once(n, 'Filter')
  if ((legacy === undefined) === (f === undefined)) throw malformed()
  const filter: LifecycleFilter =
    f !== undefined ? parseFilter(f) : { form: 'legacy', prefix: legacy ?? '', tags: [] }
  const e = once(n, 'Expiration')
  const expiration = e === undefined ? undefined : parseExpiration(e)
  const a = once(n, 'AbortIncompleteMultipartUpload')
  let abortIncompleteAfterDays: number | undefined
  if (a !== undefined) {
    const d = leaf(fields(a, ['DaysAfterInitiation']), 'DaysAfterInitiation')
    if (d === undefined) throw malformed()
    abortIncompleteAfterDays = positiveDays(d, 'DaysAfterInitiation')
  }
  if (expiration === undefined && abortIncompleteAfterDays === undefined)
    throw invalid('At least one action needs to be specified in a rule')
  if (abortIncompleteAfterDays !== undefined && filter.tags.length > 0)
    throw invalid('AbortIncompleteMultipartUpload cannot be specified with Tags.')
  if (
    abortIncompleteAfterDays !== undefined &&
    (filter.sizeGreaterThan !== undefined || filter.sizeLessThan !== undefined)
  )
    throw invalid('AbortIncompleteMultipartUpload cannot be specified with object size filters.')
  if (
    expiration !== undefined &&
    'expiredObjectDeleteMarker' in expiration &&
    filter.tags.length > 0
  )
    throw invalid('ExpiredObjectDeleteMarker cannot be specified with object tags.')
  return {
    id,
    enabled: status.trim() === 'Enabled',
    filter,
    ...(expiration !== undefined ? { expiration } : {}),
    ...(abortIncompleteAfterDays !== undefined ? { abortIncompleteAfterDays } : {}),
  }
}

/**
 * Parse and validate a PutBucketLifecycleConfiguration body. Throws S3Error only: MalformedXML
 * (shape), InvalidArgument (a rule S3 refuses), InvalidTag, NotImplemented (transitions,
 * noncurrent-version actions).
 */
export function parseLifecycleXml(xml: string): LifecycleRule[] {
  const root = parseXml(xml)
  if (root['LifecycleConfiguration'] === undefined) throw malformed()
  const config = fields(root['LifecycleConfiguration'], ['Rule'])
  const rules = list(config['Rule']).map(parseRule)
  if (rules.length === 0) throw malformed()
  if (rules.length > MAX_LIFECYCLE_RULES)
    throw invalid(`The number of lifecycle rules must not exceed ${MAX_LIFECYCLE_RULES}`)
  const ids = new Set<string>()
  for (const r of rules) {
    if (ids.has(r.id)) throw invalid('Rule ID must be unique. Found same ID for more than one rule')
    ids.add(r.id)
  }
  return rules
}

/** Canonical stored form. */
export function serializeLifecycle(rules: readonly LifecycleRule[]): string {
  return JSON.stringify(rules)
}

function bad(): Error {
  return new Error('bad stored lifecycle configuration')
}

function optNumber(o: Record<string, unknown>, k: string): number | undefined {
  const v = o[k]
  if (v === undefined) return undefined
  if (typeof v !== 'number' || !Number.isSafeInteger(v)) throw bad()
  return v
}

function record(v: unknown): Record<string, unknown> {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) throw bad()
  return v as Record<string, unknown>
}

/** Parse what serializeLifecycle stored (throws on corruption; the caller logs it). */
export function parseStoredLifecycle(stored: string): LifecycleRule[] {
  const raw: unknown = JSON.parse(stored)
  if (!Array.isArray(raw)) throw bad()
  return (raw as unknown[]).map((r) => {
    const o = record(r)
    const f = record(o['filter'])
    const form = f['form']
    if (form !== 'legacy' && form !== 'filter' && form !== 'and') throw bad()
    const tagsRaw = f['tags']
    if (!Array.isArray(tagsRaw)) throw bad()
    const tags = (tagsRaw as unknown[]).map((t) => {
      const tr = record(t)
      const key = tr['key']
      const value = tr['value']
      if (typeof key !== 'string' || typeof value !== 'string') throw bad()
      return { key, value }
    })
    const prefix = f['prefix']
    if (prefix !== undefined && typeof prefix !== 'string') throw bad()
    const gt = optNumber(f, 'sizeGreaterThan')
    const lt = optNumber(f, 'sizeLessThan')
    const filter: LifecycleFilter = {
      form,
      ...(prefix !== undefined ? { prefix } : {}),
      tags,
      ...(gt !== undefined ? { sizeGreaterThan: gt } : {}),
      ...(lt !== undefined ? { sizeLessThan: lt } : {}),
    }
    let expiration: LifecycleExpiration | undefined
    if (o['expiration'] !== undefined) {
      const e = record(o['expiration'])
      const days = optNumber(e, 'days')
      const date = optNumber(e, 'date')
      const marker = e['expiredObjectDeleteMarker']
      if (days !== undefined) expiration = { days }
      else if (date !== undefined) expiration = { date }
      else if (typeof marker === 'boolean') expiration = { expiredObjectDeleteMarker: marker }
      else throw bad()
    }
    const id = o['id']
    const enabled = o['enabled']
    if (typeof id !== 'string' || typeof enabled !== 'boolean') throw bad()
    const abort = optNumber(o, 'abortIncompleteAfterDays')
    return {
      id,
      enabled,
      filter,
      ...(expiration !== undefined ? { expiration } : {}),
      ...(abort !== undefined ? { abortIncompleteAfterDays: abort } : {}),
    }
  })
}

function renderPredicates(f: LifecycleFilter): string {
  return (
    (f.prefix !== undefined ? el('Prefix', f.prefix) : '') +
    f.tags.map((t) => wrap('Tag', el('Key', t.key) + el('Value', t.value))).join('') +
    el('ObjectSizeGreaterThan', f.sizeGreaterThan) +
    el('ObjectSizeLessThan', f.sizeLessThan)
  )
}

function renderFilter(f: LifecycleFilter): string {
  if (f.form === 'legacy') return el('Prefix', f.prefix ?? '')
  if (f.form === 'and') return wrap('Filter', wrap('And', renderPredicates(f)))
  return wrap('Filter', renderPredicates(f))
}

function renderExpiration(e: LifecycleExpiration): string {
  if ('days' in e) return wrap('Expiration', el('Days', e.days))
  if ('date' in e) return wrap('Expiration', el('Date', new Date(e.date).toISOString()))
  return wrap('Expiration', el('ExpiredObjectDeleteMarker', e.expiredObjectDeleteMarker))
}

/** GetBucketLifecycleConfiguration's document. */
export function renderLifecycleXml(rules: readonly LifecycleRule[]): string {
  const body = rules
    .map((r) =>
      wrap(
        'Rule',
        (r.expiration !== undefined ? renderExpiration(r.expiration) : '') +
          el('ID', r.id) +
          renderFilter(r.filter) +
          el('Status', r.enabled ? 'Enabled' : 'Disabled') +
          (r.abortIncompleteAfterDays !== undefined
            ? wrap(
                'AbortIncompleteMultipartUpload',
                el('DaysAfterInitiation', r.abortIncompleteAfterDays),
              )
            : ''),
      ),
    )
    .join('')
  return doc('LifecycleConfiguration', body)
}

/** The key prefix a rule's objects share ('' = the whole bucket): where the worker lists. */
export function rulePrefix(r: LifecycleRule): string {
  return r.filter.prefix ?? ''
}

/** Whether rule `r`'s filter selects object `o` (Status is not considered). */
export function ruleMatches(r: LifecycleRule, o: LifecycleObject): boolean {
  const f = r.filter
  if (f.prefix !== undefined && !o.key.startsWith(f.prefix)) return false
  if (f.sizeGreaterThan !== undefined && !(o.size > f.sizeGreaterThan)) return false
  if (f.sizeLessThan !== undefined && !(o.size < f.sizeLessThan)) return false
  const tags = o.tags
  return f.tags.every((t) => Object.hasOwn(tags, t.key) && tags[t.key] === t.value)
}

/** The last instant a JavaScript Date can hold (ms): a later expiry is never. */
const LAST_DATE_MS = 8.64e15

/**
 * `at + days` lifecycle days, rounded up to the next "midnight" (a multiple of dayMs); undefined
 * when that lies past any representable date (Days near 2^31 on a real day).
 */
export function afterDays(at: number, days: number, dayMs: number): number | undefined {
  const t = (Math.floor((at + days * dayMs) / dayMs) + 1) * dayMs
  return Number.isSafeInteger(t) && t <= LAST_DATE_MS ? t : undefined
}

/**
 * When rule `r` expires object `o` (ms since epoch), or undefined when it does not: a disabled
 * rule, no Days/Date expiration, or a filter that does not select the object.
 */
export function ruleExpiry(
  r: LifecycleRule,
  o: LifecycleObject,
  dayMs: number,
): number | undefined {
  const e = r.expiration
  if (!r.enabled || e === undefined || !ruleMatches(r, o)) return undefined
  if ('days' in e) return afterDays(o.lastModified, e.days, dayMs)
  if ('date' in e) return e.date
  return undefined
}

/** The earliest expiry any rule gives `o`, with that rule's ID (x-amz-expiration). */
export function objectExpiry(
  rules: readonly LifecycleRule[],
  o: LifecycleObject,
  dayMs: number,
): { readonly at: number; readonly ruleId: string } | undefined {
  let best: { at: number; ruleId: string } | undefined
  for (const r of rules) {
    const at = ruleExpiry(r, o, dayMs)
    if (at !== undefined && (best === undefined || at < best.at)) best = { at, ruleId: r.id }
  }
  return best
}

/**
 * The `x-amz-expiration` header value AWS sends on GET/HEAD/PUT when a rule expires the object.
 * A rule ID is any text, a header value is not: quotes and backslashes are escaped, and what a
 * header cannot carry (controls, non-ASCII) is percent-encoded.
 */
export function expirationHeader(at: number, ruleId: string): string {
  const id = ruleId.replace(/["\\]/g, '\\$&').replace(/[^\x20-\x7e]/gu, (c) => {
    try {
      return encodeURIComponent(c)
    } catch {
      return '%EF%BF%BD' // a lone surrogate: U+FFFD
    }
  })
  return `expiry-date="${new Date(at).toUTCString()}", rule-id="${id}"`
}

/** When rule `r` aborts an upload of `key` initiated at `initiatedAt`, or undefined. */
export function uploadAbortAt(
  r: LifecycleRule,
  key: string,
  initiatedAt: number,
  dayMs: number,
): number | undefined {
  if (!r.enabled || r.abortIncompleteAfterDays === undefined) return undefined
  if (!key.startsWith(rulePrefix(r))) return undefined
  return afterDays(initiatedAt, r.abortIncompleteAfterDays, dayMs)
}

/** Object tags as a prototype-free record (for callers building LifecycleObjects by hand). */
export function tagRecord(tags: readonly LifecycleTag[]): Record<string, string> {
  const out = dict<string>()
  for (const t of tags) out[t.key] = t.value
  return out
}
