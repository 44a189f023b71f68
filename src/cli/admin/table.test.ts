/** The admin CLI's tables and records: alignment, absent values, the empty list. */
import { describe, expect, it } from 'vitest'
import { cell, renderRecord, renderTable } from './table.js'

describe('renderTable', () => {
  const cols = [
    { header: 'NAME', get: (r: Record<string, unknown>) => r['name'] },
    { header: 'ACTIVE', get: (r: Record<string, unknown>) => r['active'] },
    { header: 'KEY', get: (r: Record<string, unknown>) => r['key'] },
  ]

  it('aligns columns under their headers, two spaces apart, no trailing spaces', () => {
    expect(
      renderTable(cols, [
        { name: 'alice', active: true, key: 'AKIA1' },
        { name: 'bo', active: false, key: null },
      ]),
    ).toEqual(['NAME   ACTIVE  KEY', 'alice  yes     AKIA1', 'bo     no      -'])
  })

  it('a value wider than its header widens the column', () => {
    expect(renderTable(cols.slice(0, 1), [{ name: 'a-very-long-name' }])).toEqual([
      'NAME',
      'a-very-long-name',
    ])
  })

  it('an empty list says so', () => {
    expect(renderTable(cols, [])).toEqual(['(none)'])
  })
})

describe('cell', () => {
  it.each([
    [null, '-'],
    [undefined, '-'],
    ['', '-'],
    [true, 'yes'],
    [false, 'no'],
    [42, '42'],
    ['two\nlines\there', 'two lines here'],
    [['a', 'b'], '["a","b"]'],
  ])('%j → %s', (v, s) => expect(cell(v)).toBe(s))
})

describe('renderRecord', () => {
  it('aligns the values after the longest key', () => {
    expect(
      renderRecord([
        ['id', 'u1'],
        ['access_key', null],
      ]),
    ).toEqual(['id:         u1', 'access_key: -'])
  })
})
