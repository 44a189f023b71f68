/**
 * Group commit: ops queued together share one transaction (a second connection sees none of a
 * batch until all of it commits), a throwing op is rolled back alone, maxBatch flushes early;
 * preludes write at the start of each batch, inside it, and get their values back when it fails.
 * @module
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { openDatabase, type Database } from './db.js'
import { GroupCommit } from './group-commit.js'
import type { WalSyncer } from './wal-sync.js'

let dir: string
let db: Database
let other: Database
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'lk-gc-'))
  db = openDatabase(join(dir, 'x.db'))
  db.exec('CREATE TABLE t (v INTEGER PRIMARY KEY)')
  other = openDatabase(join(dir, 'x.db'))
})
afterEach(() => {
  db.close()
  other.close()
  rmSync(dir, { recursive: true, force: true })
})

const visible = (): number =>
  (other.prepare('SELECT count(*) AS n FROM t').get() as { n: number }).n

it('runs a tick of ops in one transaction and settles them in order after COMMIT', async () => {
  const gc = new GroupCommit(db)
  const seenByOther: number[] = []
  const order: number[] = []
  const ops = Array.from({ length: 50 }, (_, i) =>
    gc
      .run(() => {
        db.prepare('INSERT INTO t (v) VALUES (?)').run(i)
        seenByOther.push(visible())
        return i
      })
      .then((v) => {
        order.push(v)
        return v
      }),
  )
  expect(visible()).toBe(0)
  expect(await Promise.all(ops)).toEqual(Array.from({ length: 50 }, (_, i) => i))
  expect(seenByOther.every((n) => n === 0)).toBe(true)
  expect(order).toEqual(Array.from({ length: 50 }, (_, i) => i))
  expect(visible()).toBe(50)
})

it('rolls back a throwing op alone', async () => {
  const gc = new GroupCommit(db)
  const good1 = gc.run(() => db.prepare('INSERT INTO t (v) VALUES (1)').run())
  const bad = gc.run(() => {
    db.prepare('INSERT INTO t (v) VALUES (2)').run()
    throw new Error('nope')
  })
  const dup = gc.run(() => db.prepare('INSERT INTO t (v) VALUES (1)').run())
  const good3 = gc.run(() => db.prepare('INSERT INTO t (v) VALUES (3)').run())
  await expect(bad).rejects.toThrow('nope')
  await expect(dup).rejects.toMatchObject({ code: 'SQLITE_CONSTRAINT_PRIMARYKEY' })
  await good1
  await good3
  expect(other.prepare('SELECT v FROM t ORDER BY v').all()).toEqual([{ v: 1 }, { v: 3 }])
})

it('flushes as soon as maxBatch ops wait', () => {
  const gc = new GroupCommit(db, { maxBatch: 3 })
  for (let i = 0; i < 3; i++) void gc.run(() => db.prepare('INSERT INTO t (v) VALUES (?)').run(i))
  expect(visible()).toBe(3)
})

it('rejects queued ops when the database is closed under them', async () => {
  const gc = new GroupCommit(db)
  const p = gc.run(() => 1)
  db.close()
  await expect(p).rejects.toMatchObject({ kind: 'unavailable' })
  db = openDatabase(join(dir, 'x.db'))
})

describe('preludes', () => {
  /** A prelude writing the values pushed to `pending` (as the upload-cap counters do). */
  function prelude(gc: GroupCommit): { pending: number[]; failed: number[][] } {
    const state = { pending: [] as number[], failed: [] as number[][] }
    gc.addPrelude({
      pending: () => state.pending.length > 0,
      write: () => {
        const vs = state.pending.splice(0)
        for (const v of vs) db.prepare('INSERT INTO t (v) VALUES (?)').run(v)
        return () => state.failed.push(vs)
      },
    })
    return state
  }

  it('write what they hold at the start of the next batch, in its transaction, before its ops', async () => {
    const gc = new GroupCommit(db)
    const s = prelude(gc)
    s.pending.push(10)
    const seen = gc.run(() => {
      // The prelude ran first, in this same transaction: visible here, not yet to another reader.
      const here = (db.prepare('SELECT count(*) AS n FROM t').get() as { n: number }).n
      return { here, other: visible() }
    })
    expect(await seen).toEqual({ here: 1, other: 0 })
    expect(visible()).toBe(1)
    // Nothing pending: a batch writes nothing more.
    await gc.run(() => undefined)
    expect(visible()).toBe(1)
  })

  it('drain starts a batch for a pending prelude alone', async () => {
    const gc = new GroupCommit(db)
    const s = prelude(gc)
    s.pending.push(7)
    await gc.drain()
    expect(other.prepare('SELECT v FROM t').all()).toEqual([{ v: 7 }])
  })

  it('a batch that fails to commit hands the prelude its values back', async () => {
    db.exec(`PRAGMA foreign_keys = ON;
      CREATE TABLE child (p INTEGER REFERENCES t (v) DEFERRABLE INITIALLY DEFERRED)`)
    const gc = new GroupCommit(db)
    const s = prelude(gc)
    s.pending.push(1, 2)
    // A deferred foreign key: the op succeeds, COMMIT fails.
    const op = gc.run(() => db.prepare('INSERT INTO child (p) VALUES (999)').run())
    await expect(op).rejects.toMatchObject({ kind: 'unavailable' })
    expect(s.failed).toEqual([[1, 2]])
    expect(visible()).toBe(0)
  })

  it('a throwing prelude is rolled back alone; the batch commits', async () => {
    const gc = new GroupCommit(db)
    gc.addPrelude({
      pending: () => true,
      write: () => {
        db.prepare('INSERT INTO t (v) VALUES (100)').run()
        throw new Error('prelude broke')
      },
    })
    await gc.run(() => db.prepare('INSERT INTO t (v) VALUES (1)').run())
    expect(other.prepare('SELECT v FROM t').all()).toEqual([{ v: 1 }])
  })
})

