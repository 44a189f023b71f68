/**
 * Numeric operators: NumericEquals, NumericNotEquals, NumericLessThan, NumericLessThanEquals,
 * NumericGreaterThan, NumericGreaterThanEquals. Policy values must be numbers (validated at
 * compile time); a request value that is not a number matches nothing.
 * @module
 */
import { PolicyError } from '../types.js'
import type { CompileInput, CompiledValues, OperatorSpec } from './types.js'

const NUMBER = /^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/

/** Parse a request or policy number; NaN when it is not one. */
export function parseNumber(s: string): number {
  const t = s.trim()
  return NUMBER.test(t) ? Number(t) : Number.NaN
}

function compileNumbers(
  input: CompileInput,
  cmp: (a: number, b: number) => boolean,
): CompiledValues {
  const nums = input.values.map((s) => {
    const n = parseNumber(s)
    if (!Number.isFinite(n)) throw new PolicyError(`${input.where}: '${s}' is not a number`)
    return n
  })
  return {
    test: (v) => {
      const x = parseNumber(v)
      if (Number.isNaN(x)) return false
      for (const n of nums) if (cmp(x, n)) return true
      return false
    },
    vars: [],
  }
}

const op = (
  name: string,
  negated: boolean,
  cmp: (a: number, b: number) => boolean,
): OperatorSpec => ({
  name,
  negated,
  compile: (i) => compileNumbers(i, cmp),
})

export const NUMERIC_OPERATORS: readonly OperatorSpec[] = [
  op('NumericEquals', false, (a, b) => a === b),
  op('NumericNotEquals', true, (a, b) => a === b),
  op('NumericLessThan', false, (a, b) => a < b),
  op('NumericLessThanEquals', false, (a, b) => a <= b),
  op('NumericGreaterThan', false, (a, b) => a > b),
  op('NumericGreaterThanEquals', false, (a, b) => a >= b),
]
