/**
 * Runs the SharedLimits conformance suite against PgSharedLimits on a throwaway PostgreSQL
 * (skipped, saying why, when PostgreSQL is not installed), and checks what only a shared
 * database promises: two nodes (two limits objects on two pools) reserving at once against one
 * quota get exactly its size in total, one login throttle and one TOTP claim table serve both,
 * sessions written before the slots existed are adopted, and a database that is gone is
 * StorageError('unavailable').
 * @module
 */
import { afterAll, describe, expect, it } from 'vitest'
import { sharedLimitsConformance } from '../../../test/conformance/shared-limits.case.js'
import { startPostgres, type TestPostgres } from '../../../test/support/postgres.js'
import { StorageError } from '../../storage/errors.js'
import { openPostgres, type PgDatabase } from './db.js'
import { PgIdentityStore } from './identity-store.js'
import { PgSharedLimits } from './shared-limits.js'

const THROTTLE = { limit: 3, windowMs: 15 * 60_000, maxKeys: 1000 }
const T0 = Date.UTC(2026, 0, 1)

// Top-level: the conformance suite is only declared when there is a server to run it on.
const server: TestPostgres | undefined = await startPostgres()
afterAll(async () => {
  await server?.stop()
})

if (server === undefined)
  describe.skip('PgSharedLimits conformance: no PostgreSQL installed', () => {})
else
  sharedLimitsConformance('postgres', async () => {
    const db = await openPostgres(await server.createDatabase(), { max: 4 })
    const limits = await PgSharedLimits.open(db, { throttle: THROTTLE })
    return { limits, close: () => db.close() }
  })

/** Two nodes: two pools on one database, each with its own limits object. */
async function twoNodes(): Promise<{ dbs: PgDatabase[]; nodes: PgSharedLimits[] }> {
  const url = await server!.createDatabase()
  const dbs = await Promise.all([openPostgres(url), openPostgres(url)])
  const nodes = await Promise.all(dbs.map((db) => PgSharedLimits.open(db, { throttle: THROTTLE })))
  return { dbs, nodes }
}

