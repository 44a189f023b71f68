/** Key last-used: at most one write per key per minute, batched, never on the request's path. */
import { describe, expect, it } from 'vitest'
import { silentLogger } from '../lib/logger.js'
import { KeyUsage } from './key-usage.js'

function fakeStore() {
  const stored = new Map<string, number>()
  const writes: Map<string, number>[] = []
  return {
    stored,
    writes,
    touchAccessKeys: async (used: ReadonlyMap<string, number>) => {
      writes.push(new Map(used))
      for (const [k, v] of used) stored.set(k, Math.max(stored.get(k) ?? 0, v))
    },
    accessKeysLastUsed: async () => new Map(stored),
  }
}

describe('KeyUsage', () => {
  it('lets a key through at most once a minute and writes uses in one batch', async () => {
    const store = fakeStore()
    const u = new KeyUsage(store, silentLogger)
    for (let i = 0; i < 1000; i++) u.note('AKIA1', 1_000 + i) // a busy key
    u.note('AKIA2', 1_500)
    expect(store.writes).toEqual([]) // nothing written while requests are served
    expect(await u.lastUsed()).toEqual(
      new Map([
        ['AKIA1', 1_000],
        ['AKIA2', 1_500],
      ]),
    )
    await u.flush()
    expect(store.writes).toEqual([
      new Map([
        ['AKIA1', 1_000],
        ['AKIA2', 1_500],
      ]),
    ])
    u.note('AKIA1', 60_999) // still within the minute
    await u.flush()
    expect(store.writes.length).toBe(1)
    u.note('AKIA1', 61_000)
    await u.flush()
    expect(store.writes[1]).toEqual(new Map([['AKIA1', 61_000]]))
    expect(store.stored.get('AKIA1')).toBe(61_000)
  })

  it('a failed write is logged, not thrown', async () => {
    const u = new KeyUsage(
      {
        touchAccessKeys: async () => {
          throw new Error('db down')
        },
        accessKeysLastUsed: async () => new Map(),
      },
      silentLogger,
    )
    u.note('AKIA1', 1)
    await expect(u.flush()).resolves.toBeUndefined()
  })
})
