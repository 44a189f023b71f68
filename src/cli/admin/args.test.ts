/** The admin CLI's argv parser: declared flags only, values both ways, positional counts. */
import { describe, expect, it } from 'vitest'
import { intFlag, parseArgs, UsageError } from './args.js'

describe('parseArgs', () => {
  const spec = { values: ['--role', '--limit'], flags: ['--all'], min: 1, max: 2 }

  it('reads positionals, --flag value, --flag=value, booleans and the global flags', () => {
    const p = parseArgs(['alice', '--role', 'Writer', '--limit=5', '--all', '--json', 'x'], spec)
    expect(p.positionals).toEqual(['alice', 'x'])
    expect([...p.values]).toEqual([
      ['--role', 'Writer'],
      ['--limit', '5'],
    ])
    expect([...p.flags].sort()).toEqual(['--all', '--json'])
    expect(parseArgs(['a', '--insecure'], spec).flags.has('--insecure')).toBe(true)
  })

  it('after -- everything is positional (a username that starts with --)', () => {
    expect(parseArgs(['--', '--odd'], spec).positionals).toEqual(['--odd'])
  })

  it.each([
    [['a', '--bogus'], 'unknown argument --bogus'],
    [['a', '--role'], '--role needs a value'],
    [['a', '--role='], '--role needs a value'],
    [['a', '--all=yes'], '--all takes no value'],
    [['a', '--role', 'R', '--role', 'W'], '--role given twice'],
    [[], 'missing argument'],
    [['a', 'b', 'c'], 'unexpected argument c'],
  ])('%j is a usage error: %s', (argv, message) => {
    expect(() => parseArgs(argv, spec)).toThrow(UsageError)
    expect(() => parseArgs(argv, spec)).toThrow(message)
  })

  it('needs N arguments names the count', () => {
    expect(() => parseArgs(['a'], { min: 2 })).toThrow('needs 2 arguments')
  })
})

describe('intFlag', () => {
  const p = (v: string) => parseArgs(['--limit', v], { values: ['--limit'] })
  it('accepts a whole number in range, and absent is undefined', () => {
    expect(intFlag(p('10'), '--limit', 1, 1000)).toBe(10)
    expect(intFlag(parseArgs([], {}), '--limit', 1, 1000)).toBeUndefined()
  })
  it.each(['0', '1001', '-1', '1.5', 'ten', '1e3'])('refuses %s', (v) => {
    expect(() => intFlag(p(v), '--limit', 1, 1000)).toThrow(/--limit must be a whole number/)
  })
})
