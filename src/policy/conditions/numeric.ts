/**
 * Numeric operators: NumericEquals, NumericNotEquals, NumericLessThan, NumericLessThanEquals,
 * NumericGreaterThan, NumericGreaterThanEquals. Policy values must be numbers (validated at
 * compile time); a request value that is not a number matches nothing.
 * @module
 */
import { orderedOperators } from './ordered.js'
import type { OperatorSpec } from './types.js'

const NUMBER = /^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/

/** Parse a request or policy number; NaN when it is not one. */
export function parseNumber(s: string): number {
  const t = s.trim()
  return NUMBER.test(t) ? Number(t) : Number.NaN
}

export const NUMERIC_OPERATORS: readonly OperatorSpec[] = orderedOperators({
  prefix: 'Numeric',
  parsePolicy: parseNumber,
  parseRequest: parseNumber,
  expected: 'a number',
})
