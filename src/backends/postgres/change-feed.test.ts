import { afterAll, describe, expect, it, vi } from 'vitest'
import { changeFeedConformance } from '../../../test/conformance/change-feed.case.js'
import { startPostgres, type TestPostgres } from '../../../test/support/postgres.js'
import { silentLogger, type Logger } from '../../lib/logger.js'
import type { Change, ChangeSubscriber } from '../../storage/change-feed.js'
import {
  openPostgresChangeFeed,
  type PostgresChangeFeed,
  type PostgresChangeFeedOptions,
} from './change-feed.js'
import { openPostgres, type PgDatabase } from './db.js'

// The PostgreSQL feed: the port's contract on one node, then what only a shared feed must do
// (two feeds on one database are two nodes). Skipped, saying so, when PostgreSQL is missing.
const server: TestPostgres | undefined = await startPostgres()
afterAll(async () => {
  await server?.stop()
})

const user = (id: string): Change => ({ kind: 'user', id })
const idOf = (c: Change): string => (c as { id: string }).id

interface Node {
  readonly db: PgDatabase
  readonly feed: PostgresChangeFeed
  close(): Promise<void>
}

async function node(url: string, opts: Partial<PostgresChangeFeedOptions> = {}): Promise<Node> {
  const db = await openPostgres(url)
  const feed = await openPostgresChangeFeed(db, { url, ...opts })
  return {
    db,
    feed,
    close: async () => {
      await feed.close()
      await db.close()
    },
  }
}

if (server === undefined) {
  describe.skip('ChangeFeed conformance: postgres (skipped: no PostgreSQL installed)', () => {
    it('needs initdb/pg_ctl or LATCHKEY_TEST_DATABASE_URL', () => {})
  })
} else {
  const pg = server
  changeFeedConformance('postgres', async () => {
    const n = await node(await pg.createDatabase())
    return { feed: n.feed, close: n.close }
  })
}

/** A subscriber that records what it got ("resync" for a resync). */
function recorder(onChange?: (c: Change) => void | Promise<void>): {
  readonly got: string[]
  readonly sub: ChangeSubscriber
} {
  const got: string[] = []
  return {
    got,
    sub: {
      change: (c) => {
        got.push(idOf(c))
        return onChange?.(c)
      },
      resync: () => void got.push('resync'),
    },
  }
}