describe('runStatement (one statement, no savepoint)', () => {
  it('rolls a failing statement back alone, all of its rows, between ops that commit', async () => {
    const gc = new GroupCommit(db)
    const put = (sql: string): Promise<unknown> => gc.runStatement(() => db.prepare(sql).run())
    const first = put('INSERT INTO t (v) VALUES (1)')
    // Two new rows, then a duplicate: SQLite undoes the whole statement, 10 and 11 included.
    const bad = put('INSERT INTO t (v) VALUES (10), (11), (1)')
    const saved = gc.run(() => db.prepare('INSERT INTO t (v) VALUES (2)').run())
    const last = put('INSERT INTO t (v) VALUES (3)')
    await expect(bad).rejects.toThrow(/UNIQUE/)
    await Promise.all([first, saved, last])
    const rows = other.prepare('SELECT v FROM t ORDER BY v').all() as { v: number }[]
    expect(rows.map((r) => r.v)).toEqual([1, 2, 3])
  })

  it('fails the whole batch when an op ends the transaction', async () => {
    const gc = new GroupCommit(db)
    const before = gc.runStatement(() => db.prepare('INSERT INTO t (v) VALUES (1)').run())
    const killer = gc.runStatement(() => {
      db.exec('ROLLBACK') // what SQLite does itself on a full disk or an I/O error
      throw new Error('disk I/O error')
    })
    const after = gc.runStatement(() => db.prepare('INSERT INTO t (v) VALUES (2)').run())
    for (const p of [before, killer, after]) await expect(p).rejects.toThrow(/commit failed/)
    expect(visible()).toBe(0)
    // The committer goes on with the next batch.
    await gc.runStatement(() => db.prepare('INSERT INTO t (v) VALUES (3)').run())
    expect(visible()).toBe(1)
  })
})

