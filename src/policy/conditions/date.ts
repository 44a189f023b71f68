/**
 * Date operators: DateEquals, DateNotEquals, DateLessThan, DateLessThanEquals, DateGreaterThan,
 * DateGreaterThanEquals. Values are ISO 8601 dates/times or epoch seconds (as aws:EpochTime is);
 * compared as milliseconds since the epoch. Policy dates are parsed once at compile time.
 * @module
 */
import { orderedOperators } from './ordered.js'
import type { OperatorSpec } from './types.js'

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

export const DATE_OPERATORS: readonly OperatorSpec[] = orderedOperators({
  prefix: 'Date',
  parsePolicy: parseDate,
  parseRequest: parseDateCached,
  expected: 'a date (ISO 8601 or epoch seconds)',
})
