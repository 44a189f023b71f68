/**
 * The server-side backup (backends/sqlite/backup.ts) on a real SQLite bundle and file blob store: the copy
 * references exactly the blobs it links (inline bodies need none, a multipart body all its
 * parts), a blob whose deletion is asked for while the backup runs is still captured (the
 * deletion hold), and without the hold that same deletion leaves a blob the database references
 * missing, which fails the backup and leaves nothing behind. Also FsBlobStore.holdDeletes itself.
 * @module
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, unlinkSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { isAbsolute, join, relative } from 'node:path'
import { Readable } from 'node:stream'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { FsBlobStore } from '../fs/blob-store.js'
import { bodyRefText } from '../relational/rows.js'
import { openSqlite, type SqliteStores } from './index.js'
import type { BodyRef } from '../../storage/metadata-store.js'
import { BACKUPS_DIR, blobPath, parseManifest, verifyFiles } from '../../backup/manifest.js'
import { takeBackup, type BackupSource } from './backup.js'

let dataDir: string
let stores: SqliteStores
let blobs: FsBlobStore

beforeEach(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'lk-snapshot-'))
  blobs = await FsBlobStore.open(join(dataDir, 'objects'))
  stores = await openSqlite(join(dataDir, 'latchkey.db'), { blobs, exclusive: true })
})
afterEach(async () => {
  await stores.close()
  rmSync(dataDir, { recursive: true, force: true })
})

async function blob(text: string): Promise<string> {
  return (await blobs.put(Readable.from([Buffer.from(text)]))).ref
}

function row(key: string, body: BodyRef): void {
  const text = body.kind === 'inline' ? null : bodyRefText(body)
  stores.db
    .prepare(
      `INSERT INTO objects (bucket, key, size, etag, last_modified, owner, meta, tags, body_kind, body_ref, body)
       VALUES ('b', ?, 0, '"e"', 0, 'a', '{}', '{}', ?, ?, ?)`,
    )
    .run(key, body.kind, text, body.kind === 'inline' ? body.bytes : null)
}

const source = (over: Partial<BackupSource> = {}): BackupSource => ({
  db: stores.db,
  blobs,
  dataDir,
  latchkeyVersion: 'test',
  masterKeyFingerprint: '0123456789abcdef',
  now: () => Date.UTC(2026, 11, 3, 12),
  ...over,
})

describe('takeBackup', () => {
  it('answers an absolute path even for a relative data dir (the CLI runs elsewhere)', async () => {
    const rel = relative(process.cwd(), dataDir)
    const made = await takeBackup(source({ dataDir: rel }))
    expect(made.dir).toBe(join(dataDir, BACKUPS_DIR, made.id))
    expect(isAbsolute(made.dir)).toBe(true)
  })

  it('copies the database and exactly the blobs it references, with a manifest that verifies', async () => {
    const whole = await blob('whole object')
    const p1 = await blob('part one')
    const p2 = await blob('part two')
    await blob('an orphan nothing references')
    row('inline', { kind: 'inline', bytes: Buffer.from('small') })
    row('whole', { kind: 'blob', ref: whole, size: 12 })
    row('multi', {
      kind: 'parts',
      parts: [
        { ref: { kind: 'blob', ref: p1, size: 8 }, size: 8 },
        { ref: { kind: 'blob', ref: p2, size: 8 }, size: 8 },
      ],
    })
    const made = await takeBackup(source())
    expect(made.dir).toBe(join(dataDir, BACKUPS_DIR, made.id))
    expect(made.id).toMatch(/^2026-12-03T12-00-00-000Z-[0-9a-f]{6}$/)
    expect(made.manifest.blobs.map((b) => b.path).sort()).toEqual(
      [whole, p1, p2].map(blobPath).sort(),
    )
    expect(made.manifest.counts.tables['objects']).toBe(3)
    const onDisk = parseManifest(readFileSync(join(made.dir, 'manifest.json'), 'utf8'))
    expect(onDisk).toEqual(made.manifest)
    expect(await verifyFiles(made.dir, onDisk)).toEqual([])
    expect(readFileSync(join(made.dir, blobPath(whole)), 'utf8')).toBe('whole object')
    // A self-contained database file: no -wal or -shm beside it.
    expect(readdirSync(made.dir).sort()).toEqual(['latchkey.db', 'manifest.json', 'objects'])
  })

  it('a blob whose deletion is asked for during the backup is captured; the deletion waits for the end', async () => {
    const ref = await blob('replaced while the backup runs')
    row('k', { kind: 'blob', ref, size: 30 })
    let deletion: Promise<void> | undefined
    let deleted = false
    let retiresInstead: boolean | undefined
    const made = await takeBackup(
      source({
        blobs: {
          pathOf: (r) => blobs.pathOf(r),
          holdDeletes: () => {
            const release = blobs.holdDeletes()
            // What an overwrite's commit or the garbage collector would do meanwhile.
            retiresInstead = !blobs.readsHoldTheirBytes
            deletion = blobs.delete(ref).then(() => void (deleted = true))
            return release
          },
        },
      }),
    )
    expect(retiresInstead).toBe(true)
    expect(readFileSync(join(made.dir, blobPath(ref)), 'utf8')).toBe(
      'replaced while the backup runs',
    )
    await deletion
    expect(deleted).toBe(true)
    expect(existsSync(blobs.pathOf(ref))).toBe(false)
    expect(blobs.readsHoldTheirBytes).toBe(true)
    expect(await verifyFiles(made.dir, made.manifest)).toEqual([])
  })

  it('without the hold, that deletion leaves a referenced blob missing: the backup fails and leaves nothing', async () => {
    const ref = await blob('deleted under the backup')
    row('k', { kind: 'blob', ref, size: 24 })
    const noHold = {
      pathOf: (r: string) => blobs.pathOf(r),
      holdDeletes: () => {
        unlinkSync(blobs.pathOf(ref))
        return () => {}
      },
    }
    await expect(takeBackup(source({ blobs: noHold }))).rejects.toThrow(
      `blob ${ref} is referenced by the database but missing from the blob store`,
    )
    expect(readdirSync(join(dataDir, BACKUPS_DIR))).toEqual([])
  })
})

describe('FsBlobStore.holdDeletes', () => {
  it('while held: replaced bodies are retired (readsHoldTheirBytes false) and deletes wait; holds nest', async () => {
    const ref = await blob('x')
    expect(blobs.readsHoldTheirBytes).toBe(true)
    const a = blobs.holdDeletes()
    const b = blobs.holdDeletes()
    expect(blobs.readsHoldTheirBytes).toBe(false)
    let done = false
    const d = blobs.delete(ref).then(() => void (done = true))
    a()
    a() // releasing twice releases once
    await new Promise((r) => setImmediate(r))
    expect(done).toBe(false)
    expect(existsSync(blobs.pathOf(ref))).toBe(true)
    b()
    await d
    expect(existsSync(blobs.pathOf(ref))).toBe(false)
    expect(blobs.readsHoldTheirBytes).toBe(true)
  })
})
