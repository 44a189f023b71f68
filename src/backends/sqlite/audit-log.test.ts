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