describe('under async durability (a WalSyncer)', () => {
  /** A syncer whose fsyncs return only when the test says so. */
  function heldSyncer(): { syncer: WalSyncer; syncs: (() => void)[] } {
    const syncs: (() => void)[] = []
    const syncer = {
      sync: () => new Promise<void>((resolve) => syncs.push(resolve)),
      needsCheckpoint: () => Promise.resolve(false),
    } as unknown as WalSyncer
    return { syncer, syncs }
  }
  const turn = (): Promise<void> => new Promise((r) => setImmediate(r))

  /** minIntervalMs 0 unless given: the tests before the floor's own count loop turns. */
  function setup(
    maxWaitMs?: number,
    maxBatch?: number,
    minIntervalMs = 0,
  ): {
    gc: GroupCommit
    syncs: (() => void)[]
    commits: () => number
    insert: (v: number) => Promise<number>
  } {
    const { syncer, syncs } = heldSyncer()
    let commits = 0
    const gc = new GroupCommit(db, {
      syncer,
      ...(maxWaitMs !== undefined ? { maxWaitMs } : {}),
      ...(maxBatch !== undefined ? { maxBatch } : {}),
      minIntervalMs,
      timings: { commit: () => void commits++, fsync: () => {} },
    })
    const insert = (v: number): Promise<number> =>
      gc.run(() => db.prepare('INSERT INTO t (v) VALUES (?)').run(v).changes)
    return { gc, syncs, commits: () => commits, insert }
  }

  it('commits a lone write after one quiet loop turn', async () => {
    const { syncs, commits, insert } = setup()
    const p = insert(0)
    await turn()
    await turn()
    expect([commits(), syncs.length, visible()]).toEqual([1, 1, 1])
    syncs[0]!()
    expect(await p).toBe(1)
  })

  it('waits while writes keep arriving, then commits them as one transaction', async () => {
    const { syncs, commits, insert } = setup(60_000)
    const ps: Promise<number>[] = []
    for (let v = 0; v < 10; v++) {
      ps.push(insert(v))
      await turn()
    }
    expect([commits(), syncs.length, visible()]).toEqual([0, 0, 0])
    await turn() // a turn with no new write
    await turn()
    expect([commits(), syncs.length, visible()]).toEqual([1, 1, 10])
    syncs[0]!()
    expect(await Promise.all(ps)).toEqual(Array.from({ length: 10 }, () => 1))
  })

  it('commits maxWaitMs after the first write even while writes keep arriving', async () => {
    const { syncs, commits, insert } = setup(5, 1_000_000)
    const ps: Promise<number>[] = []
    const t0 = performance.now()
    while (commits() === 0) {
      ps.push(insert(ps.length))
      await turn()
    }
    const waited = performance.now() - t0
    expect(waited).toBeGreaterThanOrEqual(5)
    expect(waited).toBeLessThan(1000)
    expect([commits(), syncs.length, visible()]).toEqual([1, 1, ps.length])
    syncs[0]!()
    expect((await Promise.all(ps)).every((n) => n === 1)).toBe(true)
  })

  it('commits what queues during an fsync as one transaction once that fsync returns', async () => {
    const { syncs, commits, insert } = setup()
    const first = insert(0)
    await turn()
    await turn()
    expect([commits(), syncs.length, visible()]).toEqual([1, 1, 1])
    // Three more writes on three loop turns while the first fsync runs: none commits yet (each
    // would only wait for the next fsync, and each COMMIT writes its pages to the WAL).
    const later: Promise<number>[] = []
    for (let v = 1; v <= 3; v++) {
      later.push(insert(v))
      await turn()
    }
    expect([commits(), syncs.length, visible()]).toEqual([1, 1, 1])
    syncs[0]!()
    expect(await first).toBe(1)
    await turn()
    await turn()
    expect([commits(), syncs.length, visible()]).toEqual([2, 2, 4])
    syncs[1]!()
    expect(await Promise.all(later)).toEqual([1, 1, 1])
  })
  /** Three writes committed as one batch (after a quiet spell: at once), and its fsync done. */
  async function batchOfThree(h: ReturnType<typeof setup>): Promise<number> {
    const first = [h.insert(0), h.insert(1), h.insert(2)]
    await turn()
    await turn()
    expect(h.commits()).toBe(1)
    const committedAt = performance.now()
    h.syncs[0]!()
    await Promise.all(first)
    return committedAt
  }

  /** After batchOfThree: the fourth write is committed as a second batch and acknowledged. */
  async function fourthCommitted(h: ReturnType<typeof setup>, p: Promise<number>): Promise<void> {
    expect([h.commits(), h.syncs.length, visible()]).toEqual([2, 2, 4])
    h.syncs[1]!()
    expect(await p).toBe(1)
  }

  it('a due batch smaller than the last waits until minIntervalMs after the last commit began, on a timer', async () => {
    const h = setup(undefined, undefined, 40)
    const committedAt = await batchOfThree(h)
    const second = h.insert(3)
    await turn()
    await turn()
    await turn()
    expect([h.commits(), visible()]).toEqual([1, 3]) // due, but 1 < 3 and within 40 ms
    while (h.commits() === 1) {
      expect(performance.now() - committedAt).toBeLessThan(2_000)
      await new Promise((r) => setTimeout(r, 5))
    }
    expect(performance.now() - committedAt).toBeGreaterThanOrEqual(39)
    await fourthCommitted(h, second)
  })

  it('a queue as large as the last batch commits at once', async () => {
    const h = setup(undefined, undefined, 60_000)
    await batchOfThree(h)
    const next = [h.insert(3), h.insert(4)]
    await turn()
    await turn()
    expect(h.commits()).toBe(1) // 2 < 3: waits
    next.push(h.insert(5))
    await turn()
    await turn()
    expect([h.commits(), visible()]).toEqual([2, 6])
    h.syncs[1]!()
    expect(await Promise.all(next)).toEqual([1, 1, 1])
  })

  it("a lone client's writes, one after another (batches of one), never wait for it", async () => {
    const h = setup(undefined, undefined, 60_000)
    for (let v = 0; v < 5; v++) {
      const p = h.insert(v)
      await turn()
      await turn()
      expect(h.commits()).toBe(v + 1)
      h.syncs[v]!()
      expect(await p).toBe(1)
    }
  })

  it('a write after a quiet spell longer than minIntervalMs commits after one quiet turn', async () => {
    const h = setup(undefined, undefined, 20)
    await batchOfThree(h)
    await new Promise((r) => setTimeout(r, 30))
    const second = h.insert(3)
    await turn()
    await turn()
    await fourthCommitted(h, second)
  })

  it('flush commits at once, and the floor timer it cancels commits nothing later', async () => {
    const h = setup(undefined, undefined, 40)
    await batchOfThree(h)
    const second = h.insert(3)
    await turn()
    await turn()
    expect(h.commits()).toBe(1)
    h.gc.flush()
    expect([h.commits(), visible()]).toEqual([2, 4])
    await new Promise((r) => setTimeout(r, 60))
    await fourthCommitted(h, second)
  })
})
