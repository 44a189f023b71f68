/**
 * Runs the AuditLog conformance suite against SqliteAuditLog, and checks its migration is
 * idempotent (a reopened database keeps its events).
 * @module
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { auditLogConformance } from '../../../test/conformance/audit-log.case.js'
import type { AuditEventInput } from '../../storage/audit-log.js'
import { SqliteAuditLog } from './audit-log.js'
import { openDatabase } from './db.js'
import { GroupCommit } from './group-commit.js'

auditLogConformance('sqlite', () => {
  const db = openDatabase(':memory:')
  const commits = new GroupCommit(db)
  return Promise.resolve({
    audit: SqliteAuditLog.open(db, commits),
    close: async () => {
      await commits.drain()
      db.close()
    },
  })
})

describe('SqliteAuditLog across a reopen', () => {
  it('keeps its events and runs its migration once', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'lk-audit-'))
    try {
      const path = join(dir, 'latchkey.db')
      const db1 = openDatabase(path)
      const c1 = new GroupCommit(db1)
      await SqliteAuditLog.open(db1, c1).append([{ at: 1, kind: 'login', action: 'admin:Login' }])
      await c1.drain()
      db1.close()
      const db2 = openDatabase(path)
      const a2 = SqliteAuditLog.open(db2, new GroupCommit(db2))
      expect((await a2.query({}, { limit: 10, offset: 0 })).total).toBe(1)
      db2.close()
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })
})

describe('SqliteAuditLog small batches (one statement, no savepoint)', () => {
  const ev = (at: number): AuditEventInput => ({ at, kind: 'issuance', action: 'sts:AssumeRole' })

  it('stores a small batch and a large one in order, ids ascending', async () => {
    const db = openDatabase(':memory:')
    const commits = new GroupCommit(db)
    const audit = SqliteAuditLog.open(db, commits)
    await audit.append(Array.from({ length: 16 }, (_, i) => ev(i)))
    await audit.append(Array.from({ length: 17 }, (_, i) => ev(16 + i)))
    const rows = db.prepare('SELECT id, at FROM audit_events ORDER BY id').all() as {
      id: number
      at: number
    }[]
    expect(rows.map((r) => r.at)).toEqual(Array.from({ length: 33 }, (_, i) => i))
    db.close()
  })

  it('a failing small batch stores none of its rows and fails alone in its transaction', async () => {
    const db = openDatabase(':memory:')
    const commits = new GroupCommit(db)
    const audit = SqliteAuditLog.open(db, commits)
    const bad = { at: 2, kind: null, action: 'x' } as unknown as AuditEventInput
    const [first, second, third] = await Promise.allSettled([
      audit.append([ev(1)]),
      audit.append([ev(2), bad, ev(3)]),
      audit.append([ev(4), ev(5)]),
    ])
    expect(first.status).toBe('fulfilled')
    expect(second.status).toBe('rejected')
    expect(third.status).toBe('fulfilled')
    const ats = db.prepare('SELECT at FROM audit_events ORDER BY id').all() as { at: number }[]
    expect(ats.map((r) => r.at)).toEqual([1, 4, 5])
    db.close()
  })
})
