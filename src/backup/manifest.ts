/**
 * A backup's manifest (`manifest.json` in the backup directory) and its verification, shared by
 * the server that makes a backup (backends/sqlite/backup.ts), the CLI that copies it (`latchkey backup`) and
 * the one that restores it (`latchkey restore`). The manifest names every file of the backup
 * with its size and SHA-256, so a flipped byte anywhere is found before anything is restored; it
 * also names the master key as what the backup does not contain: the database's secrets are
 * sealed under it, and keeping it apart means a stolen backup reveals no secret.
 *
 * Every path in a manifest is checked against the one layout a backup has (`latchkey.db` and
 * `objects/blobs/aa/bb/REF`) before it is used: a manifest is input from disk, and restore
 * writes where it says, so a `../` in it must not reach the filesystem.
 * @module
 */
import { createHash, randomBytes } from 'node:crypto'
import { createReadStream, readFileSync } from 'node:fs'
import { stat } from 'node:fs/promises'
import { join } from 'node:path'
import { z } from 'zod'
import { deriveKey } from '../crypto/seal.js'

export const MANIFEST_FILE = 'manifest.json'
export const BACKUP_FORMAT = 'latchkey-backup'
export const BACKUP_FORMAT_VERSION = 1
/** The database's file name in a backup and in a data dir. */
export const BACKUP_DATABASE_FILE = 'latchkey.db'

/** What the manifest says about the master key: it is not in the backup. */
export const MASTER_KEY_NOTE =
  "The master key is NOT in this backup. Keep it separately (LATCHKEY_MASTER_KEY, or the data dir's master.key file): every stored secret is sealed under it, and a server started on a restored data dir needs the same key."

/**
 * Which master key a backup's secrets are sealed under, without revealing it: 8 bytes of a key
 * derived from it for this purpose alone (HKDF, its own label), in hex. Restore compares it with
 * LATCHKEY_MASTER_KEY when that is set, so a wrong key is caught before a server starts with it.
 */
export function masterKeyFingerprint(masterKey: Buffer): string {
  return deriveKey(masterKey, 'latchkey/backup-key-fingerprint/v1').subarray(0, 8).toString('hex')
}

const BLOB_PATH = /^objects\/blobs\/([A-Za-z0-9_-]{2})\/([A-Za-z0-9_-]{2})\/([A-Za-z0-9_-]{4,128})$/
const SHA256 = /^[0-9a-f]{64}$/

/** Where blob `ref` sits in a backup (and under a data dir): the file blob store's layout. */
export function blobPath(ref: string): string {
  return `objects/blobs/${ref.slice(0, 2)}/${ref.slice(2, 4)}/${ref}`
}

/** True for the path of a blob in the backup layout (and nothing else: no `..`, no absolute). */
export function isBlobPath(path: string): boolean {
  const m = BLOB_PATH.exec(path)
  return m !== null && m[3]?.slice(0, 2) === m[1] && m[3]?.slice(2, 4) === m[2]
}

const fileEntry = z.object({
  path: z.string(),
  size: z.number().int().nonnegative(),
  sha256: z.string().regex(SHA256),
})
export type FileEntry = z.infer<typeof fileEntry>

const manifestSchema = z.object({
  format: z.literal(BACKUP_FORMAT),
  formatVersion: z.number().int(),
  id: z.string(),
  createdAt: z.string(),
  latchkeyVersion: z.string(),
  database: fileEntry,
  blobs: z.array(fileEntry),
  counts: z.object({
    blobs: z.number().int().nonnegative(),
    blobBytes: z.number().int().nonnegative(),
    tables: z.record(z.string(), z.number().int().nonnegative()),
  }),
  masterKey: z.object({
    included: z.literal(false),
    fingerprint: z.string().regex(/^[0-9a-f]{16}$/),
    note: z.string(),
  }),
})
export type Manifest = z.infer<typeof manifestSchema>

/** SHA-256 (hex) and size of a file, streamed. */
export async function hashFile(path: string): Promise<{ size: number; sha256: string }> {
  const h = createHash('sha256')
  let size = 0
  for await (const chunk of createReadStream(path, { highWaterMark: 1024 * 1024 })) {
    const buf = chunk as Buffer
    size += buf.length
    h.update(buf)
  }
  return { size, sha256: h.digest('hex') }
}

/** The entry for `path` (relative to `dir`), hashed from disk. */
export async function entryOf(dir: string, path: string): Promise<FileEntry> {
  return { path, ...(await hashFile(join(dir, path))) }
}

