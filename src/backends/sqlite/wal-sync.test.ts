/**
 * Async durability: with a WAL syncer registered, a batch is acknowledged only after an fsync that
 * started after its COMMIT; failures reject; and a real on-disk database opened with
 * `asyncDurability` survives close/reopen with everything acknowledged.
 */
import { describe, it, expect, vi } from 'vitest'
import { open, type FileHandle } from 'node:fs/promises'
import { mkdtempSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { openDatabase, type Database } from './db.js'
import { GroupCommit } from './group-commit.js'
import { enableAsyncDurability, WalSyncer, prepareClose } from './wal-sync.js'

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
  override needsCheckpoint(): Promise<boolean> {
    return Promise.resolve(false)
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
  // No floor between commits (group-commit.ts minIntervalMs): these tests count loop turns.
  return { db, s, gc: new GroupCommit(db, { syncer: s, minIntervalMs: 0 }) }
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
    await tick() // a lone write commits after one quiet loop turn (group-commit.ts)
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
    await tick()
    s.release()
    await expect(p).rejects.toMatchObject({ kind: 'unavailable' })
  })

  it('a real database opened with asyncDurability keeps acknowledged writes across close and reopen', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'latchkey-wal-'))
    try {
      const path = join(dir, 'x.db')
      const db = openDatabase(path, { exclusive: true })
      const syncer = enableAsyncDurability(db, path)
      expect(db.pragma('synchronous', { simple: true })).toBe(0)
      db.exec('CREATE TABLE t (v INTEGER)')
      const gc = new GroupCommit(db, { syncer })
      await Promise.all(
        Array.from({ length: 50 }, (_, i) =>
          gc.run(() => db.prepare('INSERT INTO t VALUES (?)').run(i)),
        ),
      )
      await gc.drain()
      prepareClose(db)
      await syncer.close()
      db.close()
      const again = openDatabase(path)
      expect(again.prepare('SELECT count(*) n FROM t').get()).toEqual({ n: 50 })
      again.close()
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })

  it('syncs the WAL with fdatasync (data and size, not the mtime), once per batch', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'latchkey-wal-'))
    const proto = (await open(process.execPath, 'r').then(async (h) => {
      await h.close()
      return Object.getPrototypeOf(h)
    })) as FileHandle
    const full = vi.spyOn(proto, 'sync')
    const data = vi.spyOn(proto, 'datasync')
    try {
      const path = join(dir, 'x.db')
      const db = openDatabase(path, { exclusive: true })
      const syncer = enableAsyncDurability(db, path)
      db.exec('CREATE TABLE t (v INTEGER)')
      const gc = new GroupCommit(db, { syncer })
      await gc.run(() => db.prepare('INSERT INTO t VALUES (1)').run())
      expect(data).toHaveBeenCalledTimes(1)
      expect(full).not.toHaveBeenCalled()
      await gc.drain()
      prepareClose(db)
      await syncer.close()
      db.close()
    } finally {
      full.mockRestore()
      data.mockRestore()
      rmSync(dir, { recursive: true, force: true })
    }
  })

  it('checkpoints a large WAL into the database file and keeps everything across reopen', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'latchkey-wal-'))
    try {
      const path = join(dir, 'x.db')
      const db = openDatabase(path, { exclusive: true })
      const syncer = enableAsyncDurability(db, path, { checkpointBytes: 64 * 1024 })
      db.exec('CREATE TABLE t (v INTEGER, pad TEXT)')
      const gc = new GroupCommit(db, { syncer })
      const before = statSync(path).size
      const pad = 'p'.repeat(1000)
      for (let round = 0; round < 20; round++) {
        await Promise.all(
          Array.from({ length: 20 }, (_, i) =>
            gc.run(() => db.prepare('INSERT INTO t VALUES (?, ?)').run(round * 20 + i, pad)),
          ),
        )
      }
      await gc.drain()
      // 400 KB went in; checkpoints copied it into the database file while the server ran.
      expect(statSync(path).size).toBeGreaterThan(before + 200 * 1024)
      prepareClose(db)
      await syncer.close()
      db.close()
      const again = openDatabase(path)
      expect(again.prepare('SELECT count(*) n, sum(v) s FROM t').get()).toEqual({
        n: 400,
        s: (399 * 400) / 2,
      })
      again.close()
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })

  it('starts no transaction while the checkpointed database file is being synced', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'latchkey-wal-'))
    try {
      const path = join(dir, 'x.db')
      const db = openDatabase(path, { exclusive: true })
      void enableAsyncDurability(db, path) // the pragmas; the gated syncer below does the syncing
      let gate: (() => void) | undefined
      let checkpoints = 0
      class GatedSyncer extends WalSyncer {
        override needsCheckpoint(): Promise<boolean> {
          return Promise.resolve(checkpoints === 0)
        }
        override async checkpoint(): Promise<void> {
          checkpoints++
          await new Promise<void>((r) => (gate = r))
          await super.checkpoint()
        }
      }
      const syncer = new GatedSyncer(db, path)
      db.exec('CREATE TABLE t (v INTEGER)')
      const gc = new GroupCommit(db, { syncer })
      await gc.run(() => db.prepare('INSERT INTO t VALUES (1)').run())
      // The round that acknowledged the insert is now checkpointing (gated).
      for (let i = 0; i < 5 && gate === undefined; i++) await tick()
      expect(gate).toBeDefined()
      let done = false
      const held = gc
        .run(() => db.prepare('INSERT INTO t VALUES (2)').run())
        .then(() => (done = true))
      for (let i = 0; i < 5; i++) await tick()
      expect(db.prepare('SELECT count(*) n FROM t').get()).toEqual({ n: 1 })
      expect(done).toBe(false)
      gate?.()
      await held
      expect(db.prepare('SELECT count(*) n FROM t').get()).toEqual({ n: 2 })
      await gc.drain()
      prepareClose(db)
      await syncer.close()
      db.close()
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })

  it('probes the WAL for a checkpoint at most once per probe interval', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'latchkey-wal-'))
    try {
      const path = join(dir, 'x.db')
      const db = openDatabase(path, { exclusive: true })
      let t = 1000
      const syncer = enableAsyncDurability(db, path, {
        checkpointBytes: 64 * 1024,
        probeIntervalMs: 50,
        now: () => t,
      })
      db.exec('CREATE TABLE t (v INTEGER, pad TEXT)')
      const write = (n: number): void => {
        db.transaction(() => {
          for (let i = 0; i < n; i++)
            db.prepare('INSERT INTO t VALUES (?, ?)').run(i, 'p'.repeat(1000))
        })()
      }
      write(10)
      expect(await syncer.needsCheckpoint()).toBe(false) // probed: below the threshold
      write(60)
      t += 49
      expect(await syncer.needsCheckpoint()).toBe(false) // not probed yet
      t += 1
      expect(await syncer.needsCheckpoint()).toBe(true)
      prepareClose(db)
      await syncer.close()
      db.close()
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })

  it('keeps the WAL file across restarts and checkpoints when the current WAL reaches the threshold', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'latchkey-wal-'))
    try {
      const path = join(dir, 'x.db')
      const db = openDatabase(path, { exclusive: true })
      const limit = 64 * 1024
      const syncer = enableAsyncDurability(db, path, { checkpointBytes: limit })
      db.exec('CREATE TABLE t (v INTEGER, pad TEXT)')
      const pad = 'p'.repeat(1000)
      let v = 0
      const write = (n: number): void => {
        db.transaction(() => {
          for (let i = 0; i < n; i++) db.prepare('INSERT INTO t VALUES (?, ?)').run(v++, pad)
        })()
      }
      write(10) // ~10 KB of frames
      expect(await syncer.needsCheckpoint()).toBe(false)
      write(60) // past 64 KB (below twice it: trimmed only past that)
      expect(await syncer.needsCheckpoint()).toBe(true)
      await syncer.checkpoint()
      const grown = statSync(`${path}-wal`).size
      expect(grown).toBeGreaterThan(limit)
      // The next write restarts the WAL from its start: the file keeps its size (no trim), and
      // the stale frames past the new end do not count.
      write(1)
      expect(statSync(`${path}-wal`).size).toBe(grown)
      expect(await syncer.needsCheckpoint()).toBe(false)
      write(60)
      expect(await syncer.needsCheckpoint()).toBe(true)
      prepareClose(db)
      await syncer.close()
      db.close()
      const again = openDatabase(path)
      expect(again.prepare('SELECT count(*) n FROM t').get()).toEqual({ n: v })
      again.close()
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })
})
