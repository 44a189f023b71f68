/**
 * The upload-cap counters on PostgreSQL: the conformance suite, and two nodes (two pools, two
 * limits objects) reserving against one counter at once never crossing its cap.
 * @module
 */
import { afterAll, describe, expect, it } from 'vitest'
import { sessionUsageConformance } from '../../../test/conformance/session-usage.case.js'
import { startPostgres, type TestPostgres } from '../../../test/support/postgres.js'
import { openPostgres } from './db.js'
import { PgSharedLimits } from './shared-limits.js'

const server: TestPostgres | undefined = await startPostgres()
afterAll(async () => {
  await server?.stop()
})

if (server === undefined)
  describe.skip('PgSessionUsage conformance: no PostgreSQL installed', () => {})
else
  sessionUsageConformance('postgres', async () => {
    const db = await openPostgres(await server.createDatabase(), { max: 4 })
    const limits = await PgSharedLimits.open(db)
    return { limits, close: () => db.close() }
  })

describe('PgSessionUsage across nodes', () => {
  it('two nodes reserving at once against max-bytes 5000 get exactly 5000', async (ctx) => {
    if (server === undefined) return ctx.skip('no PostgreSQL installed')
    const url = await server.createDatabase()
    const dbs = await Promise.all([openPostgres(url), openPostgres(url)])
    try {
      const nodes = await Promise.all(dbs.map((db) => PgSharedLimits.open(db)))
      const got = await Promise.all(
        Array.from({ length: 40 }, (_, i) =>
          nodes[i % 2]!.reserveUsage(
            'k',
            { bytes: 250, objects: 0 },
            { maxBytes: 5000 },
            Date.now() + 60_000,
          ),
        ),
      )
      expect(got.filter((g) => g === undefined)).toHaveLength(20)
      expect((await nodes[0]!.usageOf(['k'])).get('k')?.bytes).toBe(5000)
    } finally {
      await Promise.all(dbs.map((db) => db.close()))
    }
  })
})
