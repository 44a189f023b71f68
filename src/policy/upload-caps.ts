/**
 * Session tags and the upload caps they carry, pure (no I/O), shared by every issuance path (IAM
 * validates here, so STS AssumeRole and the console's credential builder get the same rules) and
 * by the S3 writers that enforce the caps.
 *
 * Why caps ride on session tags: the seeds' browser-upload flow calls AssumeRole with an
 * unmodified SDK, and `Tags` is the standard STS parameter it can already send. Four keys of the
 * reserved `latchkey:` namespace are caps (any other `latchkey:` key is refused, so a typo never
 * silently means "no cap"); keys match case-insensitively, as AWS tag keys do:
 * - `latchkey:max-bytes`: total bytes the session (with its chained sessions) may write;
 * - `latchkey:max-objects`: objects it may create;
 * - `latchkey:max-object-size`: bytes per object;
 * - `latchkey:content-types`: comma-separated media types, `type/*` and `*\/*` wildcards.
 * Numbers are plain decimal integers (no sign, no exponent, at most 15 digits).
 *
 * Role chaining (`tightenCaps`): a chained session keeps every cap of its caller and may only
 * tighten it: the smaller number wins, content types are intersected (wildcards resolve to the
 * more specific side); an intersection that allows nothing is refused, not stored.
 * @module
 */

export const CAP_KEYS = {
  maxBytes: 'latchkey:max-bytes',
  maxObjects: 'latchkey:max-objects',
  maxObjectSize: 'latchkey:max-object-size',
  contentTypes: 'latchkey:content-types',
} as const

export const RESERVED_TAG_PREFIX = 'latchkey:'
export const MAX_SESSION_TAGS = 50
export const MAX_TAG_KEY_LENGTH = 128
export const MAX_TAG_VALUE_LENGTH = 256
export const TAG_KEY_RE = /^[\p{L}\p{Z}\p{N}_.:/=+\-@]+$/u
export const TAG_VALUE_RE = /^[\p{L}\p{Z}\p{N}_.:/=+\-@]*$/u

/**
 * AWS's tag value characters, except for `latchkey:content-types`, whose list needs `,` and `*`
 * (the SDKs do not check the pattern; parseContentTypes checks that value strictly instead).
 */
export function tagValueCharsOk(key: string, value: string): boolean {
  return key.toLowerCase() === CAP_KEYS.contentTypes || TAG_VALUE_RE.test(value)
}

/** A session's effective upload caps (absent field: no cap of that kind). */
export interface UploadCaps {
  readonly maxBytes?: number
  readonly maxObjects?: number
  readonly maxObjectSize?: number
  /** Lower-cased `type/subtype`, `type/*` or `*\/*`. */
  readonly contentTypes?: readonly string[]
}

/** A bad tag or cap: the message names the tag (IAM turns it into invalid → STS ValidationError). */
export class TagError extends Error {
  override readonly name = 'TagError'
}

const DECIMAL_RE = /^\d{1,15}$/
const TOKEN = '[A-Za-z0-9!#$&^_.+-]+' // RFC 6838 restricted-name characters
const MEDIA_RANGE_RE = new RegExp(`^(?:\\*/\\*|${TOKEN}/\\*|${TOKEN}/${TOKEN})$`)

function parseCount(key: string, value: string): number {
  const v = value.trim()
  if (!DECIMAL_RE.test(v))
    throw new TagError(
      `The value of session tag '${key}' must be a decimal integer (0 to 999999999999999), got '${value.slice(0, 64)}'.`,
    )
  return Number(v)
}

/**
 * `latchkey:content-types`: comma-separated media ranges, lower-cased, duplicates dropped.
 * Parameters (`; charset=…`) are not allowed in the list: a cap names types, not encodings.
 */
export function parseContentTypes(value: string, key: string = CAP_KEYS.contentTypes): string[] {
  const out: string[] = []
  for (const part of value.split(',')) {
    const t = part.trim().toLowerCase()
    if (!MEDIA_RANGE_RE.test(t))
      throw new TagError(
        `The value of session tag '${key}' must be comma-separated media types such as image/png or image/*; '${part.trim().slice(0, 64)}' is not one.`,
      )
    if (!out.includes(t)) out.push(t)
  }
  return out
}

/** The media type of a Content-Type header value: `type/subtype`, lower-cased, no parameters. */
export function mediaTypeOf(contentType: string): string {
  const semi = contentType.indexOf(';')
  return (semi < 0 ? contentType : contentType.slice(0, semi)).trim().toLowerCase()
}

/** Whether one media range (`image/*`) covers a concrete media type or a narrower range. */
function covers(range: string, t: string): boolean {
  if (range === '*/*') return true
  if (range.endsWith('/*')) {
    const prefix = range.slice(0, -1) // 'image/'
    return t.startsWith(prefix)
  }
  return range === t
}

/** Whether `contentType` (a header value; parameters ignored) is allowed by `allowed`. */
export function contentTypeAllowed(allowed: readonly string[], contentType: string): boolean {
  const t = mediaTypeOf(contentType)
  if (!/^[^/\s*]+\/[^/\s*]+$/.test(t)) return false // no wildcard may pass as an object's type
  for (const r of allowed) if (covers(r, t)) return true
  return false
}

