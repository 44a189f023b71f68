/**
 * Runs the AuditLog conformance suite against PgAuditLog on a throwaway PostgreSQL (skipped,
 * saying why, when PostgreSQL is not installed), and checks two nodes append to one trail.
 * @module
 */
import { afterAll, describe, expect, it } from 'vitest'
import { auditLogConformance } from '../../../test/conformance/audit-log.case.js'
import { startPostgres, type TestPostgres } from '../../../test/support/postgres.js'
import { PgAuditLog } from './audit-log.js'
import { openPostgres } from './db.js'

// Top-level: the conformance suite is only declared when there is a server to run it on.
const server: TestPostgres | undefined = await startPostgres()
afterAll(async () => {
  await server?.stop()
})

if (server === undefined) describe.skip('PgAuditLog conformance: no PostgreSQL installed', () => {})
else
  auditLogConformance('postgres', async () => {
    const db = await openPostgres(await server.createDatabase(), { max: 4 })
    return { audit: await PgAuditLog.open(db), close: () => db.close() }
  })

describe('PgAuditLog across nodes', () => {
  it('two nodes append to one trail', async (ctx) => {
    if (server === undefined) return ctx.skip('no PostgreSQL installed')
    const url = await server.createDatabase()
    const dbs = await Promise.all([openPostgres(url), openPostgres(url)])
    try {
      const [a, b] = await Promise.all(dbs.map((db) => PgAuditLog.open(db)))
      await Promise.all([
        a!.append([{ at: 1, kind: 'login', action: 'admin:Login', principal: 'a' }]),
        b!.append([{ at: 2, kind: 'login', action: 'admin:Login', principal: 'b' }]),
      ])
      const page = await a!.query({}, { limit: 10, offset: 0 })
      expect(page.events.map((e) => e.principal)).toEqual(['b', 'a'])
    } finally {
      await Promise.all(dbs.map((db) => db.close()))
    }
  })
})
