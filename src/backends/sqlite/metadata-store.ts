/**
 * SqliteMetadataStore: the embedded MetadataStore. Why it looks the way it does:
 * - Small objects live inline in the `objects` row (a 4 KiB GET is one B-tree lookup, no file
 *   open), larger ones as blob refs; the body column is last so listing never reads it.
 * - Writes are group-committed: every mutating call is queued and the queue is flushed in one
 *   transaction on the next `setImmediate` tick (or when it reaches `maxBatch`), so N concurrent
 *   PUTs cost one WAL fsync. Each op runs inside its own SAVEPOINT, so one failing op (bucket
 *   gone…) rejects only its own promise. Promises resolve only after COMMIT (synchronous=FULL).
 * - Reads are synchronous (better-sqlite3) and see only committed state. Nothing is cached here:
 *   the bucket and object caches are a decorator (backends/cached/metadata-store.ts) that learns
 *   of writes from the ChangeFeed this store publishes to, inside each committing transaction.
 * - Listing is O(page) even with a delimiter: a range scan `prefix <= key < successor(prefix)`
 *   that, on meeting a key which rolls up into a common prefix, emits the prefix and restarts the
 *   scan at successor(commonPrefix) instead of walking the keys beneath it.
 * Keys are TEXT compared with SQLite's BINARY collation = UTF-8 byte order = S3 order. Keys must
 * be valid Unicode (the S3 layer rejects lone surrogates, which SQLite would store as U+FFFD).
 * @module
 */
import type { Clock } from '../../lib/clock.js'
import { StorageError } from '../../storage/errors.js'
import type {
  BodyRef,
  BucketRecord,
  BucketSubresource,
  BucketSubresourceEntry,
  DeleteConditions,
  ListObjectsPage,
  ListObjectsQuery,
  ListUploadsPage,
  ListUploadsQuery,
  MetadataStore,
  ObjectRecord,
  StoredAcl,
  ObjectSummary,
  PartRecord,
  UploadRecord,
  WriteConditions,
} from '../../storage/metadata-store.js'
import { deleteConditionFailure, preconditionFailure } from '../../storage/metadata-store.js'
import type { Change, ChangeFeed } from '../../storage/change-feed.js'
import { prepare, runMigrations, type Database } from './db.js'
import { GroupCommit } from './group-commit.js'
import { prepareClose } from './wal-sync.js'
import { compareKeys, successor } from '../../lib/key-order.js'
import { METADATA_MIGRATIONS } from './migrations/metadata.js'
import {
  bodyFromColumns,
  bodyRefText,
  objectMetaOf,
  partFromRow,
  sameBody,
  SUMMARY_COLS,
  summaryFromRow,
  uploadFromRow,
  uploadMetaOf,
  type BodyColumns,
  type ObjectRow,
  type PartRow,
  type UploadRow,
} from '../relational/rows.js'

export interface SqliteMetadataStoreOptions {
  /** Accepted for symmetry with the other stores; records carry their own timestamps. */
  readonly clock?: Clock
  /**
   * The connection's committer (the bundle's, shared with the identity store and acknowledged by
   * its WalSyncer). Without one the store commits through its own, which is right only for a
   * synchronous=FULL connection (tests).
   */
  readonly commits?: GroupCommit
  /** Where committed changes are announced (caches subscribe there). */
  readonly changes?: ChangeFeed
  /** close() also closes the database (default false: whoever opened it closes it). */
  readonly closeDb?: boolean
}

// ---------------------------------------------------------------------------------------------
// Row encoding

function bodyColumns(ref: BodyRef): BodyColumns {
  if (ref.kind === 'inline') return { body_kind: 'inline', body_ref: null, body: ref.bytes }
  return { body_kind: ref.kind, body_ref: bodyRefText(ref), body: null }
}

// ---------------------------------------------------------------------------------------------
// The store

export class SqliteMetadataStore implements MetadataStore {
  private readonly db: Database
  private readonly commits: GroupCommit
  private readonly closeDb: boolean
  private readonly changes: ChangeFeed | undefined
  private closed = false

  constructor(db: Database, opts: SqliteMetadataStoreOptions = {}) {
    this.db = db
    this.closeDb = opts.closeDb ?? false
    this.changes = opts.changes
    runMigrations(db, 'metadata', METADATA_MIGRATIONS)
    this.commits = opts.commits ?? new GroupCommit(db)
  }

