/**
 * A backup made by the running server (SQLite mode), which alone can read its database: it holds
 * it with an exclusive lock, so `sqlite3 .backup` from outside cannot. `takeBackup` writes
 * DATA_DIR/backups/ID/ (never anywhere a caller names: the admin API cannot be made to write
 * outside the data dir) with
 *
 * - `latchkey.db`: a consistent copy of the database, by SQLite's online backup API on the
 *   server's own connection (better-sqlite3's `db.backup`: it copies in steps between which the
 *   event loop runs, and writes made meanwhile on the same connection are carried into the copy,
 *   so the result is the database as of the moment the copy finishes);
 * - `objects/blobs/aa/bb/REF`: every blob the copy references, hard-linked from the blob store
 *   (blobs are immutable and uniquely named, so a link is a copy that costs no space), or copied
 *   when the blob store is on another filesystem;
 * - `manifest.json` (backup/manifest.ts): sizes and SHA-256 of all of them, row counts per table.
 *
 * Why no referenced blob can be missed: a single-node overwrite deletes the replaced body right
 * after its commit (storage/commit.ts, `readsHoldTheirBytes`), and the garbage collector deletes
 * retired ones. Both could remove a blob between the database copy and its link. So deletions
 * are held (FsBlobStore.holdDeletes) from before the copy starts until every referenced blob is
 * linked: meanwhile a replaced body is retired through the ledger instead of deleted (the
 * request is not slowed), and any other delete waits. The hold ends before hashing, which reads
 * only the backup's own links. A blob the copy references that is missing even so is damage in
 * the live store, and the backup fails naming it rather than producing an incomplete backup.
 * @module
 */
import { constants as FS } from 'node:fs'
import { copyFile, link, mkdir, open, rename, rm, writeFile } from 'node:fs/promises'
import { dirname, join, resolve } from 'node:path'
import BetterSqlite3 from 'better-sqlite3'
import type { Database } from './db.js'
import { bodyFromColumns } from '../relational/rows.js'
import { blobRefs } from '../../storage/object-bodies.js'
import {
  BACKUP_DATABASE_FILE,
  blobPath,
  buildManifest,
  isBlobPath,
  BACKUPS_DIR,
  backupId,
  MANIFEST_FILE,
  type BackupMade,
} from '../../backup/manifest.js'

/** What a backup is made from: the server's connection and its file blob store. */
export interface BackupSource {
  readonly db: Database
  readonly blobs: {
    pathOf(ref: string): string
    holdDeletes(): () => void
  }
  readonly dataDir: string
  readonly latchkeyVersion: string
  /** manifest.ts masterKeyFingerprint of the server's master key (the key itself never). */
  readonly masterKeyFingerprint: string
  readonly now: () => number
}

/** The blob refs and per-table row counts of a database file (the copy, not the live one). */
export function readSnapshot(file: string): { refs: string[]; tables: Record<string, number> } {
  const db = new BetterSqlite3(file)
  try {
    // The copy keeps the live database's WAL mode; a rollback journal makes it one
    // self-contained file (no -wal or -shm beside it).
    db.pragma('journal_mode = DELETE')
    const tables: Record<string, number> = {}
    const names = db
      .prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")
      .all() as { name: string }[]
    for (const { name } of names)
      tables[name] = (
        db.prepare(`SELECT count(*) AS n FROM "${name.replace(/"/g, '""')}"`).get() as { n: number }
      ).n
    const refs = new Set<string>()
    const has = (t: string): boolean => t in tables
    const sources = ['objects', 'parts'].filter(has)
    for (const t of sources) {
      const rows = db
        .prepare(`SELECT body_kind, body_ref FROM ${t} WHERE body_ref IS NOT NULL`)
        .iterate() as Iterable<{ body_kind: string; body_ref: string }>
      for (const r of rows)
        for (const ref of blobRefs(bodyFromColumns(Object.assign({}, r, { body: null }))))
          refs.add(ref)
    }
    return { refs: [...refs].sort(), tables }
  } finally {
    db.close()
  }
}

/** Link `from` to `to`, or copy it when they are on different filesystems. */
async function linkOrCopy(from: string, to: string): Promise<void> {
  try {
    await link(from, to)
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code
    if (code !== 'EXDEV' && code !== 'EPERM' && code !== 'EMLINK') throw e
    await copyFile(from, to, FS.COPYFILE_FICLONE)
  }
}

async function fsyncFile(path: string): Promise<void> {
  const fh = await open(path, 'r')
  try {
    await fh.sync()
  } finally {
    await fh.close()
  }
}

/** Make a backup in DATA_DIR/backups/ID (see the module comment). Removes it on failure. */
export async function takeBackup(src: BackupSource): Promise<BackupMade> {
  const createdAt = src.now()
  const id = backupId(createdAt)
  // Absolute: the answer names it to a CLI whose working directory is not the server's.
  const root = join(resolve(src.dataDir), BACKUPS_DIR)
  const dir = join(root, id)
  await mkdir(root, { recursive: true, mode: 0o700 })
  await mkdir(dir, { mode: 0o700 })
  try {
    let refs: string[]
    let tables: Record<string, number>
    const release = src.blobs.holdDeletes()
    try {
      await src.db.backup(join(dir, BACKUP_DATABASE_FILE))
      ;({ refs, tables } = readSnapshot(join(dir, BACKUP_DATABASE_FILE)))
      const made = new Set<string>()
      for (const ref of refs) {
        const rel = blobPath(ref)
        if (!isBlobPath(rel))
          throw new Error(`the database references a malformed blob name: ${ref}`)
        const to = join(dir, rel)
        const parent = dirname(to)
        if (!made.has(parent)) {
          await mkdir(parent, { recursive: true })
          made.add(parent)
        }
        try {
          await linkOrCopy(src.blobs.pathOf(ref), to)
        } catch (e) {
          if ((e as NodeJS.ErrnoException).code === 'ENOENT')
            throw new Error(
              `blob ${ref} is referenced by the database but missing from the blob store`,
            )
          throw e
        }
      }
    } finally {
      release()
    }
    await fsyncFile(join(dir, BACKUP_DATABASE_FILE))
    const manifest = await buildManifest({
      dir,
      id,
      createdAt: new Date(createdAt),
      latchkeyVersion: src.latchkeyVersion,
      masterKeyFingerprint: src.masterKeyFingerprint,
      blobRefs: refs,
      tables,
    })
    const tmp = join(dir, `${MANIFEST_FILE}.tmp`)
    await writeFile(tmp, JSON.stringify(manifest, null, 2) + '\n', { mode: 0o600 })
    await fsyncFile(tmp)
    await rename(tmp, join(dir, MANIFEST_FILE))
    return { id, dir, manifest }
  } catch (e) {
    await rm(dir, { recursive: true, force: true }).catch(() => undefined)
    throw e
  }
}
