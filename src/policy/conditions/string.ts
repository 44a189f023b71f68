/**
 * String operators: StringEquals, StringNotEquals, StringEqualsIgnoreCase,
 * StringNotEqualsIgnoreCase, StringLike, StringNotLike. Values are case-sensitive except the
 * IgnoreCase forms; only the Like forms honour `*` and `?`; variables work in all of them.
 * @module
 */
import { compilePattern, EMPTY_CTX, type Matcher } from '../arn.js'
import { parseTemplate, renderTemplate } from '../variables.js'
import type { CompileInput, CompiledValues, OperatorSpec } from './types.js'

function anyOf(matchers: readonly Matcher[]): CompiledValues['test'] {
  if (matchers.length === 1) return matchers[0] as Matcher
  return (v, ctx) => {
    for (const m of matchers) if (m(v, ctx)) return true
    return false
  }
}

function compileExactOrLike(input: CompileInput, wildcards: boolean): CompiledValues {
  const vars: string[] = []
  const ms = input.values.map((s) => {
    const c = compilePattern(s, { wildcards, variables: input.variables })
    vars.push(...c.vars)
    return c.match
  })
  // exact values without variables: one Set lookup (escapes such as ${*} already resolved)
  if (!wildcards) {
    const segs = input.values.map((s) => parseTemplate(s, input.variables))
    if (!segs.some((ss) => ss.some((x) => x.t === 'var'))) {
      const set = new Set(segs.map((ss) => renderTemplate(ss, EMPTY_CTX)))
      return { test: (v) => set.has(v), vars }
    }
  }
  return { test: anyOf(ms), vars }
}

function compileIgnoreCase(input: CompileInput): CompiledValues {
  const segs = input.values.map((s) => parseTemplate(s, input.variables))
  const vars = segs.flatMap((ss) =>
    ss.flatMap((x) => (x.t === 'var' && x.def === undefined ? [x.key] : [])),
  )
  const hasVars = segs.some((ss) => ss.some((x) => x.t === 'var'))
  if (!hasVars) {
    const set = new Set(segs.map((ss) => renderTemplate(ss, EMPTY_CTX)?.toLowerCase()))
    return { test: (v) => set.has(v.toLowerCase()), vars }
  }
  return {
    test: (v, ctx) => {
      const lv = v.toLowerCase()
      for (const ss of segs) if (renderTemplate(ss, ctx)?.toLowerCase() === lv) return true
      return false
    },
    vars,
  }
}

const op = (name: string, negated: boolean, compile: OperatorSpec['compile']): OperatorSpec => ({
  name,
  negated,
  compile,
})

export const STRING_OPERATORS: readonly OperatorSpec[] = [
  op('StringEquals', false, (i) => compileExactOrLike(i, false)),
  op('StringNotEquals', true, (i) => compileExactOrLike(i, false)),
  op('StringEqualsIgnoreCase', false, compileIgnoreCase),
  op('StringNotEqualsIgnoreCase', true, compileIgnoreCase),
  op('StringLike', false, (i) => compileExactOrLike(i, true)),
  op('StringNotLike', true, (i) => compileExactOrLike(i, true)),
]
