/** Lru: bounded, evicts the least recently used, keeps entries that stay in use. */
import { describe, expect, it, vi } from 'vitest'
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

  it('add (a key known to be new) evicts the oldest beyond max, as set does', () => {
    const lru = new Lru<number, string>(3)
    for (let i = 0; i < 10; i++) lru.add(i, `v${String(i)}`)
    expect(lru.size).toBe(3)
    expect([...lru.values()]).toEqual(['v7', 'v8', 'v9'])
    lru.add(9, 'again') // present after all: replaced in place
    expect([...lru.values()]).toEqual(['v7', 'v8', 'again'])
  })

  it('REGRESSION lru-eviction-rescans: a full cache evicts without walking its map from the start each time', () => {
    // A Map keeps deleted entries as holes until it rehashes; a fresh keys() iterator per
    // eviction walked all of them (a full session cache made AssumeRole ~2x slower per call).
    const lru = new Lru<number, number>(1000)
    for (let i = 0; i < 1000; i++) lru.add(i, i)
    const keys = vi.spyOn(Map.prototype, 'keys')
    try {
      for (let i = 1000; i < 21_000; i++) {
        lru.add(i, i)
        if (i % 7 === 0) lru.get(i - 500) // refreshes move entries on: still evicted in order
      }
      expect(keys.mock.calls.length).toBeLessThan(50)
    } finally {
      keys.mockRestore()
    }
    expect(lru.size).toBe(1000)
    expect(lru.get(20_999)).toBe(20_999)
    expect(lru.get(0)).toBeUndefined()
  })

  it('evicts in least-recently-refreshed order while refreshes and evictions interleave', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.oneof(
            fc.nat(40).map((k) => ['add', k] as const),
            fc.nat(40).map((k) => ['get', k] as const),
          ),
          { maxLength: 400 },
        ),
        (ops) => {
          const lru = new Lru<number, number>(4) // strict LRU at this size (refreshAfter 1)
          const model: number[] = [] // oldest first
          let tick = 0
          const stamps = new Map<number, number>()
          for (const [op, k] of ops) {
            if (op === 'add') {
              lru.set(k, k)
              const at = model.indexOf(k)
              if (at >= 0) model.splice(at, 1)
              model.push(k)
              stamps.set(k, ++tick)
              while (model.length > 4) stamps.delete(model.shift()!)
            } else {
              const got = lru.get(k)
              const known = model.includes(k)
              expect(got).toBe(known ? k : undefined)
              if (known && tick - stamps.get(k)! > 1) {
                model.splice(model.indexOf(k), 1)
                model.push(k)
                stamps.set(k, ++tick)
              }
            }
          }
          expect([...lru.keys()]).toEqual(model)
        },
      ),
    )
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
