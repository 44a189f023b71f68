/**
 * Policy variables (`${aws:username}`, `${s3:prefix}`, `${aws:username, 'default'}`) and the
 * escapes `${*}` `${?}` `${$}`. Templates are parsed once at compile time into segments; the hot
 * path only looks variables up in the request's condition context. Variables exist only in
 * Version 2012-10-17 documents; in 2008-10-17 documents `${...}` is plain text (AWS does the same).
 * A variable missing from the context makes its resource/condition not match (AWS semantics).
 * @module
 */
import type { ConditionContext } from './types.js'

/** Request condition context: lower-cased key → values. */
export type Ctx = ConditionContext

/** `raw` text may contain wildcards; `lit` is literal (from an escape); `var` is looked up. */
export type TemplateSegment =
  | { readonly t: 'raw'; readonly s: string }
  | { readonly t: 'lit'; readonly s: string }
  | { readonly t: 'var'; readonly key: string; readonly def?: string }

const ESCAPES: ReadonlyMap<string, string> = new Map([
  ['*', '*'],
  ['?', '?'],
  ['$', '$'],
])

/** `${name}` or `${name, 'default'}`; name is a condition key (service:name[/tag]). */
const VAR_BODY = /^\s*([A-Za-z0-9_.-]+:[A-Za-z0-9_./:-]+)\s*(?:,\s*'([^']*)'\s*)?$/

/**
 * Split a policy string into segments. With `variables` false (Version 2008-10-17) the whole
 * string is one raw segment. Malformed `${...}` (no closing brace, unknown shape) stays raw text.
 */
export function parseTemplate(s: string, variables: boolean): readonly TemplateSegment[] {
  if (!variables || !s.includes('${')) return [{ t: 'raw', s }]
  const out: TemplateSegment[] = []
  let raw = ''
  let i = 0
  while (i < s.length) {
    const start = s.indexOf('${', i)
    if (start < 0) {
      raw += s.slice(i)
      break
    }
    const end = s.indexOf('}', start + 2)
    if (end < 0) {
      raw += s.slice(i)
      break
    }
    raw += s.slice(i, start)
    const body = s.slice(start + 2, end)
    const esc = ESCAPES.get(body)
    const m = esc === undefined ? VAR_BODY.exec(body) : null
    if (esc !== undefined) {
      if (raw) out.push({ t: 'raw', s: raw })
      raw = ''
      out.push({ t: 'lit', s: esc })
    } else if (m?.[1] !== undefined) {
      if (raw) out.push({ t: 'raw', s: raw })
      raw = ''
      const key = m[1].toLowerCase()
      out.push(m[2] === undefined ? { t: 'var', key } : { t: 'var', key, def: m[2] })
    } else {
      raw += s.slice(start, end + 1)
    }
    i = end + 1
  }
  if (raw) out.push({ t: 'raw', s: raw })
  return out
}

/** The value of a variable in the context, its default, or undefined when missing. */
export function lookupVariable(ctx: Ctx, key: string, def?: string): string | undefined {
  const v = ctx.get(key)
  if (v !== undefined && v.length > 0) return v[0]
  return def
}

/** Keys of the variables a template uses (for a "all present?" pre-check). */
export function templateVariables(segs: readonly TemplateSegment[]): string[] {
  const out: string[] = []
  for (const s of segs) if (s.t === 'var') out.push(s.key)
  return out
}

/** Substitute variables; undefined when one is missing. Wildcards in raw text are kept as text. */
export function renderTemplate(segs: readonly TemplateSegment[], ctx: Ctx): string | undefined {
  let out = ''
  for (const s of segs) {
    if (s.t === 'var') {
      const v = lookupVariable(ctx, s.key, s.def)
      if (v === undefined) return undefined
      out += v
    } else out += s.s
  }
  return out
}
