/**
 * The console's JSON position finder (console/src/json-check.ts), without a browser: V8's
 * JSON.parse omits the position for some errors, so the console's own scanner must name the
 * line and column of the first bad character for every kind of syntax error, and accept every
 * document JSON.parse accepts.
 */
import { describe, expect, it } from 'vitest'
import { firstSyntaxError, lineColumn, parseJsonText } from '../../console/src/json-check.js'

describe('console JSON editor positions', () => {
  it.each([
    ['{\n  "a": [ }\n}', 2, 10],
    ['{"a": 1,}', 1, 9],
    ['{\n\n  "Version": 2012-10-17\n}', 3, 18],
    ['{"a" 1}', 1, 6],
    ['[1, 2', 1, 6],
    ['{"a": "x\ny"}', 1, 9],
    ['{"a": tru}', 1, 7],
    ['{} x', 1, 4],
    ['', 1, 1],
    ['{"a": "\\q"}', 1, 9],
  ])('%j fails at line %i column %i', (text, line, column) => {
    const r = parseJsonText(text)
    expect(r.ok).toBe(false)
    if (!r.ok) expect({ line: r.problem.line, column: r.problem.column }).toEqual({ line, column })
  })

  it.each([
    '{}',
    '[]',
    ' {"a": [1, -2.5e3, true, false, null, "\\u00e9\\n"], "b": {"c": ""}} ',
    '"just a string"',
    '0',
  ])('accepts %j like JSON.parse', (text) => {
    expect(firstSyntaxError(text)).toBeUndefined()
    expect(parseJsonText(text)).toEqual({ ok: true, value: JSON.parse(text) })
  })

  it('counts columns from 1 after each newline', () => {
    expect(lineColumn('ab\ncd', 0)).toEqual({ line: 1, column: 1 })
    expect(lineColumn('ab\ncd', 4)).toEqual({ line: 2, column: 2 })
  })
})
