import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startPostgres, type TestPostgres } from './postgres.js'

let server: TestPostgres | undefined
beforeAll(async () => {
  server = await startPostgres()
})
afterAll(async () => {
  await server?.stop()
})

describe('the throwaway PostgreSQL', () => {
  it('starts, hands out separate databases, and answers', async (ctx) => {
    if (server === undefined) return ctx.skip('no PostgreSQL installed (initdb not found)')
    const a = await server.createDatabase()
    const b = await server.createDatabase()
    expect(a).not.toBe(b)
    const c = new pg.Client({ connectionString: a })
    await c.connect()
    try {
      const r = await c.query<{ v: string }>('SELECT current_database() AS v')
      expect(a.endsWith(`/${r.rows[0]!.v}`)).toBe(true)
    } finally {
      await c.end()
    }
  })
})
