/**
 * Bulk seeding for the listing benchmark: inserts n small inline objects straight into the
 * objects table in one transaction (≈1M rows in seconds), bypassing group commit. Keys are
 * `dir-DDDDD/obj-NNNNNNNN` spread over `dirs` directories, so a delimiter listing at the root
 * yields `dirs` common prefixes with n/dirs keys under each (what the seek must skip).
 * Not for production paths.
 * @module
 */
import { createHash } from 'node:crypto'
import type { Database } from '../src/backends/sqlite/db.js'
import { SqliteMetadataStore } from '../src/backends/sqlite/metadata-store.js'

export interface SeedOptions {
  /** Number of directories the keys spread over (default 2000). */
  readonly dirs?: number
  readonly accountId?: string
}

export function seedKey(i: number, dirs: number): string {
  return `dir-${String(i % dirs).padStart(5, '0')}/obj-${String(i).padStart(8, '0')}`
}

/** Create `bucket` (if missing) and insert n objects. Returns the number inserted. */
export function seedObjects(
  db: Database,
  bucket: string,
  n: number,
  opts: SeedOptions = {},
): number {
  // Constructing a store runs the migrations; it is not used afterwards.
  void new SqliteMetadataStore(db)
  const dirs = Math.max(1, opts.dirs ?? 2000)
  const account = opts.accountId ?? 'bench'
  const body = Buffer.from('x')
  const etag = createHash('md5').update(body).digest('hex')
  const meta = JSON.stringify({ h: { contentType: 'application/octet-stream' }, m: {} })
  db.prepare(
    'INSERT OR IGNORE INTO buckets (name, account_id, created_at, region) VALUES (?, ?, ?, ?)',
  ).run(bucket, account, 0, 'us-east-1')
  const insert = db.prepare(
    `INSERT OR REPLACE INTO objects
      (bucket, key, size, etag, last_modified, owner, meta, tags, body_kind, body_ref, body)
     VALUES (?, ?, 1, ?, 0, ?, ?, '{}', 'inline', NULL, ?)`,
  )
  db.transaction(() => {
    for (let i = 0; i < n; i++) insert.run(bucket, seedKey(i, dirs), etag, account, meta, body)
  })()
  return n
}