describe('PgSharedLimits across nodes', () => {
  it('two nodes reserving at once against a quota of 7 get exactly 7 slots in total', async (ctx) => {
    if (server === undefined) return ctx.skip('no PostgreSQL installed')
    const { dbs, nodes } = await twoNodes()
    try {
      // Ten quota keys raced at once, 16 reservations each, alternating between the nodes: many
      // chances for two nodes to count the same free slot, were the count not serialized.
      const keys = Array.from({ length: 10 }, (_, k) => `user:u${String(k)}`)
      const tries = keys.flatMap((quotaKey) =>
        Array.from({ length: 16 }, (_, i) =>
          nodes[i % 2]!.reserveSlot(
            { slotId: `ASIA${quotaKey}.${String(i)}`, quotaKey, expiresAt: T0 + 3600_000 },
            7,
            T0,
          ).then((won) => ({ quotaKey, slotId: `ASIA${quotaKey}.${String(i)}`, node: i % 2, won })),
        ),
      )
      const got = await Promise.all(tries)
      for (const quotaKey of keys) {
        expect(got.filter((g) => g.quotaKey === quotaKey && g.won)).toHaveLength(7)
        expect(await nodes[0]!.activeSlots(quotaKey, T0)).toBe(7)
        expect(await nodes[1]!.activeSlots(quotaKey, T0)).toBe(7)
      }
      // Both nodes won some: the race really was between nodes.
      expect(got.filter((g) => g.won && g.node === 0).length).toBeGreaterThan(0)
      expect(got.filter((g) => g.won && g.node === 1).length).toBeGreaterThan(0)
      // A slot released on one node is free on the other.
      const held = got.find((g) => g.quotaKey === 'user:u0' && g.won)!
      await nodes[0]!.releaseSlot(held.slotId)
      const slot = { slotId: 'ASIAnew', quotaKey: 'user:u0', expiresAt: T0 + 3600_000 }
      expect(await nodes[1]!.reserveSlot(slot, 7, T0)).toBe(true)
      expect(await nodes[0]!.reserveSlot({ ...slot, slotId: 'ASIAmore' }, 7, T0)).toBe(false)
    } finally {
      await Promise.all(dbs.map((db) => db.close()))
    }
  })

  it('a TOTP step claimed on one node is refused on the other; a race has one winner', async (ctx) => {
    if (server === undefined) return ctx.skip('no PostgreSQL installed')
    const { dbs, nodes } = await twoNodes()
    try {
      expect(await nodes[0]!.claimOnce('totp:u1', 100, 90_000, T0)).toBe(true)
      expect(await nodes[1]!.claimOnce('totp:u1', 100, 90_000, T0)).toBe(false)
      expect(await nodes[1]!.claimOnce('totp:u1', 99, 90_000, T0)).toBe(false)
      const race = await Promise.all(
        Array.from({ length: 10 }, (_, i) => nodes[i % 2]!.claimOnce('totp:u2', 5, 90_000, T0)),
      )
      expect(race.filter(Boolean)).toHaveLength(1)
    } finally {
      await Promise.all(dbs.map((db) => db.close()))
    }
  })

  it('the login throttle counts attempts from both nodes against one limit', async (ctx) => {
    if (server === undefined) return ctx.skip('no PostgreSQL installed')
    const { dbs, nodes } = await twoNodes()
    try {
      const got = await Promise.all(
        Array.from({ length: 30 }, (_, i) =>
          nodes[i % 2]!.reserveAttempt(['u:alice', `a:10.0.0.${String(i)}`], T0),
        ),
      )
      const attempts = got.filter((g) => typeof g !== 'number')
      expect(attempts).toHaveLength(THROTTLE.limit)
      for (const a of attempts) await a.fail(T0)
      expect(await nodes[0]!.retryAfter('u:alice', T0 + 1000)).toBe(15 * 60 - 1)
      expect(await nodes[1]!.retryAfter('u:alice', T0 + 1000)).toBe(15 * 60 - 1)
      await nodes[1]!.clearFailures('u:alice')
      expect(await nodes[0]!.retryAfter('u:alice', T0 + 1000)).toBe(0)
    } finally {
      await Promise.all(dbs.map((db) => db.close()))
    }
  })

  it('adopts the active sessions written before their slots existed', async (ctx) => {
    if (server === undefined) return ctx.skip('no PostgreSQL installed')
    const db = await openPostgres(await server.createDatabase())
    try {
      const store = await PgIdentityStore.open(db)
      const row = {
        accountId: '111111111111',
        quotaKey: 'user:u1',
        userId: 'u1',
        parent: '{}',
        secret: 's',
        sessionName: 'n',
        policies: '[]',
        roleName: 'r',
        roleId: 'AROA',
        issuedAt: T0,
        expiresAt: T0 + 3600_000,
        revoked: false,
      }
      await store.insertSession({ ...row, accessKeyId: 'ASIAA' })
      await store.insertSession({ ...row, accessKeyId: 'ASIAB' })
      await store.insertSession({ ...row, accessKeyId: 'ASIAC', revoked: true })
      await store.insertSession({ ...row, accessKeyId: 'ASIAD', expiresAt: T0 })
      const limits = await PgSharedLimits.open(db, { throttle: THROTTLE })
      expect(await limits.adoptSessions(T0)).toBe(2)
      expect(await limits.adoptSessions(T0)).toBe(0)
      const slot = { slotId: 'ASIAE', quotaKey: 'user:u1', expiresAt: T0 + 3600_000 }
      expect(await limits.reserveSlot(slot, 3, T0)).toBe(true)
      expect(await limits.reserveSlot({ ...slot, slotId: 'ASIAF' }, 3, T0)).toBe(false)
    } finally {
      await db.close()
    }
  })

  it('a database that is gone is StorageError(unavailable), never a crash', async () => {
    // Port 1 on loopback: nothing listens, every connect is refused.
    const db = await openPostgres('postgres://postgres@127.0.0.1:1/none', { connectTimeoutMs: 500 })
    const limits = new PgSharedLimits(db, { throttle: THROTTLE })
    try {
      const slot = { slotId: 'ASIAA', quotaKey: 'user:u1', expiresAt: T0 + 3600_000 }
      for (const op of [
        () => limits.reserveSlot(slot, 3, T0),
        () => limits.reserveAttempt(['u:alice'], T0),
        () => limits.claimOnce('totp:u1', 1, 90_000, T0),
        () => limits.sweep(T0),
      ]) {
        const err = await op().catch((e: unknown) => e)
        expect(err).toBeInstanceOf(StorageError)
        expect((err as StorageError).kind).toBe('unavailable')
      }
    } finally {
      await db.close()
    }
  })
})