/** Types allowed by both lists (each pair resolves to its narrower side). */
export function intersectContentTypes(a: readonly string[], b: readonly string[]): string[] {
  const out: string[] = []
  const add = (t: string): void => {
    if (!out.includes(t)) out.push(t)
  }
  for (const x of a)
    for (const y of b) {
      if (covers(x, y)) add(y)
      else if (covers(y, x)) add(x)
    }
  // Drop entries already covered by a wider entry of the result.
  return out.filter((t) => !out.some((u) => u !== t && covers(u, t)))
}

/** Whether the caps limit anything. */
export function hasCaps(c: UploadCaps | undefined): c is UploadCaps {
  return (
    c !== undefined &&
    (c.maxBytes !== undefined ||
      c.maxObjects !== undefined ||
      c.maxObjectSize !== undefined ||
      c.contentTypes !== undefined)
  )
}

/**
 * Check a session tag set as STS does (count, key and value length and characters, keys unique
 * case-insensitively) and read the caps out of its reserved keys. Throws TagError naming the tag.
 */
export function parseSessionTags(tags: Readonly<Record<string, string>>): UploadCaps {
  const entries = Object.entries(tags)
  if (entries.length > MAX_SESSION_TAGS)
    throw new TagError(
      `At most ${MAX_SESSION_TAGS} session tags may be passed (got ${entries.length}).`,
    )
  const seen = new Set<string>()
  let caps: {
    maxBytes?: number
    maxObjects?: number
    maxObjectSize?: number
    contentTypes?: string[]
  } = {}
  for (const [key, value] of entries) {
    if (key.length < 1 || key.length > MAX_TAG_KEY_LENGTH)
      throw new TagError(`Session tag key '${key.slice(0, 64)}' must be 1 to 128 characters long.`)
    if (!TAG_KEY_RE.test(key))
      throw new TagError(
        `Session tag key '${key.slice(0, 64)}' may contain only letters, digits, spaces and _ . : / = + - @.`,
      )
    if (value.length > MAX_TAG_VALUE_LENGTH)
      throw new TagError(`The value of session tag '${key}' must be at most 256 characters long.`)
    if (!tagValueCharsOk(key, value))
      throw new TagError(
        `The value of session tag '${key}' may contain only letters, digits, spaces and _ . : / = + - @.`,
      )
    const lower = key.toLowerCase()
    if (seen.has(lower))
      throw new TagError(
        'Duplicate tag keys found. Please note that Tag keys are case insensitive.',
      )
    seen.add(lower)
    if (!lower.startsWith(RESERVED_TAG_PREFIX)) continue
    switch (lower) {
      case CAP_KEYS.maxBytes:
        caps = Object.assign({}, caps, { maxBytes: parseCount(key, value) })
        break
      case CAP_KEYS.maxObjects:
        caps = Object.assign({}, caps, { maxObjects: parseCount(key, value) })
        break
      case CAP_KEYS.maxObjectSize:
        caps = Object.assign({}, caps, { maxObjectSize: parseCount(key, value) })
        break
      case CAP_KEYS.contentTypes:
        caps = Object.assign({}, caps, { contentTypes: parseContentTypes(value, key) })
        break
      default:
        throw new TagError(
          `Session tag key '${key}' is in the reserved latchkey: namespace but is not one of ${Object.values(CAP_KEYS).join(', ')}.`,
        )
    }
  }
  return caps
}

function minOf(a: number | undefined, b: number | undefined): number | undefined {
  if (a === undefined) return b
  if (b === undefined) return a
  return Math.min(a, b)
}

/**
 * The caps of a chained session: its caller's, tightened by what it asked for. Never looser than
 * `inherited` in any respect; an empty content-type intersection is a TagError.
 */
export function tightenCaps(inherited: UploadCaps | undefined, asked: UploadCaps): UploadCaps {
  if (inherited === undefined) return asked
  const maxBytes = minOf(inherited.maxBytes, asked.maxBytes)
  const maxObjects = minOf(inherited.maxObjects, asked.maxObjects)
  const maxObjectSize = minOf(inherited.maxObjectSize, asked.maxObjectSize)
  let contentTypes = inherited.contentTypes ?? asked.contentTypes
  if (inherited.contentTypes !== undefined && asked.contentTypes !== undefined) {
    contentTypes = intersectContentTypes(inherited.contentTypes, asked.contentTypes)
    if (contentTypes.length === 0)
      throw new TagError(
        `The value of session tag '${CAP_KEYS.contentTypes}' (${asked.contentTypes.join(',')}) allows none of the calling session's content types (${inherited.contentTypes.join(',')}); a chained session can only narrow them.`,
      )
  }
  return Object.assign(
    maxBytes !== undefined ? { maxBytes } : {},
    maxObjects !== undefined ? { maxObjects } : {},
    maxObjectSize !== undefined ? { maxObjectSize } : {},
    contentTypes !== undefined ? { contentTypes } : {},
  )
}

/** The caps as session tags (their effective values), for aws:PrincipalTag/latchkey:*. */
export function capTags(c: UploadCaps): Record<string, string> {
  const out: Record<string, string> = {}
  if (c.maxBytes !== undefined) out[CAP_KEYS.maxBytes] = String(c.maxBytes)
  if (c.maxObjects !== undefined) out[CAP_KEYS.maxObjects] = String(c.maxObjects)
  if (c.maxObjectSize !== undefined) out[CAP_KEYS.maxObjectSize] = String(c.maxObjectSize)
  if (c.contentTypes !== undefined) out[CAP_KEYS.contentTypes] = c.contentTypes.join(',')
  return out
}
