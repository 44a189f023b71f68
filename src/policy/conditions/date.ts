/**
 * Date operators: DateEquals, DateNotEquals, DateLessThan, DateLessThanEquals, DateGreaterThan,
 * DateGreaterThanEquals. Values are ISO 8601 dates/times or epoch seconds (as aws:EpochTime is);
 * compared as milliseconds since the epoch. Policy dates are parsed once at compile time.
 * @module
 */
import { PolicyError } from '../types.js'
import type { CompileInput, CompiledValues, OperatorSpec } from './types.js'

const EPOCH = /^\d{1,12}$/
const ISO = /^\d{4}-\d{2}-\d{2}([Tt ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?([Zz]|[+-]\d{2}:?\d{2})?)?$/

/** Milliseconds since the epoch, or NaN. */
export function parseDate(s: string): number {
  const t = s.trim()
  if (EPOCH.test(t)) return Number(t) * 1000
  if (!ISO.test(t)) return Number.NaN
  return Date.parse(t)
}

// One-entry memo: the same aws:CurrentTime string is tested by many statements of a request.
let lastText = ''
let lastValue = Number.NaN

function parseDateCached(s: string): number {
  if (s !== lastText) {
    lastValue = parseDate(s)
    lastText = s
  }
  return lastValue
}

function compileDates(input: CompileInput, cmp: (a: number, b: number) => boolean): CompiledValues {
  const dates = input.values.map((s) => {
    const d = parseDate(s)
    if (Number.isNaN(d))
      throw new PolicyError(`${input.where}: '${s}' is not a date (ISO 8601 or epoch seconds)`)
    return d
  })
  return {
    test: (v) => {
      const x = parseDateCached(v)
      if (Number.isNaN(x)) return false
      for (const d of dates) if (cmp(x, d)) return true
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
  compile: (i) => compileDates(i, cmp),
})

export const DATE_OPERATORS: readonly OperatorSpec[] = [
  op('DateEquals', false, (a, b) => a === b),
  op('DateNotEquals', true, (a, b) => a === b),
  op('DateLessThan', false, (a, b) => a < b),
  op('DateLessThanEquals', false, (a, b) => a <= b),
  op('DateGreaterThan', false, (a, b) => a > b),
  op('DateGreaterThanEquals', false, (a, b) => a >= b),
]