  /**
   * Announce a change as the last step of a write, inside its transaction: the op can no longer
   * fail alone, and no other JavaScript runs before the batch's COMMIT, so subscribers see it
   * exactly when the database does. (Should the whole COMMIT fail, the change was spurious, which
   * a cache survives: it only drops an entry.)
   */
  private publish(c: Change): void {
    this.changes?.publish([c])
  }

  /** Throws 'precondition' unless `c` allows writing over `current` (see WriteConditions). */
  private checkConditions(c: WriteConditions | undefined, bucket: string, key: string): void {
    if (c === undefined || (c.ifMatch === undefined && c.ifNoneMatch === undefined)) return
    const row = prepare(this.db, 'SELECT etag FROM objects WHERE bucket = ? AND key = ?').get(
      bucket,
      key,
    ) as { etag: string } | undefined
    const failed = preconditionFailure(c, row?.etag)
    if (failed !== undefined) throw failed
  }

  /** Queue a mutation; it resolves once the batch holding it has committed (group commit). */
  private write<T>(run: () => T): Promise<T> {
    if (this.closed) {
      return Promise.reject(new StorageError('unavailable', 'metadata store is closed'))
    }
    return this.commits.run(run)
  }

  // ----- helpers (run inside a write) ---------------------------------------------------------

  private bucketRow(name: string): { account_id: string } | undefined {
    return prepare(this.db, 'SELECT account_id FROM buckets WHERE name = ?').get(name) as
      { account_id: string } | undefined
  }

  private requireBucket(name: string): void {
    if (this.bucketRow(name) === undefined) {
      throw new StorageError('bucket-not-found', `bucket ${name} does not exist`, { bucket: name })
    }
  }

  private objectBody(bucket: string, key: string): BodyRef | undefined {
    const row = prepare(
      this.db,
      'SELECT body_kind, body_ref, body FROM objects WHERE bucket = ? AND key = ?',
    ).get(bucket, key) as BodyColumns | undefined
    return row === undefined ? undefined : bodyFromColumns(row)
  }

