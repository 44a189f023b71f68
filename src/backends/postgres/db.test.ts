import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startPostgres, type TestPostgres } from '../../../test/support/postgres.js'
import { openPostgres, runMigrations } from './db.js'

let server: TestPostgres | undefined
beforeAll(async () => {
  server = await startPostgres()
})
afterAll(async () => {
  await server?.stop()
})

describe('postgres db', () => {
  it('runs each migration step once, even when nodes start together', async (ctx) => {
    if (server === undefined) return ctx.skip('no PostgreSQL installed')
    const url = await server.createDatabase()
    const nodes = await Promise.all([1, 2, 3].map(() => openPostgres(url)))
    try {
      const steps = ['CREATE TABLE t (n INT)', 'INSERT INTO t VALUES (1)']
      await Promise.all(nodes.map((db) => runMigrations(db, 'test', steps)))
      await runMigrations(nodes[0]!, 'test', [...steps, 'INSERT INTO t VALUES (2)'])
      const r = await nodes[1]!.query<{ n: number }>('SELECT n FROM t ORDER BY n')
      expect(r.rows.map((x) => x.n)).toEqual([1, 2])
    } finally {
      await Promise.all(nodes.map((db) => db.close()))
    }
  })

  it('rolls a failed transaction back', async (ctx) => {
    if (server === undefined) return ctx.skip('no PostgreSQL installed')
    const db = await openPostgres(await server.createDatabase())
    try {
      await db.query('CREATE TABLE u (n INT PRIMARY KEY)')
      await expect(
        db.tx(async (c) => {
          await c.query('INSERT INTO u VALUES (1)')
          await c.query('INSERT INTO u VALUES (1)')
        }),
      ).rejects.toMatchObject({ code: '23505' })
      expect((await db.query('SELECT count(*)::int AS n FROM u')).rows[0]).toEqual({ n: 0 })
    } finally {
      await db.close()
    }
  })
})
