/**
 * Runs the MetadataStore conformance suite against SQLite (a WAL file in a temp dir, as in
 * production), plus SQLite-specific checks: migrations are idempotent, data survives reopen.
 * @module
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { metadataStoreConformance, obj } from '../../../test/conformance/metadata-store.case.js'
import { MemoryChangeFeed } from '../memory/change-feed.js'
import { CachedMetadataStore } from '../cached/metadata-store.js'
import { openDatabase, runMigrations } from './db.js'
import { compareKeys, successor } from '../../lib/key-order.js'
import { SqliteMetadataStore } from './metadata-store.js'
import { openSqlite } from './index.js'

metadataStoreConformance('sqlite', () => {
  const dir = mkdtempSync(join(tmpdir(), 'lk-meta-'))
  const db = openDatabase(join(dir, 'meta.db'))
  const changes = new MemoryChangeFeed()
  const store = new SqliteMetadataStore(db, { closeDb: true, changes })
  return Promise.resolve({
    store,
    changes,
    cleanup: async () => {
      await store.close()
      rmSync(dir, { recursive: true, force: true })
    },
  })
})

// The server's bundle: the cache decorator over SQLite, async durability, one shared committer.
metadataStoreConformance('cached over sqlite (the openSqlite bundle)', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'lk-meta-'))
  const stores = await openSqlite(join(dir, 'meta.db'), {
    blobDir: join(dir, 'objects'),
    exclusive: true,
    asyncDurability: true,
  })
  return {
    store: stores.metadata,
    changes: stores.changes,
    cleanup: async () => {
      await stores.close()
      rmSync(dir, { recursive: true, force: true })
    },
  }
})

describe('the openSqlite bundle', () => {
  it('caches through the feed: a write by another store on the connection reaches the cache', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'lk-meta-'))
    try {
      const stores = await openSqlite(join(dir, 'meta.db'), { blobDir: join(dir, 'objects') })
      expect(stores.metadata).toBeInstanceOf(CachedMetadataStore)
      await stores.metadata.createBucket({ name: 'b', accountId: 'a', createdAt: 1, region: 'r' })
      await stores.metadata.putObject(obj('b', 'k', { etag: '1'.repeat(32) }))
      expect((await stores.metadata.getObject('b', 'k'))?.etag).toBe('1'.repeat(32))
      // Behind the cache's back, through the port: a second store on the same committer and feed.
      const behind = new SqliteMetadataStore(stores.db, {
        commits: stores.commits,
        changes: stores.changes,
      })
      await behind.putObject(obj('b', 'k', { etag: '2'.repeat(32) }))
      expect((await stores.metadata.getObject('b', 'k'))?.etag).toBe('2'.repeat(32))
      await stores.close()
      await stores.close() // idempotent
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })
})

describe('sqlite specifics', () => {
  it('uses WAL and synchronous=FULL', () => {
    const dir = mkdtempSync(join(tmpdir(), 'lk-meta-'))
    try {
      const db = openDatabase(join(dir, 'x.db'))
      expect(db.pragma('journal_mode', { simple: true })).toBe('wal')
      expect(db.pragma('synchronous', { simple: true })).toBe(2)
      expect(db.pragma('foreign_keys', { simple: true })).toBe(1)
      db.close()
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })

  it('runs each migration step once and records it', () => {
    const db = openDatabase(':memory:')
    runMigrations(db, 'demo', ['CREATE TABLE t (a)'])
    runMigrations(db, 'demo', ['CREATE TABLE t (a)', 'ALTER TABLE t ADD COLUMN b'])
    runMigrations(db, 'demo', ['CREATE TABLE t (a)', 'ALTER TABLE t ADD COLUMN b'])
    const cols = (db.prepare('PRAGMA table_info(t)').all() as { name: string }[]).map((c) => c.name)
    expect(cols).toEqual(['a', 'b'])
    expect(db.prepare("SELECT step FROM migrations WHERE name = 'demo'").all()).toEqual([
      { step: 0 },
      { step: 1 },
    ])
    db.close()
  })

  it('keeps committed objects across close and reopen', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'lk-meta-'))
    try {
      const path = join(dir, 'meta.db')
      const s1 = new SqliteMetadataStore(openDatabase(path), { closeDb: true })
      await s1.createBucket({ name: 'b', accountId: 'a', createdAt: 1, region: 'r' })
      await s1.putObject(obj('b', 'k'))
      await s1.close()
      await expect(s1.putObject(obj('b', 'k2'))).rejects.toMatchObject({ kind: 'unavailable' })
      const s2 = new SqliteMetadataStore(openDatabase(path), { closeDb: true })
      expect(await s2.getObject('b', 'k')).toEqual(obj('b', 'k'))
      await s2.close()
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })

  it('successor bounds exactly the strings with a prefix', () => {
    expect(successor('')).toBeUndefined()
    expect(successor('ab')).toBe('ac')
    expect(successor('a/')).toBe('a0')
    expect(successor('a\uD7FF')).toBe('a\uE000')
    expect(successor('a\u{10FFFF}')).toBe('b')
    expect(successor('\u{10FFFF}')).toBeUndefined()
    expect(successor('😀')).toBe('😁')
    expect(compareKeys('\uFFFD', '😀')).toBeLessThan(0)
    expect(compareKeys('😀', '😀')).toBe(0)
  })
})