  private upsertObject(o: ObjectRecord): BodyRef | undefined {
    const replaced = this.objectBody(o.bucket, o.key)
    const meta = objectMetaOf(o)
    const b = bodyColumns(o.body)
    // A replacement is DELETE then INSERT (not INSERT OR REPLACE): the blob ledger's AFTER DELETE
    // trigger records the dropped body in this transaction, and a new key runs no trigger.
    if (replaced !== undefined)
      prepare(this.db, 'DELETE FROM objects WHERE bucket = ? AND key = ?').run(o.bucket, o.key)
    prepare(
      this.db,
      `INSERT INTO objects
        (bucket, key, size, etag, last_modified, owner, meta, tags, body_kind, body_ref, body)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    ).run(
      o.bucket,
      o.key,
      o.size,
      o.etag,
      o.lastModified,
      o.ownerAccountId,
      JSON.stringify(meta),
      JSON.stringify(o.tags),
      b.body_kind,
      b.body_ref,
      b.body,
    )
    return replaced
  }

  private uploadRow(uploadId: string): UploadRow | undefined {
    return prepare(this.db, 'SELECT * FROM uploads WHERE upload_id = ?').get(uploadId) as
      UploadRow | undefined
  }

  private requireUpload(uploadId: string): UploadRow {
    const row = this.uploadRow(uploadId)
    if (row === undefined) {
      throw new StorageError('upload-not-found', `upload ${uploadId} does not exist`, { uploadId })
    }
    return row
  }

  private allParts(uploadId: string): PartRecord[] {
    const rows = prepare(
      this.db,
      'SELECT * FROM parts WHERE upload_id = ? ORDER BY part_number',
    ).all(uploadId) as PartRow[]
    return rows.map(partFromRow)
  }

  // ----- buckets ------------------------------------------------------------------------------

  createBucket(b: BucketRecord): Promise<void> {
    return this.write(() => {
      const existing = this.bucketRow(b.name)
      if (existing !== undefined) {
        throw new StorageError('bucket-exists', `bucket ${b.name} already exists`, {
          bucket: b.name,
          ownerAccountId: existing.account_id,
        })
      }
      prepare(
        this.db,
        'INSERT INTO buckets (name, account_id, created_at, region) VALUES (?, ?, ?, ?)',
      ).run(b.name, b.accountId, b.createdAt, b.region)
      this.publish({ kind: 'bucket', bucket: b.name, part: 'created' })
    })
  }

  getBucket(name: string): Promise<BucketRecord | undefined> {
    const row = prepare(this.db, 'SELECT * FROM buckets WHERE name = ?').get(name) as
      { name: string; account_id: string; created_at: number; region: string } | undefined
    return Promise.resolve(
      row === undefined
        ? undefined
        : {
            name: row.name,
            accountId: row.account_id,
            createdAt: row.created_at,
            region: row.region,
          },
    )
  }

  deleteBucket(name: string): Promise<readonly BodyRef[]> {
    return this.write(() => {
      this.requireBucket(name)
      const hasObject = prepare(this.db, 'SELECT 1 FROM objects WHERE bucket = ? LIMIT 1').get(name)
      if (hasObject !== undefined) {
        throw new StorageError('bucket-not-empty', `bucket ${name} is not empty`, { bucket: name })
      }
      // Incomplete uploads go with the bucket; the ledger's trigger records each part's blob.
      const uploads = prepare(this.db, 'SELECT upload_id FROM uploads WHERE bucket = ?').all(
        name,
      ) as { upload_id: string }[]
      const freed: BodyRef[] = []
      for (const { upload_id } of uploads) {
        for (const p of this.allParts(upload_id)) freed.push(p.body)
        prepare(this.db, 'DELETE FROM parts WHERE upload_id = ?').run(upload_id)
        prepare(this.db, 'DELETE FROM uploads WHERE upload_id = ?').run(upload_id)
      }
      prepare(this.db, 'DELETE FROM bucket_subresources WHERE bucket = ?').run(name)
      prepare(this.db, 'DELETE FROM buckets WHERE name = ?').run(name)
      this.publish({ kind: 'bucket', bucket: name, part: 'deleted' })
      return freed
    })
  }

  listBuckets(accountId: string): Promise<readonly BucketRecord[]> {
    const rows = prepare(this.db, 'SELECT * FROM buckets WHERE account_id = ? ORDER BY name').all(
      accountId,
    ) as { name: string; account_id: string; created_at: number; region: string }[]
    return Promise.resolve(
      rows.map((r) => ({
        name: r.name,
        accountId: r.account_id,
        createdAt: r.created_at,
        region: r.region,
      })),
    )
  }

  setBucketSubresource(
    bucket: string,
    kind: BucketSubresource,
    value: string | null,
  ): Promise<void> {
    return this.write(() => {
      this.requireBucket(bucket)
      if (value === null) {
        prepare(this.db, 'DELETE FROM bucket_subresources WHERE bucket = ? AND kind = ?').run(
          bucket,
          kind,
        )
      } else {
        prepare(
          this.db,
          'INSERT OR REPLACE INTO bucket_subresources (bucket, kind, value) VALUES (?, ?, ?)',
        ).run(bucket, kind, value)
      }
      if (kind !== 'tagging') this.publish({ kind: 'bucket', bucket, part: kind })
    })
  }

  getBucketSubresource(bucket: string, kind: BucketSubresource): Promise<string | undefined> {
    const row = prepare(
      this.db,
      'SELECT value FROM bucket_subresources WHERE bucket = ? AND kind = ?',
    ).get(bucket, kind) as { value: string } | undefined
    return Promise.resolve(row?.value)
  }

  listBucketSubresources(
    kind: BucketSubresource,
    after: string | undefined,
    limit: number,
  ): Promise<readonly BucketSubresourceEntry[]> {
    const rows = prepare(
      this.db,
      'SELECT bucket, value FROM bucket_subresources WHERE kind = ? AND bucket > ? ORDER BY bucket LIMIT ?',
    ).all(kind, after ?? '', limit) as { bucket: string; value: string }[]
    return Promise.resolve(rows.map((r) => ({ bucket: r.bucket, value: r.value })))
  }

  // ----- objects ------------------------------------------------------------------------------

  putObject(
    o: ObjectRecord,
    conditions?: WriteConditions,
  ): Promise<{ readonly replaced?: BodyRef }> {
    return this.write(() => {
      this.requireBucket(o.bucket)
      this.checkConditions(conditions, o.bucket, o.key)
      const replaced = this.upsertObject(o)
      this.publish({ kind: 'object', bucket: o.bucket, key: o.key })
      return replaced === undefined ? {} : { replaced }
    })
  }

  getObject(bucket: string, key: string): Promise<ObjectRecord | undefined> {
    const row = prepare(
      this.db,
      `SELECT ${SUMMARY_COLS}, body_kind, body_ref, body FROM objects WHERE bucket = ? AND key = ?`,
    ).get(bucket, key) as (ObjectRow & BodyColumns) | undefined
    return Promise.resolve(
      row === undefined
        ? undefined
        : Object.assign(summaryFromRow(row), { body: bodyFromColumns(row) }),
    )
  }

  deleteObject(
    bucket: string,
    key: string,
    conditions?: DeleteConditions,
  ): Promise<BodyRef | undefined> {
    return this.write(() => {
      this.requireBucket(bucket)
      if (conditions !== undefined) {
        const row = prepare(
          this.db,
          'SELECT etag, last_modified FROM objects WHERE bucket = ? AND key = ?',
        ).get(bucket, key) as { etag: string; last_modified: number } | undefined
        const current =
          row === undefined ? undefined : { etag: row.etag, lastModified: row.last_modified }
        const failed = deleteConditionFailure(conditions, current)
        if (failed !== undefined) throw failed
      }
      const body = this.objectBody(bucket, key)
      if (body !== undefined) {
        prepare(this.db, 'DELETE FROM objects WHERE bucket = ? AND key = ?').run(bucket, key)
        this.publish({ kind: 'object', bucket, key })
      }
      return body
    })
  }

  setObjectTags(
    bucket: string,
    key: string,
    tags: Readonly<Record<string, string>>,
  ): Promise<void> {
    return this.write(() => {
      this.requireBucket(bucket)
      const r = prepare(this.db, 'UPDATE objects SET tags = ? WHERE bucket = ? AND key = ?').run(
        JSON.stringify(tags),
        bucket,
        key,
      )
      if (r.changes === 0) {
        throw new StorageError('key-not-found', `key ${key} does not exist`, { bucket, key })
      }
      this.publish({ kind: 'object', bucket, key })
    })
  }

  setObjectAcl(bucket: string, key: string, acl: StoredAcl): Promise<void> {
    return this.write(() => {
      this.requireBucket(bucket)
      // The ACL lives in the `meta` JSON (rows.ts ObjectMeta.a): no schema change for it.
      const r = prepare(
        this.db,
        "UPDATE objects SET meta = json_set(meta, '$.a', json(?)) WHERE bucket = ? AND key = ?",
      ).run(JSON.stringify(acl), bucket, key)
      if (r.changes === 0) {
        throw new StorageError('key-not-found', `key ${key} does not exist`, { bucket, key })
      }
      this.publish({ kind: 'object', bucket, key })
    })
  }

  /**
   * One page in O(page + commonPrefixes·log n). Entries (keys and common prefixes) are merged in
   * byte order; a common prefix is an entry whose sort position is the prefix itself, so it is
   * returned only when it sorts after `after` (a continuation from a common prefix skips it).
   */
  listObjects(bucket: string, q: ListObjectsQuery): Promise<ListObjectsPage> {
    if (this.bucketRow(bucket) === undefined) {
      return Promise.reject(
        new StorageError('bucket-not-found', `bucket ${bucket} does not exist`, { bucket }),
      )
    }
    const objects: ObjectSummary[] = []
    const commonPrefixes: string[] = []
    const maxKeys = Math.max(0, Math.floor(q.maxKeys))
    if (maxKeys === 0) return Promise.resolve({ objects, commonPrefixes, isTruncated: false })
    const prefix = q.prefix
    const delimiter = q.delimiter === '' ? undefined : q.delimiter
    const upper = prefix === '' ? undefined : successor(prefix)
    const after = q.after
    let lower: { value: string; inclusive: boolean } =
      after !== undefined && compareKeys(after, prefix) >= 0
        ? { value: after, inclusive: false }
        : { value: prefix, inclusive: true }
    const rangeSql = (inclusive: boolean): string =>
      `SELECT ${SUMMARY_COLS} FROM objects WHERE bucket = ? AND key ${inclusive ? '>=' : '>'} ?` +
      (upper !== undefined ? ' AND key < ?' : '') +
      ' ORDER BY key'
    if (delimiter === undefined) {
      // No roll-up: one bounded range read.
      const rows = prepare(this.db, `${rangeSql(lower.inclusive)} LIMIT ?`).all(
        ...(upper !== undefined ? [bucket, lower.value, upper] : [bucket, lower.value]),
        maxKeys + 1,
      ) as ObjectRow[]
      const page = rows.slice(0, maxKeys).map(summaryFromRow)
      const last = page[page.length - 1]
      return Promise.resolve({
        objects: page,
        commonPrefixes,
        isTruncated: rows.length > maxKeys,
        ...(last !== undefined ? { lastReturned: last.key } : {}),
      })
    }
    let lastReturned: string | undefined
    let isTruncated = false
    let count = 0

    scan: for (;;) {
      const sql = rangeSql(lower.inclusive)
      const args = upper !== undefined ? [bucket, lower.value, upper] : [bucket, lower.value]
      let restartAt: string | undefined
      for (const row of prepare(this.db, sql).iterate(...args) as IterableIterator<ObjectRow>) {
        if (count === maxKeys) {
          isTruncated = true
          break scan
        }
        const at = row.key.indexOf(delimiter, prefix.length)
        if (at >= 0) {
          const cp = row.key.slice(0, at + delimiter.length)
          if (after === undefined || compareKeys(cp, after) > 0) {
            commonPrefixes.push(cp)
            lastReturned = cp
            count++
          }
          restartAt = successor(cp)
          if (restartAt === undefined) break scan
          break
        }
        objects.push(summaryFromRow(row))
        lastReturned = row.key
        count++
      }
      if (restartAt === undefined) break
      lower = { value: restartAt, inclusive: true }
    }
    return Promise.resolve({
      objects,
      commonPrefixes,
      isTruncated,
      ...(lastReturned !== undefined ? { lastReturned } : {}),
    })
  }

  // ----- multipart ----------------------------------------------------------------------------

  createUpload(u: UploadRecord): Promise<void> {
    return this.write(() => {
      this.requireBucket(u.bucket)
      const meta = uploadMetaOf(u)
      prepare(
        this.db,
        `INSERT INTO uploads (upload_id, bucket, key, initiated_at, owner, initiator, meta)
         VALUES (?, ?, ?, ?, ?, ?, ?)`,
      ).run(
        u.uploadId,
        u.bucket,
        u.key,
        u.initiatedAt,
        u.ownerAccountId,
        u.initiator,
        JSON.stringify(meta),
      )
    })
  }

  getUpload(bucket: string, key: string, uploadId: string): Promise<UploadRecord | undefined> {
    const row = this.uploadRow(uploadId)
    return Promise.resolve(
      row !== undefined && row.bucket === bucket && row.key === key
        ? uploadFromRow(row)
        : undefined,
    )
  }

  putPart(uploadId: string, p: PartRecord): Promise<{ readonly replaced?: BodyRef }> {
    return this.write(() => {
      this.requireUpload(uploadId)
      const old = prepare(
        this.db,
        'SELECT body_kind, body_ref, body FROM parts WHERE upload_id = ? AND part_number = ?',
      ).get(uploadId, p.partNumber) as BodyColumns | undefined
      const b = bodyColumns(p.body)
      // DELETE then INSERT, as upsertObject does (the blob ledger's trigger sees the old part).
      if (old !== undefined)
        prepare(this.db, 'DELETE FROM parts WHERE upload_id = ? AND part_number = ?').run(
          uploadId,
          p.partNumber,
        )
      prepare(
        this.db,
        `INSERT INTO parts
          (upload_id, part_number, size, etag, last_modified, checksum, body_kind, body_ref, body)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      ).run(
        uploadId,
        p.partNumber,
        p.size,
        p.etag,
        p.lastModified,
        p.checksum !== undefined ? JSON.stringify(p.checksum) : null,
        b.body_kind,
        b.body_ref,
        b.body,
      )
      return old === undefined ? {} : { replaced: bodyFromColumns(old) }
    })
  }

  getPart(uploadId: string, partNumber: number): Promise<PartRecord | undefined> {
    const row = prepare(this.db, 'SELECT * FROM parts WHERE upload_id = ? AND part_number = ?').get(
      uploadId,
      partNumber,
    ) as PartRow | undefined
    return Promise.resolve(row === undefined ? undefined : partFromRow(row))
  }

  listParts(uploadId: string, after: number, max: number): Promise<readonly PartRecord[]> {
    if (this.uploadRow(uploadId) === undefined) {
      return Promise.reject(
        new StorageError('upload-not-found', `upload ${uploadId} does not exist`, { uploadId }),
      )
    }
    const rows = prepare(
      this.db,
      'SELECT * FROM parts WHERE upload_id = ? AND part_number > ? ORDER BY part_number LIMIT ?',
    ).all(uploadId, Math.floor(after), Math.max(0, Math.floor(max))) as PartRow[]
    return Promise.resolve(rows.map(partFromRow))
  }

  /**
   * Uploads ordered by (key, initiated, uploadId), with the same seek-past-common-prefix scan as
   * listObjects. keyMarker alone resumes after that key; with uploadIdMarker it first resumes the
   * marker key's uploads after that upload.
   */
  listUploads(bucket: string, q: ListUploadsQuery): Promise<ListUploadsPage> {
    if (this.bucketRow(bucket) === undefined) {
      return Promise.reject(
        new StorageError('bucket-not-found', `bucket ${bucket} does not exist`, { bucket }),
      )
    }
    const uploads: UploadRecord[] = []
    const commonPrefixes: string[] = []
    const max = Math.max(0, Math.floor(q.maxUploads))
    if (max === 0) return Promise.resolve({ uploads, commonPrefixes, isTruncated: false })
    const prefix = q.prefix
    const delimiter = q.delimiter === '' ? undefined : q.delimiter
    const upper = prefix === '' ? undefined : successor(prefix)
    const km = q.keyMarker === '' ? undefined : q.keyMarker
    let last: { key: string; uploadId?: string } | undefined
    let isTruncated = false
    let count = 0

    const rollsUp = (key: string): boolean =>
      delimiter !== undefined && key.indexOf(delimiter, prefix.length) >= 0

    // 1. The rest of the marker key's uploads.
    if (
      km !== undefined &&
      q.uploadIdMarker !== undefined &&
      q.uploadIdMarker !== '' &&
      km.startsWith(prefix) &&
      !rollsUp(km)
    ) {
      const marker = this.uploadRow(q.uploadIdMarker)
      const rows = (
        marker !== undefined && marker.bucket === bucket && marker.key === km
          ? prepare(
              this.db,
              `SELECT * FROM uploads WHERE bucket = ? AND key = ?
                 AND (initiated_at > ? OR (initiated_at = ? AND upload_id > ?))
               ORDER BY initiated_at, upload_id LIMIT ?`,
            ).all(bucket, km, marker.initiated_at, marker.initiated_at, marker.upload_id, max + 1)
          : prepare(
              this.db,
              `SELECT * FROM uploads WHERE bucket = ? AND key = ? AND upload_id > ?
               ORDER BY initiated_at, upload_id LIMIT ?`,
            ).all(bucket, km, q.uploadIdMarker, max + 1)
      ) as UploadRow[]
      for (const row of rows) {
        if (count === max) {
          isTruncated = true
          break
        }
        uploads.push(uploadFromRow(row))
        last = { key: row.key, uploadId: row.upload_id }
        count++
      }
    }

    // 2. Keys after the marker.
    let lower: { value: string; inclusive: boolean } =
      km !== undefined && compareKeys(km, prefix) >= 0
        ? { value: km, inclusive: false }
        : { value: prefix, inclusive: true }
    scan: while (!isTruncated) {
      const sql =
        `SELECT * FROM uploads WHERE bucket = ? AND key ${lower.inclusive ? '>=' : '>'} ?` +
        (upper !== undefined ? ' AND key < ?' : '') +
        ' ORDER BY key, initiated_at, upload_id'
      const args = upper !== undefined ? [bucket, lower.value, upper] : [bucket, lower.value]
      let restartAt: string | undefined
      for (const row of prepare(this.db, sql).iterate(...args) as IterableIterator<UploadRow>) {
        if (count === max) {
          isTruncated = true
          break scan
        }
        if (delimiter !== undefined) {
          const at = row.key.indexOf(delimiter, prefix.length)
          if (at >= 0) {
            const cp = row.key.slice(0, at + delimiter.length)
            if (km === undefined || compareKeys(cp, km) > 0) {
              commonPrefixes.push(cp)
              last = { key: cp }
              count++
            }
            restartAt = successor(cp)
            if (restartAt === undefined) break scan
            break
          }
        }
        uploads.push(uploadFromRow(row))
        last = { key: row.key, uploadId: row.upload_id }
        count++
      }
      if (restartAt === undefined) break
      lower = { value: restartAt, inclusive: true }
    }
    return Promise.resolve({
      uploads,
      commonPrefixes,
      isTruncated,
      ...(last !== undefined ? { nextKeyMarker: last.key } : {}),
      ...(last?.uploadId !== undefined ? { nextUploadIdMarker: last.uploadId } : {}),
    })
  }

  completeUpload(
    uploadId: string,
    o: ObjectRecord,
    usedParts: readonly number[],
    conditions?: WriteConditions,
  ): Promise<{ readonly replaced?: BodyRef; readonly unused: readonly BodyRef[] }> {
    return this.write(() => {
      const up = this.requireUpload(uploadId)
      if (up.bucket !== o.bucket || up.key !== o.key) {
        throw new StorageError('upload-not-found', `upload ${uploadId} is not for ${o.key}`, {
          uploadId,
        })
      }
      this.requireBucket(o.bucket)
      this.checkConditions(conditions, o.bucket, o.key)
      const parts = this.allParts(uploadId)
      const byNumber = new Map(parts.map((p) => [p.partNumber, p]))
      // A part re-uploaded between the caller's read and this commit would leave the object
      // pointing at a blob that is about to be deleted: refuse instead.
      if (o.body.kind === 'parts' && o.body.parts.length === usedParts.length) {
        o.body.parts.forEach((bp, i) => {
          const current = byNumber.get(usedParts[i] ?? -1)
          if (current === undefined || !sameBody(current.body, bp.ref)) {
            throw new StorageError('conflict', `part ${usedParts[i]} changed during completion`, {
              uploadId,
            })
          }
        })
      }
      const used = new Set(usedParts)
      const unused = parts.filter((p) => !used.has(p.partNumber)).map((p) => p.body)
      prepare(this.db, 'DELETE FROM parts WHERE upload_id = ?').run(uploadId)
      prepare(this.db, 'DELETE FROM uploads WHERE upload_id = ?').run(uploadId)
      const replaced = this.upsertObject(o)
      this.publish({ kind: 'object', bucket: o.bucket, key: o.key })
      return replaced === undefined ? { unused } : { replaced, unused }
    })
  }

  abortUpload(uploadId: string): Promise<readonly BodyRef[]> {
    return this.write(() => {
      this.requireUpload(uploadId)
      const bodies = this.allParts(uploadId).map((p) => p.body)
      prepare(this.db, 'DELETE FROM parts WHERE upload_id = ?').run(uploadId)
      prepare(this.db, 'DELETE FROM uploads WHERE upload_id = ?').run(uploadId)
      return bodies
    })
  }

  /** Commits what is queued, refuses further writes; closes the database only if it owns it. */
  async close(): Promise<void> {
    if (this.closed) return
    this.closed = true
    await this.commits.drain()
    if (this.closeDb) {
      prepareClose(this.db)
      this.db.close()
    }
  }

  /**
   * A scan of the body_ref column (no index on blob refs inside the JSON, and none is worth its
   * upkeep: only the garbage collector asks, only for intents left by a crash). The pattern
   * `"r":"<ref>"` matches exactly one blob entry: refs need no JSON escaping and inline parts
   * hold base64, which has no quotes.
   */
  isBlobReferenced(ref: string): Promise<boolean> {
    const needle = `"r":${JSON.stringify(ref)}`
    const hit =
      prepare(
        this.db,
        'SELECT 1 FROM objects WHERE body_ref IS NOT NULL AND instr(body_ref, ?) > 0 LIMIT 1',
      ).get(needle) ??
      prepare(
        this.db,
        'SELECT 1 FROM parts WHERE body_ref IS NOT NULL AND instr(body_ref, ?) > 0 LIMIT 1',
      ).get(needle)
    return Promise.resolve(hit !== undefined)
  }
}
