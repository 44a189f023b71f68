import { describe, it, expect } from 'vitest'
import fc from 'fast-check'
import { InFlightShares } from './in-flight-shares.js'

describe('InFlightShares', () => {
  it('refuses a caller beyond its share and admits others', () => {
    const s = new InFlightShares({ perCaller: 2, perAccount: 3 })
    const a1 = s.enter('a', 'acct')
    const a2 = s.enter('a', 'acct')
    expect(typeof a1).toBe('function')
    expect(typeof a2).toBe('function')
    expect(s.enter('a', 'acct')).toBe('caller')
    const b1 = s.enter('b', 'acct')
    expect(typeof b1).toBe('function')
    expect(s.enter('c', 'acct')).toBe('account')
    expect(typeof s.enter('d', 'other')).toBe('function')
    if (typeof a1 === 'function') a1()
    expect(typeof s.enter('a', 'acct')).toBe('function')
  })

  it('releases once however often release is called, and forgets idle callers', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.constantFrom('x', 'y', 'z'), fc.boolean()), { maxLength: 60 }),
        (ops) => {
          const s = new InFlightShares({ perCaller: 3, perAccount: 5 })
          const held: (() => void)[] = []
          for (const [caller, release] of ops) {
            if (release && held.length > 0) {
              const r = held.shift() as () => void
              r()
              r()
            } else {
              const r = s.enter(caller, 'acct')
              if (typeof r === 'function') held.push(r)
            }
            const total = ['x', 'y', 'z'].reduce((n, c) => n + s.held(c), 0)
            expect(total).toBe(held.length)
            expect(total).toBeLessThanOrEqual(5)
          }
          for (const r of held) r()
          expect(['x', 'y', 'z'].map((c) => s.held(c))).toEqual([0, 0, 0])
        },
      ),
    )
  })
})
