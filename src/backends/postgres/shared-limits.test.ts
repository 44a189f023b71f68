/**
 * Runs the SharedLimits conformance suite against PgSharedLimits on a throwaway PostgreSQL
 * (skipped, saying why, when PostgreSQL is not installed), and checks what only a shared
 * database promises: two nodes (two limits objects on two pools) issuing at once against one
 * bucket get exactly its size in total, one login throttle and one TOTP claim table serve both,
 * sessions written before the buckets existed are counted, and a database that is gone is
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
  it('two nodes issuing at once against a burst of 7 get exactly 7 in total; counts are shared', async (ctx) => {
    if (server === undefined) return ctx.skip('no PostgreSQL installed')
    const { dbs, nodes } = await twoNodes()
    try {
      // Ten quota keys raced at once, 16 issues each, alternating between the nodes: many
      // chances for two nodes to take the same token, were the row update not serialized.
      const rule = { rate: 1, burst: 7, maxActive: 1000 }
      const keys = Array.from({ length: 10 }, (_, k) => `user:u${String(k)}`)
      const tries = keys.flatMap((quotaKey) =>
        Array.from({ length: 16 }, (_, i) =>
          nodes[i % 2]!.takeIssue(quotaKey, rule, T0).then((v) => ({
            quotaKey,
            node: i % 2,
            won: v === true,
          })),
        ),
      )
      const got = await Promise.all(tries)
      for (const quotaKey of keys) {
        expect(got.filter((g) => g.quotaKey === quotaKey && g.won)).toHaveLength(7)
        expect(await nodes[0]!.activeSessions(quotaKey)).toBe(7)
        expect(await nodes[1]!.activeSessions(quotaKey)).toBe(7)
      }
      // Both nodes won some: the race really was between nodes.
      expect(got.filter((g) => g.won && g.node === 0).length).toBeGreaterThan(0)
      expect(got.filter((g) => g.won && g.node === 1).length).toBeGreaterThan(0)
      // One second later, one more token, taken on either node once.
      expect(await nodes[1]!.takeIssue('user:u0', rule, T0 + 1000)).toBe(true)
      expect(await nodes[0]!.takeIssue('user:u0', rule, T0 + 1000)).toEqual({
        limit: 'rate',
        retryAfterMs: 1000,
      })
      // Sessions swept on one node lower the count the other node checks.
      const tight = { rate: 1000, burst: 1000, maxActive: 8 }
      expect(await nodes[1]!.takeIssue('user:u0', tight, T0 + 2000)).toEqual({
        limit: 'active',
        active: 8,
      })
      await nodes[0]!.sessionsEnded(new Map([['user:u0', 1]]))
      expect(await nodes[1]!.takeIssue('user:u0', tight, T0 + 2000)).toBe(true)
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

  it('counts the sessions stored before any bucket existed, once', async (ctx) => {
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
      await store.insertSession({ ...row, accessKeyId: 'ASIAE', quotaKey: 'root:1' })
      expect(await limits.adoptSessions(T0)).toBe(2) // two parents
      expect(await limits.adoptSessions(T0)).toBe(0)
      // Every row counts until swept; the adopted bucket is full.
      expect(await limits.activeSessions('user:u1')).toBe(4)
      const rule = { rate: 1, burst: 10, maxActive: 5 }
      expect(await limits.takeIssue('user:u1', rule, T0)).toBe(true)
      expect(await limits.takeIssue('user:u1', rule, T0)).toEqual({ limit: 'active', active: 5 })
    } finally {
      await db.close()
    }
  })

  it('a database that is gone is StorageError(unavailable), never a crash', async () => {
    // Port 1 on loopback: nothing listens, every connect is refused.
    const db = await openPostgres('postgres://postgres@127.0.0.1:1/none', { connectTimeoutMs: 500 })
    const limits = new PgSharedLimits(db, { throttle: THROTTLE })
    try {
      for (const op of [
        () => limits.takeIssue('user:u1', { rate: 1, burst: 1, maxActive: 1 }, T0),
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
