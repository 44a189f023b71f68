/** Lru: bounded, evicts the least recently used, keeps entries that stay in use. */
import { describe, expect, it } from 'vitest'
import fc from 'fast-check'
import { Lru } from './lru.js'

describe('Lru', () => {
  it('never holds more than max entries and evicts the oldest first', () => {
    const lru = new Lru<number, string>(3)
    for (let i = 0; i < 10; i++) lru.set(i, `v${String(i)}`)
    expect(lru.size).toBe(3)
    expect([...lru.values()]).toEqual(['v7', 'v8', 'v9'])
    expect(lru.get(6)).toBeUndefined()
  })

  it('small caches behave as a strict LRU', () => {
    const lru = new Lru<string, number>(2)
    lru.set('a', 1)
    lru.set('b', 2)
    expect(lru.get('a')).toBe(1) // a is now the most recent
    lru.set('c', 3) // evicts b
    expect(lru.get('b')).toBeUndefined()
    expect(lru.get('a')).toBe(1)
    expect(lru.get('c')).toBe(3)
  })

  it('an entry used regularly survives any number of insertions', () => {
    const lru = new Lru<number, number>(100)
    lru.set(-1, -1)
    for (let i = 0; i < 10_000; i++) {
      lru.set(i, i)
      if (i % 50 === 0) expect(lru.get(-1)).toBe(-1)
    }
    expect(lru.get(-1)).toBe(-1)
    expect(lru.size).toBe(100)
  })

  it('matches a model: the size bound holds and present entries have their last value', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 8 }),
        fc.array(fc.tuple(fc.boolean(), fc.integer({ min: 0, max: 12 }), fc.integer()), {
          maxLength: 200,
        }),
        (max, ops) => {
          const lru = new Lru<number, number>(max)
          const last = new Map<number, number>()
          for (const [isSet, k, v] of ops) {
            if (isSet) {
              lru.set(k, v)
              last.set(k, v)
              // the entry just set is always present
              expect(lru.get(k)).toBe(v)
            } else {
              const got = lru.get(k)
              if (got !== undefined) expect(got).toBe(last.get(k))
            }
            expect(lru.size).toBeLessThanOrEqual(max)
          }
        },
      ),
    )
  })
})
