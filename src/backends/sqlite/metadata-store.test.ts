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
import { openDatabase, runMigrations } from './db.js'
import { compareKeys, successor } from './key-order.js'
import { SqliteMetadataStore } from './metadata-store.js'

metadataStoreConformance('sqlite', () => {
  const dir = mkdtempSync(join(tmpdir(), 'lk-meta-'))
  const db = openDatabase(join(dir, 'meta.db'))
  const store = new SqliteMetadataStore(db, { closeDb: true })
  return Promise.resolve({
    store,
    cleanup: async () => {
      await store.close()
      rmSync(dir, { recursive: true, force: true })
    },
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
