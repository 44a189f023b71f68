/**
 * ARN parse/format and the wildcard matcher every part of the engine shares. Patterns are
 * compiled once into a few fast shapes (any / exact / prefix / general glob); the general glob is
 * an iterative matcher with one backtrack point per `*`, so matching never allocates and never
 * goes exponential (unlike a naive RegExp over user input). Variables are resolved from the
 * condition context while matching, and their values are always literal text.
 * @module
 */
import { lookupVariable, parseTemplate, type Ctx, type TemplateSegment } from './variables.js'

export interface Arn {
  readonly partition: string
  readonly service: string
  readonly region: string
  readonly account: string
  readonly resource: string
}

/** Split `arn:partition:service:region:account:resource` (the resource may contain colons). */
export function parseArn(s: string): Arn | undefined {
  if (!s.startsWith('arn:')) return undefined
  const parts: string[] = []
  let i = 4
  for (let n = 0; n < 4; n++) {
    const j = s.indexOf(':', i)
    if (j < 0) return undefined
    parts.push(s.slice(i, j))
    i = j + 1
  }
  const [partition = '', service = '', region = '', account = ''] = parts
  return { partition, service, region, account, resource: s.slice(i) }
}

export function formatArn(a: Arn): string {
  return `arn:${a.partition}:${a.service}:${a.region}:${a.account}:${a.resource}`
}

/** S3 resource ARN for a bucket or an object. */
export function s3Arn(bucket: string, key?: string): string {
  return key === undefined ? `arn:aws:s3:::${bucket}` : `arn:aws:s3:::${bucket}/${key}`
}

/** A compiled pattern element: literal text, `*`, `?`, or a variable resolved while matching. */
export const STAR = 0
export const QMARK = 1
export type GlobPart =
  string | typeof STAR | typeof QMARK | { readonly key: string; readonly def?: string | undefined }

export type Matcher = (value: string, ctx: Ctx) => boolean

export interface GlobOptions {
  /** Honour `*` and `?` in raw text (false for StringEquals-style exact comparison). */
  readonly wildcards: boolean
  /** Lower-case literal text (the caller lower-cases the value): actions, *IgnoreCase. */
  readonly lowerCase?: boolean
}

const STAR_CODE = 0x2a
const QMARK_CODE = 0x3f

/** Compile template segments into glob parts, merging adjacent literals. */
export function globParts(segs: readonly TemplateSegment[], o: GlobOptions): GlobPart[] {
  const out: GlobPart[] = []
  const pushLit = (s: string): void => {
    if (!s) return
    const text = o.lowerCase ? s.toLowerCase() : s
    const last = out[out.length - 1]
    if (typeof last === 'string') out[out.length - 1] = last + text
    else out.push(text)
  }
  for (const seg of segs) {
    if (seg.t === 'var') out.push({ key: seg.key, def: seg.def })
    else if (seg.t === 'lit' || !o.wildcards) pushLit(seg.s)
    else {
      // Literal runs are sliced between wildcards, not built a character at a time (policy
      // compilation is on AssumeRole's path: a new session policy per upload is common).
      const text = seg.s
      let from = 0
      for (let i = 0; i < text.length; i++) {
        const c = text.charCodeAt(i)
        if (c !== STAR_CODE && c !== QMARK_CODE) continue
        pushLit(text.slice(from, i))
        from = i + 1
        // `**` is the same as `*`
        if (c === STAR_CODE && out[out.length - 1] === STAR) continue
        out.push(c === STAR_CODE ? STAR : QMARK)
      }
      pushLit(text.slice(from))
    }
  }
  return out
}

/** Resolve a literal or variable part to text; undefined when the variable is missing. */
function partText(
  p: string | { readonly key: string; readonly def?: string | undefined },
  ctx: Ctx,
): string | undefined {
  return typeof p === 'string' ? p : lookupVariable(ctx, p.key, p.def)
}

/**
 * Glob match over parts: iterative, remembering only the last `*` (correct because a later `*`
 * can absorb anything an earlier one could). O(len(value) × len(pattern)) worst case.
 */
