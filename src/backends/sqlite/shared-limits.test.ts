/**
 * Runs the SharedLimits conformance suite against SqliteSharedLimits, and checks what only it
 * promises: failures, attempts in flight and TOTP claims survive a restart, and the session-slot
 * index is rebuilt from the active rows of the sessions table.
 * @module
 */
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { sharedLimitsConformance } from '../../../test/conformance/shared-limits.case.js'
import { openDatabase } from './db.js'
import { SqliteIdentityStore } from './identity-store.js'
import { SqliteSharedLimits } from './shared-limits.js'

const THROTTLE = { limit: 3, windowMs: 15 * 60_000, maxKeys: 1000 }
const T0 = Date.UTC(2026, 0, 1)

sharedLimitsConformance('sqlite', async () => {
  const db = openDatabase(':memory:')
  SqliteIdentityStore.open(db)
  const limits = SqliteSharedLimits.open(db, { throttle: THROTTLE })
  return { limits, close: async () => void db.close() }
})

describe('SqliteSharedLimits across a restart', () => {
  it('keeps failures and TOTP claims, and rebuilds the held-session counts from iam_sessions', async () => {
    const path = join(mkdtempSync(join(tmpdir(), 'lk-limits-')), 'latchkey.db')
    const db1 = openDatabase(path)
    const store = SqliteIdentityStore.open(db1)
    const l1 = SqliteSharedLimits.open(db1, { throttle: THROTTLE, now: T0 })
    for (let i = 0; i < 3; i++) await l1.recordFailure('u:alice', T0)
    expect(await l1.claimOnce('totp:u1', 42, 90_000, T0)).toBe(true)
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
    db1.close()

    const db2 = openDatabase(path)
    SqliteIdentityStore.open(db2)
    const l2 = SqliteSharedLimits.open(db2, { throttle: THROTTLE, now: T0 })
    expect(l2.retryAfter('u:alice', T0 + 1000)).toBeGreaterThan(0)
    expect(await l2.claimOnce('totp:u1', 42, 90_000, T0 + 1000)).toBe(false)
    // The three rows (revoked ones too, until swept) count as held; the bucket starts full.
    const rule = { rate: 1, burst: 10, maxActive: 4 }
    expect(l2.activeSessions('user:u1')).toBe(3)
    expect(l2.takeIssue('user:u1', rule, T0)).toBe(true)
    expect(l2.takeIssue('user:u1', rule, T0)).toEqual({ limit: 'active', active: 4 })
    db2.close()
  })
})
