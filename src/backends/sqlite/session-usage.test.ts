import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { sessionUsageConformance } from '../../../test/conformance/session-usage.case.js'
import { openDatabase, type Database } from './db.js'
import { GroupCommit } from './group-commit.js'
import { SqliteIdentityStore } from './identity-store.js'
import { SqliteSharedLimits } from './shared-limits.js'

sessionUsageConformance('sqlite', async () => {
  const db = openDatabase(':memory:')
  SqliteIdentityStore.open(db)
  const limits = SqliteSharedLimits.open(db)
  return { limits, close: async () => void db.close() }
})

describe('SQLite upload-cap counters across a reopen', () => {
  const T0 = Date.UTC(2026, 0, 1)
  const EXPIRES = T0 + 3600_000
  const caps = { maxBytes: 1000, maxObjects: 3 }
  let dir: string | undefined
  const open: Database[] = []

  afterEach(() => {
    for (const db of open.splice(0)) if (db.open) db.close()
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true })
    dir = undefined
  })

  function openAt(now: number): { db: Database; commits: GroupCommit; limits: SqliteSharedLimits } {
    dir ??= mkdtempSync(join(tmpdir(), 'latchkey-usage-'))
    const db = openDatabase(join(dir, 'latchkey.db'))
    open.push(db)
    SqliteIdentityStore.open(db)
    const commits = new GroupCommit(db)
    return { db, commits, limits: SqliteSharedLimits.open(db, { commits, now }) }
  }

  it('a reservation is durable once any later write committed, and loads back at open', async () => {
    const a = openAt(T0)
    expect(a.limits.reserveUsage('k', { bytes: 600, objects: 1 }, caps, EXPIRES)).toBeUndefined()
    // The write the reservation was for: queued after it in the same committer.
    await a.commits.run(() => 'stored')
    // No drain, no close path: what the file holds now is what a crash would leave.
    a.db.close()

    const b = openAt(T0 + 1000)
    expect(b.limits.usageOf(['k']).get('k')).toEqual({ bytes: 600, objects: 1 })
    expect(b.limits.reserveUsage('k', { bytes: 401, objects: 0 }, caps, EXPIRES)).toEqual({
      cap: 'max-bytes',
      used: { bytes: 600, objects: 1 },
    })
    expect(b.limits.reserveUsage('k', { bytes: 400, objects: 1 }, caps, EXPIRES)).toBeUndefined()
  })

  it('releases and commits of less are written through too', async () => {
    const a = openAt(T0)
    a.limits.reserveUsage('r', { bytes: 500, objects: 1 }, caps, EXPIRES)
    a.limits.reserveUsage('c', { bytes: 500, objects: 1 }, caps, EXPIRES)
    a.limits.releaseUsage('r', { bytes: 500, objects: 1 })
    a.limits.commitUsage('c', { bytes: 500, objects: 1 }, { bytes: 20, objects: 1 })
    await a.commits.run(() => undefined)
    a.db.close()

    const b = openAt(T0)
    expect(b.limits.usageOf(['r', 'c'])).toEqual(
      new Map([
        ['r', { bytes: 0, objects: 0 }],
        ['c', { bytes: 20, objects: 1 }],
      ]),
    )
  })

  it('a change no write follows gets a batch of its own after a second', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout'] })
    try {
      const a = openAt(T0)
      a.limits.reserveUsage('i', { bytes: 70, objects: 1 }, caps, EXPIRES)
      const row = (): unknown =>
        a.db.prepare('SELECT bytes, objects FROM iam_session_usage WHERE key = ?').get('i')
      await new Promise((r) => setImmediate(r))
      expect(row()).toBeUndefined() // nothing carried it yet
      vi.advanceTimersByTime(1000)
      await new Promise((r) => setImmediate(r))
      expect(row()).toEqual({ bytes: 70, objects: 1 })
    } finally {
      vi.useRealTimers()
    }
  })

  it('a change no write follows is written by the close path (drain)', async () => {
    const a = openAt(T0)
    a.limits.reserveUsage('d', { bytes: 70, objects: 1 }, caps, EXPIRES)
    // No op queued at all: drain (what the bundle's close runs) starts a batch for it.
    await a.commits.drain()
    a.db.close()
    const b = openAt(T0)
    expect(b.limits.usageOf(['d']).get('d')).toEqual({ bytes: 70, objects: 1 })
  })

  it('expired counters are not loaded, and the sweep deletes their rows', async () => {
    const a = openAt(T0)
    a.limits.reserveUsage('old', { bytes: 5, objects: 1 }, caps, T0 + 1000)
    a.limits.reserveUsage('new', { bytes: 5, objects: 1 }, caps, EXPIRES)
    await a.commits.run(() => undefined)
    a.db.close()

    // Opened after 'old' expired: not loaded.
    const b = openAt(T0 + 2000)
    expect([...b.limits.usageOf(['old', 'new']).keys()]).toEqual(['new'])
    await b.limits.sweep(T0 + 2000)
    expect(
      (
        b.db.prepare('SELECT key FROM iam_session_usage ORDER BY key').all() as { key: string }[]
      ).map((r) => r.key),
    ).toEqual(['new'])
  })
})
