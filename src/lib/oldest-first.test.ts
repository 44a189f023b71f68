/** OldestFirst: the oldest live key of a Map as an insertion-ordered queue, from one kept iterator. */
import fc from 'fast-check'
import { describe, expect, it, vi } from 'vitest'
import { OldestFirst } from './oldest-first.js'

describe('OldestFirst', () => {
  it('gives the oldest key, skipping deleted ones, and refreshed keys in their new place', () => {
    const m = new Map<string, number>([
      ['a', 1],
      ['b', 2],
      ['c', 3],
    ])
    const o = new OldestFirst(m)
    expect(o.next()).toBe('a')
    m.delete('a')
    m.delete('b') // deleted by someone else: skipped
    m.set('a', 1) // re-added: now the youngest
    expect(o.next()).toBe('c')
    m.delete('c')
    expect(o.next()).toBe('a')
    m.delete('a')
    expect(o.next()).toBeUndefined()
    m.set('d', 4) // after running off the end it starts over
    expect(o.next()).toBe('d')
  })

  it('matches a model of insertion order under random adds, refreshes, deletes and evictions', () => {
    const op = fc.oneof(
      fc.nat(20).map((k) => ({ kind: 'set' as const, k })),
      fc.nat(20).map((k) => ({ kind: 'refresh' as const, k })),
      fc.nat(20).map((k) => ({ kind: 'delete' as const, k })),
      fc.constant({ kind: 'evict' as const, k: 0 }),
    )
    fc.assert(
      fc.property(fc.array(op, { maxLength: 300 }), (ops) => {
        const m = new Map<number, true>()
        const o = new OldestFirst(m)
        const model: number[] = []
        for (const { kind, k } of ops) {
          if (kind === 'set') {
            if (!m.has(k)) model.push(k)
            m.set(k, true)
          } else if (kind === 'refresh') {
            if (m.delete(k)) model.splice(model.indexOf(k), 1)
            m.set(k, true)
            model.push(k)
          } else if (kind === 'delete') {
            if (m.delete(k)) model.splice(model.indexOf(k), 1)
          } else {
            const oldest = o.next()
            expect(oldest).toBe(model[0])
            if (oldest !== undefined) {
              m.delete(oldest)
              model.shift()
            }
          }
        }
      }),
    )
  })

  it('starts a new walk of the map only after running off its end', () => {
    const m = new Map<number, number>()
    for (let i = 0; i < 1000; i++) m.set(i, i)
    const o = new OldestFirst(m)
    const keys = vi.spyOn(Map.prototype, 'keys')
    try {
      for (let i = 1000; i < 21_000; i++) {
        m.set(i, i)
        m.delete(o.next()!)
      }
      expect(keys.mock.calls.length).toBe(1)
    } finally {
      keys.mockRestore()
    }
  })
})