describe('postgres change feed across nodes', () => {
  it('delivers a change published on A to B, in order, and A gets its own once', async (ctx) => {
    if (server === undefined) return ctx.skip('no PostgreSQL installed')
    const url = await server.createDatabase()
    const a = await node(url)
    const b = await node(url)
    try {
      const onA = recorder()
      const onB = recorder()
      a.feed.subscribe(onA.sub)
      b.feed.subscribe(onB.sub)
      a.feed.publish([user('u1'), user('u2')])
      a.feed.publish([user('u3')])
      expect(onA.got).toEqual(['u1', 'u2', 'u3'])
      await vi.waitFor(() => expect(onB.got).toEqual(['u1', 'u2', 'u3']), { timeout: 5_000 })
      const seq = b.feed.publish([user('u4')])
      expect(await b.feed.applied(seq, 5_000)).toBe(true)
      expect(onA.got).toEqual(['u1', 'u2', 'u3', 'u4'])
      expect(onB.got).toEqual(['u1', 'u2', 'u3', 'u4'])
    } finally {
      await a.close()
      await b.close()
    }
  })

  it('object changes reach only the node that made them: no outbox row, nothing for B', async (ctx) => {
    if (server === undefined) return ctx.skip('no PostgreSQL installed')
    const url = await server.createDatabase()
    const a = await node(url)
    const b = await node(url)
    try {
      const onA: Change[] = []
      const onB: Change[] = []
      a.feed.subscribe({ change: (c) => void onA.push(c), resync() {} })
      b.feed.subscribe({ change: (c) => void onB.push(c), resync() {} })
      const obj: Change = { kind: 'object', bucket: 'b', key: 'k' }
      const seq = a.feed.publish([obj])
      expect(onA).toEqual([obj])
      expect(await a.feed.applied(seq, 1_000)).toBe(true)
      // A mixed batch: the user change travels, the object change does not.
      a.feed.publish([obj, user('u1')])
      await vi.waitFor(() => expect(onB).toEqual([user('u1')]), { timeout: 5_000 })
      const rows = await a.db.query<{ changes: Change[] }>('SELECT changes FROM latchkey_changes')
      expect(rows.rows.map((r) => r.changes)).toEqual([[user('u1')]])
    } finally {
      await a.close()
      await b.close()
    }
  })

  it("applied() on A waits for B's slow subscriber, and is false when B stalls", async (ctx) => {
    if (server === undefined) return ctx.skip('no PostgreSQL installed')
    const url = await server.createDatabase()
    const a = await node(url)
    const b = await node(url)
    const releases: (() => void)[] = []
    try {
      const onB = recorder(() => new Promise<void>((resolve) => releases.push(resolve)))
      b.feed.subscribe(onB.sub)
      const seq = a.feed.publish([user('slow')])
      // B got it but has not finished applying it: A must not call it applied.
      expect(await a.feed.applied(seq, 300)).toBe(false)
      expect(onB.got).toEqual(['slow'])
      const waiting = a.feed.applied(seq, 5_000)
      releases[0]!()
      expect(await waiting).toBe(true)
      // A second change B never finishes: false, after the timeout.
      const seq2 = a.feed.publish([user('stuck')])
      const started = Date.now()
      expect(await a.feed.applied(seq2, 400)).toBe(false)
      expect(Date.now() - started).toBeGreaterThanOrEqual(390)
    } finally {
      for (const r of releases) r()
      await a.close()
      await b.close()
    }
  })

  it('a node that closed, or stopped heartbeating, is not waited for', async (ctx) => {
    if (server === undefined) return ctx.skip('no PostgreSQL installed')
    const url = await server.createDatabase()
    const a = await node(url, { liveMs: 1_000 })
    const b = await node(url, { liveMs: 1_000, pollMs: 60_000 })
    let release: () => void = () => {}
    try {
      b.feed.subscribe({
        change: () => new Promise<void>((resolve) => (release = resolve)),
        resync() {},
      })
      // B's subscriber never finishes, but B heartbeats only every minute: after liveMs it is
      // not live any more, and A stops waiting for it.
      const seq = a.feed.publish([user('x')])
      expect(await a.feed.applied(seq, 300)).toBe(false)
      expect(await a.feed.applied(seq, 5_000)).toBe(true)
    } finally {
      release()
      await a.close()
      await b.close()
    }
  })

  it('a node that dies (its heartbeat stops, its row stays) makes the others resync: its unannounced writes take effect', async (ctx) => {
    if (server === undefined) return ctx.skip('no PostgreSQL installed')
    const url = await server.createDatabase()
    const b = await node(url, { pollMs: 50, liveMs: 600 })
    try {
      const onB = recorder()
      b.feed.subscribe(onB.sub)
      // A node that heartbeated, committed a write and died before appending its changes.
      await b.db.query(
        "INSERT INTO latchkey_feed_nodes (node, applied_id, heartbeat) VALUES ('dead', 0, now())",
      )
      await new Promise((r) => setTimeout(r, 200)) // B sees it live
      expect(onB.got).toEqual([])
      await vi.waitFor(() => expect(onB.got).toEqual(['resync']), { timeout: 5_000 })
    } finally {
      await b.close()
    }
  })

  it('B loses its LISTEN connection: it resyncs, then gets the changes made meanwhile', async (ctx) => {
    if (server === undefined) return ctx.skip('no PostgreSQL installed')
    const url = await server.createDatabase()
    const a = await node(url)
    // No periodic poll on B: only notifications and the reconnect can bring it changes.
    const b = await node(url, { pollMs: 60_000, reconnectMs: 300 })
    try {
      const onB = recorder()
      b.feed.subscribe(onB.sub)
      a.feed.publish([user('before')])
      await vi.waitFor(() => expect(onB.got).toEqual(['before']), { timeout: 5_000 })
      const killed = await a.db.query<{ ok: boolean }>(
        `SELECT pg_terminate_backend(pid) AS ok FROM pg_stat_activity WHERE application_name = $1`,
        [`latchkey-feed-${b.feed.nodeId}`.slice(0, 63)],
      )
      expect(killed.rows).toEqual([{ ok: true }])
      await vi.waitFor(() => expect(b.feed.listening).toBe(false), { timeout: 5_000 })
      const seq = a.feed.publish([user('during')])
      await vi.waitFor(() => expect(onB.got).toEqual(['before', 'resync', 'during']), {
        timeout: 5_000,
      })
      expect(b.feed.listening).toBe(true)
      expect(await a.feed.applied(seq, 5_000)).toBe(true)
      a.feed.publish([user('after')])
      await vi.waitFor(() => expect(onB.got).toEqual(['before', 'resync', 'during', 'after']), {
        timeout: 5_000,
      })
    } finally {
      await a.close()
      await b.close()
    }
  })

  it('appends that keep failing become one resync row for the other nodes', async (ctx) => {
    if (server === undefined) return ctx.skip('no PostgreSQL installed')
    const url = await server.createDatabase()
    const errors: string[] = []
    const log: Logger = {
      ...silentLogger,
      error: (_o, msg) => void errors.push(msg ?? ''),
      child: () => log,
    }
    const a = await node(url, { appendRetries: 2, log })
    const b = await node(url, { pollMs: 60_000 })
    try {
      const onB = recorder()
      b.feed.subscribe(onB.sub)
      await a.db.query('ALTER TABLE latchkey_changes RENAME TO latchkey_changes_away')
      const seq = a.feed.publish([user('lost')])
      await vi.waitFor(
        () => expect(errors).toContain('change feed: appends failing, other nodes will resync'),
        {
          timeout: 5_000,
        },
      )
      await a.db.query('ALTER TABLE latchkey_changes_away RENAME TO latchkey_changes')
      await vi.waitFor(() => expect(onB.got).toEqual(['resync']), { timeout: 5_000 })
      expect(await a.feed.applied(seq, 5_000)).toBe(true)
    } finally {
      await a.close()
      await b.close()
    }
  })

  it('a node whose heartbeats fail is not current until it has beaten and resynced again', async (ctx) => {
    if (server === undefined) return ctx.skip('no PostgreSQL installed')
    const url = await server.createDatabase()
    const a = await node(url, { pollMs: 50, liveMs: 600 })
    try {
      const onA = recorder()
      a.feed.subscribe(onA.sub)
      expect(a.feed.current).toBe(true)
      await a.db.query('ALTER TABLE latchkey_feed_nodes RENAME TO latchkey_feed_nodes_away')
      await a.db.query('ALTER TABLE latchkey_changes RENAME TO latchkey_changes_away')
      await vi.waitFor(() => expect(a.feed.current).toBe(false), { timeout: 5_000 })
      await a.db.query('ALTER TABLE latchkey_feed_nodes_away RENAME TO latchkey_feed_nodes')
      await a.db.query('ALTER TABLE latchkey_changes_away RENAME TO latchkey_changes')
      await vi.waitFor(() => expect(a.feed.current).toBe(true), { timeout: 5_000 })
      expect(onA.got).toEqual(['resync'])
    } finally {
      await a.close()
    }
  })

  it('REGRESSION stale-cache-after-failed-reload: a cache that fails to apply a change makes its node not current until a resync succeeds', async (ctx) => {
    if (server === undefined) return ctx.skip('no PostgreSQL installed')
    const url = await server.createDatabase()
    const a = await node(url, { pollMs: 50 })
    const b = await node(url, { pollMs: 50 })
    try {
      // B's reload of the revoked row fails (the database blinked), and so does its first resync:
      // it must not serve from the stale row meanwhile.
      let failures = 2
      let resyncs = 0
      b.feed.subscribe({
        change: async () => {
          if (failures > 0) {
            failures--
            throw new Error('reload failed')
          }
        },
        resync: async () => {
          resyncs++
          if (failures > 0) {
            failures--
            throw new Error('reload failed')
          }
        },
      })
      expect(b.feed.current).toBe(true)
      a.feed.publish([{ kind: 'user', id: 'u1' }])
      await vi.waitFor(() => expect(b.feed.current).toBe(false), { timeout: 5_000 })
      await vi.waitFor(() => expect(b.feed.current).toBe(true), { timeout: 5_000 })
      expect(resyncs).toBe(2)
    } finally {
      await a.close()
      await b.close()
    }
  })

  it('old rows applied everywhere are pruned; close waits for pending appends', async (ctx) => {
    if (server === undefined) return ctx.skip('no PostgreSQL installed')
    const url = await server.createDatabase()
    const a = await node(url, { pruneAfterMs: 1, pollMs: 50 })
    try {
      const seq = a.feed.publish([user('p')])
      expect(await a.feed.applied(seq, 5_000)).toBe(true)
      await vi.waitFor(
        async () => {
          const r = await a.db.query<{ n: number }>(
            'SELECT count(*)::int AS n FROM latchkey_changes',
          )
          expect(r.rows[0]!.n).toBe(0)
        },
        { timeout: 5_000 },
      )
      a.feed.publish([user('q')])
      await a.feed.close()
      const r = await a.db.query<{ n: number }>('SELECT count(*)::int AS n FROM latchkey_changes')
      expect(r.rows[0]!.n).toBe(1)
    } finally {
      await a.close()
    }
  })
})