export function matchParts(parts: readonly GlobPart[], s: string, ctx: Ctx): boolean {
  let pi = 0
  let si = 0
  let starPi = -1
  let starSi = 0
  const n = parts.length
  for (;;) {
    if (pi < n) {
      const p = parts[pi] as GlobPart
      if (p === STAR) {
        if (pi === n - 1) return true // a trailing `*` takes the rest
        starPi = pi
        starSi = si
        pi++
        continue
      }
      if (p === QMARK) {
        if (si < s.length) {
          si++
          pi++
          continue
        }
      } else {
        const text = partText(p, ctx)
        if (text === undefined) return false
        if (s.startsWith(text, si)) {
          si += text.length
          pi++
          continue
        }
      }
    } else if (si === s.length) return true
    if (starPi < 0) return false
    starSi++
    if (starSi > s.length) return false
    si = starSi
    pi = starPi + 1
  }
}

const ALWAYS: Matcher = () => true

const EMPTY_ONLY: Matcher = (v) => v === ''

/**
 * Pick the fastest matcher for a pattern's shape. Each shape's closure is made in a function of
 * its own so it captures only what it needs (a closure made here would keep the whole `parts`
 * array alive: compiled policies are held per session).
 */
export function compileParts(parts: readonly GlobPart[]): Matcher {
  if (parts.length === 0) return EMPTY_ONLY
  if (parts.length === 1 && parts[0] === STAR) return ALWAYS
  const first = parts[0]
  if (parts.length === 1 && typeof first === 'string') return exactMatcher(first)
  if (parts.length === 2 && typeof first === 'string' && parts[1] === STAR) {
    return prefixMatcher(first)
  }
  return globMatcher(parts)
}

function exactMatcher(text: string): Matcher {
  return (v) => v === text
}

function prefixMatcher(prefix: string): Matcher {
  return (v) => v.startsWith(prefix)
}

function globMatcher(parts: readonly GlobPart[]): Matcher {
  return (v, ctx) => matchParts(parts, v, ctx)
}

/** Compile one pattern string (policy Resource, StringLike value, Action…) to a matcher. */
export function compilePattern(
  pattern: string,
  o: GlobOptions & { readonly variables: boolean },
): { match: Matcher; vars: readonly string[] } {
  const segs = parseTemplate(pattern, o.variables)
  const parts = globParts(segs, o)
  const vars: string[] = []
  for (const p of parts) if (typeof p === 'object' && p.def === undefined) vars.push(p.key)
  return { match: compileParts(parts), vars }
}

/** Wildcard match of a whole string, no variables (helpers and tests). */
export function wildcardMatch(pattern: string, value: string, ignoreCase = false): boolean {
  const parts = globParts([{ t: 'raw', s: pattern }], { wildcards: true, lowerCase: ignoreCase })
  return matchParts(parts, ignoreCase ? value.toLowerCase() : value, EMPTY_CTX)
}

export const EMPTY_CTX: Ctx = new Map()

/**
 * ArnLike/ArnEquals matching: each of the six components is matched on its own, so a `*` in
 * the service part can't swallow a colon (AWS: "each of the six colon-delimited components of
 * the ARN is checked separately").
 */
export function compileArnPattern(
  pattern: string,
  variables: boolean,
): { match: Matcher; vars: readonly string[] } {
  if (pattern === '*') return { match: ALWAYS, vars: [] }
  const a = parseArn(pattern)
  if (!a) return { match: () => false, vars: [] }
  const comps = [a.partition, a.service, a.region, a.account, a.resource].map((c) =>
    compilePattern(c, { wildcards: true, variables }),
  )
  const [p0, p1, p2, p3, p4] = comps.map((c) => c.match) as [
    Matcher,
    Matcher,
    Matcher,
    Matcher,
    Matcher,
  ]
  const vars = comps.flatMap((c) => c.vars)
  return {
    match: (v, ctx) => {
      const b = parseArn(v)
      return (
        b !== undefined &&
        p0(b.partition, ctx) &&
        p1(b.service, ctx) &&
        p2(b.region, ctx) &&
        p3(b.account, ctx) &&
        p4(b.resource, ctx)
      )
    },
    vars,
  }
}