/** The manifest for a database file and its blobs, all already in `dir`. */
export async function buildManifest(o: {
  readonly dir: string
  readonly id: string
  readonly createdAt: Date
  readonly latchkeyVersion: string
  readonly masterKeyFingerprint: string
  readonly blobRefs: readonly string[]
  readonly tables: Readonly<Record<string, number>>
}): Promise<Manifest> {
  const database = await entryOf(o.dir, BACKUP_DATABASE_FILE)
  const blobs: FileEntry[] = []
  for (const ref of o.blobRefs) blobs.push(await entryOf(o.dir, blobPath(ref)))
  return {
    format: BACKUP_FORMAT,
    formatVersion: BACKUP_FORMAT_VERSION,
    id: o.id,
    createdAt: o.createdAt.toISOString(),
    latchkeyVersion: o.latchkeyVersion,
    database,
    blobs,
    counts: {
      blobs: blobs.length,
      blobBytes: blobs.reduce((n, b) => n + b.size, 0),
      tables: { ...o.tables },
    },
    masterKey: { included: false, fingerprint: o.masterKeyFingerprint, note: MASTER_KEY_NOTE },
  }
}

/** A manifest read from text: parsed and checked (format, version, every path), or one line why not. */
export function parseManifest(text: string): Manifest {
  let json: unknown
  try {
    json = JSON.parse(text)
  } catch {
    throw new Error(`${MANIFEST_FILE} is not JSON`)
  }
  const r = manifestSchema.safeParse(json)
  if (!r.success) {
    const issue = r.error.issues[0]
    throw new Error(
      `${MANIFEST_FILE} is not a Latchkey backup manifest (${issue?.path.join('.') ?? ''}: ${issue?.message ?? 'invalid'})`,
    )
  }
  const m = r.data
  if (m.formatVersion !== BACKUP_FORMAT_VERSION)
    throw new Error(
      `${MANIFEST_FILE} has format version ${m.formatVersion}; this Latchkey reads version ${BACKUP_FORMAT_VERSION}`,
    )
  if (m.database.path !== BACKUP_DATABASE_FILE)
    throw new Error(
      `${MANIFEST_FILE}: the database must be ${BACKUP_DATABASE_FILE}, not ${m.database.path}`,
    )
  const seen = new Set<string>()
  for (const b of m.blobs) {
    if (!isBlobPath(b.path))
      throw new Error(`${MANIFEST_FILE}: not a blob path: ${JSON.stringify(b.path)}`)
    if (seen.has(b.path)) throw new Error(`${MANIFEST_FILE}: ${b.path} is listed twice`)
    seen.add(b.path)
  }
  if (m.counts.blobs !== m.blobs.length)
    throw new Error(
      `${MANIFEST_FILE}: counts.blobs is ${m.counts.blobs} but ${m.blobs.length} blobs are listed`,
    )
  return m
}

/**
 * Check every file the manifest names against `dir`: present, the right size, the right SHA-256.
 * Answers the problems found, one line each (empty: the backup is whole).
 */
export async function verifyFiles(dir: string, m: Manifest): Promise<string[]> {
  const problems: string[] = []
  for (const e of [m.database, ...m.blobs]) {
    const path = join(dir, e.path)
    const st = await stat(path).catch(() => undefined)
    if (st === undefined || !st.isFile()) {
      problems.push(`${e.path}: missing`)
      continue
    }
    if (st.size !== e.size) {
      problems.push(`${e.path}: ${st.size} bytes, the manifest says ${e.size}`)
      continue
    }
    const got = await hashFile(path)
    if (got.sha256 !== e.sha256)
      problems.push(`${e.path}: SHA-256 ${got.sha256} does not match the manifest's ${e.sha256}`)
  }
  return problems
}

/** The backups directory inside a data dir. */
export const BACKUPS_DIR = 'backups'

export interface BackupMade {
  readonly id: string
  /** Absolute path of the backup directory (inside the data dir). */
  readonly dir: string
  readonly manifest: Manifest
}

/** The package's version (package.json two levels up, from src/backup or dist/backup). */
export function packageVersion(): string {
  try {
    const pkg = JSON.parse(
      readFileSync(new URL('../../package.json', import.meta.url), 'utf8'),
    ) as { version?: unknown }
    return typeof pkg.version === 'string' ? pkg.version : 'unknown'
  } catch {
    return 'unknown'
  }
}

/** `2026-12-03T12-00-00-000Z-1a2b3c`: sorts by time, safe as a file name. */
export function backupId(now: number): string {
  return `${new Date(now).toISOString().replace(/[:.]/g, '-')}-${randomBytes(3).toString('hex')}`
}
