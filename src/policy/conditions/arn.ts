/**
 * ARN operators: ArnEquals, ArnLike, ArnNotEquals, ArnNotLike. As in AWS, Equals and Like both
 * accept wildcards and compare the six colon-separated components one by one; variables work.
 * @module
 */
import { compileArnPattern } from '../arn.js'
import { PolicyError } from '../types.js'
import type { CompileInput, CompiledValues, OperatorSpec } from './types.js'

function compileArns(input: CompileInput): CompiledValues {
  const vars: string[] = []
  const ms = input.values.map((s) => {
    if (s !== '*' && !/^arn:[^:]*:[^:]*:[^:]*:[^:]*:/.test(s)) {
      throw new PolicyError(`${input.where}: '${s}' is not an ARN`)
    }
    const c = compileArnPattern(s, input.variables)
    vars.push(...c.vars)
    return c.match
  })
  return {
    test: (v, ctx) => {
      for (const m of ms) if (m(v, ctx)) return true
      return false
    },
    vars,
  }
}

export const ARN_OPERATORS: readonly OperatorSpec[] = [
  { name: 'ArnEquals', negated: false, compile: compileArns },
  { name: 'ArnLike', negated: false, compile: compileArns },
  { name: 'ArnNotEquals', negated: true, compile: compileArns },
  { name: 'ArnNotLike', negated: true, compile: compileArns },
]
