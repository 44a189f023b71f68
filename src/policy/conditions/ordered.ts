/**
 * The six comparison operators shared by the Numeric and Date families: <Prefix>Equals,
 * <Prefix>NotEquals, <Prefix>LessThan, <Prefix>LessThanEquals, <Prefix>GreaterThan,
 * <Prefix>GreaterThanEquals. Policy values are parsed once at compile time (a value that does not
 * parse is a PolicyError); a request value that does not parse matches nothing.
 * @module
 */
import { PolicyError } from '../types.js'
import type { CompileInput, CompiledValues, OperatorSpec } from './types.js'

export interface OrderedFamily {
  readonly prefix: string
  /** Policy value → number (NaN when it is not one of this family). */
  readonly parsePolicy: (s: string) => number
  /** Request value → number (NaN when it is not one); may memoise. */
  readonly parseRequest: (s: string) => number
  /** What a valid value is, for the error message ("a number", "a date (ISO 8601 …)"). */
  readonly expected: string
}

type Cmp = (a: number, b: number) => boolean

function compileOrdered(f: OrderedFamily, input: CompileInput, cmp: Cmp): CompiledValues {
  const values = input.values.map((s) => {
    const n = f.parsePolicy(s)
    if (!Number.isFinite(n)) throw new PolicyError(`${input.where}: '${s}' is not ${f.expected}`)
    return n
  })
  return {
    test: (v) => {
      const x = f.parseRequest(v)
      if (Number.isNaN(x)) return false
      for (const n of values) if (cmp(x, n)) return true
      return false
    },
    vars: [],
  }
}

export function orderedOperators(f: OrderedFamily): readonly OperatorSpec[] {
  const op = (suffix: string, negated: boolean, cmp: Cmp): OperatorSpec => ({
    name: f.prefix + suffix,
    negated,
    compile: (i) => compileOrdered(f, i, cmp),
  })
  return [
    op('Equals', false, (a, b) => a === b),
    op('NotEquals', true, (a, b) => a === b),
    op('LessThan', false, (a, b) => a < b),
    op('LessThanEquals', false, (a, b) => a <= b),
    op('GreaterThan', false, (a, b) => a > b),
    op('GreaterThanEquals', false, (a, b) => a >= b),
  ]
}
