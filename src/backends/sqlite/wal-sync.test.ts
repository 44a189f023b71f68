/**
 * Async durability: with a WAL syncer registered, a batch is acknowledged only after an fsync that
 * started after its COMMIT; failures reject; and a real on-disk database opened with
 * `asyncDurability` survives close/reopen with everything acknowledged.
 */
import { describe, it, expect } from 'vitest'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { openDatabase, type Database } from './db.js'
import { GroupCommit } from './group-commit.js'
import { registerWalSyncer, WalSyncer, prepareClose, walSyncerFor } from './wal-sync.js'

class FakeSyncer extends WalSyncer {
  started = 0
  private gates: (() => void)[] = []
  fail = false
  override sync(): Promise<void> {
    this.started++
    return new Promise((resolve, reject) =>
      this.gates.push(() => (this.fail ? reject(new Error('EIO')) : resolve())),
    )
  }
  override maybeCheckpoint(): Promise<void> {
    return Promise.resolve()
  }
  release(): void {
    const g = this.gates.shift()
    g?.()
  }
}

function setup(): { db: Database; s: FakeSyncer; gc: GroupCommit } {
  const db = openDatabase(':memory:')
  db.exec('CREATE TABLE t (v INTEGER)')
  const s = new FakeSyncer(db, '/nonexistent')
  registerWalSyncer(db, s)
  return { db, s, gc: new GroupCommit(db) }
}
const tick = (): Promise<void> => new Promise((r) => setImmediate(r))

describe('asynchronous durability', () => {
  it('acknowledges a batch only after an fsync that began after its commit', async () => {
    const { db, s, gc } = setup()
    let firstDone = false
    let secondDone = false
    const first = gc
      .run(() => db.prepare('INSERT INTO t VALUES (1)').run())
      .then(() => (firstDone = true))
    await tick()
    expect(s.started).toBe(1) // committed, fsync in flight
    expect(db.prepare('SELECT count(*) n FROM t').get()).toEqual({ n: 1 })
    const second = gc
      .run(() => db.prepare('INSERT INTO t VALUES (2)').run())
      .then(() => (secondDone = true))
    await tick()
    expect(s.started).toBe(1) // the second batch waits for the next round
    s.release()
    await first
    expect(firstDone).toBe(true)
    expect(secondDone).toBe(false)
    await tick()
    expect(s.started).toBe(2)
    s.release()
    await second
    expect(secondDone).toBe(true)
  })

  it('rejects the batch when the fsync fails', async () => {
    const { db, s, gc } = setup()
    s.fail = true
    const p = gc.run(() => db.prepare('INSERT INTO t VALUES (1)').run())
    await tick()
    s.release()
    await expect(p).rejects.toMatchObject({ kind: 'unavailable' })
  })

  it('a real database opened with asyncDurability keeps acknowledged writes across close and reopen', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'latchkey-wal-'))
    try {
      const path = join(dir, 'x.db')
      const db = openDatabase(path, { exclusive: true, asyncDurability: true })
      expect(db.pragma('synchronous', { simple: true })).toBe(0)
      db.exec('CREATE TABLE t (v INTEGER)')
      const gc = new GroupCommit(db)
      await Promise.all(
        Array.from({ length: 50 }, (_, i) =>
          gc.run(() => db.prepare('INSERT INTO t VALUES (?)').run(i)),
        ),
      )
      await gc.drain()
      prepareClose(db)
      await walSyncerFor(db)?.close()
      db.close()
      const again = openDatabase(path)
      expect(again.prepare('SELECT count(*) n FROM t').get()).toEqual({ n: 50 })
      again.close()
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })
})
