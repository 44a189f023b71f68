/**
 * PgMetadataStore: the MetadataStore on PostgreSQL, for several stateless nodes sharing one
 * database. Same schema shape and body encoding as the SQLite store; what differs, and why:
 * - Every write is one `db.tx` (retried on serialization failures and deadlocks). A write to a
 *   key first takes a transaction-scoped advisory lock on (bucket, key), which exists even when
 *   the row does not, so If-None-Match / If-Match are decided on the current row while every
 *   other writer of that key, on any node, waits: of two racing conditional puts exactly one
 *   wins. The bucket row is locked FOR KEY SHARE by object and upload writes and FOR UPDATE by
 *   deleteBucket, so a bucket cannot vanish under a put, nor a put land in a deleted bucket.
 * - Writes issued by one store take their locks in the order they were issued (a small gate:
 *   a write's lock statement waits until the previous write holds its locks), so on one node the
 *   last PUT issued wins and a delete issued before a put is seen by it, as with SQLite's queue.
 *   Connections are still taken at once and transactions overlap; commits do not wait on each
 *   other, and the gate is held for one lock statement, not a transaction.
 * - Changes are published to the ChangeFeed after COMMIT and before the call resolves.
 * - Listing is O(page) with a delimiter: bounded range reads in `COLLATE "C"` (UTF-8 byte) order
 *   that, on a key rolling up into a common prefix, restart at successor(prefix).
 * - Connection failures surface as StorageError('unavailable') (db.ts), never a crash: the pool's
 *   clients also get an 'error' listener while checked out (guardCheckedOutClients).
 * - Times are BIGINT ms; the driver returns them as strings, which the row readers convert.
 * @module
 */
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
import { compareKeys, successor } from '../../lib/key-order.js'
import type pg from 'pg'
import { runMigrations, storageError, type PgDatabase, type Queryable } from './db.js'
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

export interface PgMetadataStoreOptions {
  /** Where committed changes are announced (caches subscribe there). */
  readonly changes?: ChangeFeed
  /** close() also closes the database (default false: whoever opened it closes it). */
  readonly closeDb?: boolean
}

// ---------------------------------------------------------------------------------------------
// Row encoding (body refs: relational/body-ref.ts, shared with SQLite, so the ledger triggers
// and isBlobReferenced read both alike)

/** [body_kind, body_ref (JSON text for the JSONB column), body]. */
function bodyParams(ref: BodyRef): [string, string | null, Buffer | null] {
  if (ref.kind === 'inline') return ['inline', null, ref.bytes]
  return [ref.kind, bodyRefText(ref), null]
}

const BODY_COLS = 'body_kind, body_ref, body'

interface BucketRow {
  name: string
  account_id: string
  created_at: string
  region: string
}

function bucketFromRow(r: BucketRow): BucketRecord {
  return {
    name: r.name,
    accountId: r.account_id,
    createdAt: Number(r.created_at),
    region: r.region,
  }
}

const bucketNotFound = (bucket: string): StorageError =>
  new StorageError('bucket-not-found', `bucket ${bucket} does not exist`, { bucket })
const uploadNotFound = (uploadId: string): StorageError =>
  new StorageError('upload-not-found', `upload ${uploadId} does not exist`, { uploadId })

/** A listing with a delimiter reads this many rows first, doubling up to MAX_BATCH. */
const FIRST_BATCH = 16
const MAX_BATCH = 1000

// ---------------------------------------------------------------------------------------------
// Locks (taken first in every write transaction; see the module comment)

/** Locks the bucket row against deletion until commit; false when there is no such bucket. */
async function lockBucket(c: Queryable, bucket: string): Promise<boolean> {
  const r = await c.query('SELECT 1 FROM buckets WHERE name = $1 FOR KEY SHARE', [bucket])
  return r.rows.length > 0
}

async function requireBucket(c: Queryable, bucket: string): Promise<void> {
  if (!(await lockBucket(c, bucket))) throw bucketNotFound(bucket)
}

/** Every writer of (bucket, key), on any node, queues here until the holder commits. */
async function lockKey(c: Queryable, bucket: string, key: string): Promise<void> {
  await c.query('SELECT pg_advisory_xact_lock(hashtext($1), hashtext($2))', [bucket, key])
}

/**
 * requireBucket then lockKey in one round trip (an object write's hot path). FOR KEY SHARE
 * rechecks the row after waiting for a deleter, so the answer holds whichever lock comes first.
 */
async function requireBucketLockKey(c: Queryable, bucket: string, key: string): Promise<void> {
  const r = await c.query<{ found: boolean }>(
    `SELECT EXISTS (SELECT 1 FROM buckets WHERE name = $1 FOR KEY SHARE) AS found,
            pg_advisory_xact_lock(hashtext($1), hashtext($2)) IS NULL AS locked`,
    [bucket, key],
  )
  if (r.rows[0]?.found !== true) throw bucketNotFound(bucket)
}

/** The upload row FOR UPDATE: parts, completion and abort of one upload go one at a time. */
async function lockUpload(c: Queryable, uploadId: string): Promise<UploadRow> {
  const r = await c.query<UploadRow>('SELECT * FROM uploads WHERE upload_id = $1 FOR UPDATE', [
    uploadId,
  ])
  const row = r.rows[0]
  if (row === undefined) throw uploadNotFound(uploadId)
  return row
}

/**
 * A `pg` client checked out of the pool has no 'error' listener (the pool only listens while it
 * is idle), and a connection that dies then, in a transaction or while a write waits for its
 * locks, emits an 'error' nobody handles: an uncaught exception that takes the process down. Every
 * client of the store's pool gets a permanent no-op listener at connect; the failure still
 * reaches the transaction through its pending or next query (unavailable, see asUnavailable).
 * This belongs in db.ts's tx (attach on checkout, detach on release); until then it lives here.
 */
const guardedPools = new WeakSet<pg.Pool>()
function guardCheckedOutClients(pool: pg.Pool): void {
  if (guardedPools.has(pool)) return
  guardedPools.add(pool)
  pool.on('connect', (client) => void client.on('error', () => {}))
}

/** A query on a client whose connection died fails with this message (no code). */
function asUnavailable(e: unknown): unknown {
  if (e instanceof Error && /not queryable|Connection terminated/i.test(e.message))
    return new StorageError('unavailable', 'database unavailable: transaction', {}, { cause: e })
  return storageError(e, 'transaction')
}

// ---------------------------------------------------------------------------------------------
// The store

export class PgMetadataStore implements MetadataStore {
  private readonly db: PgDatabase
  private readonly changes: ChangeFeed | undefined
  private readonly closeDb: boolean
  private closed = false
  /** Resolves when the last write issued holds its locks (or gave up): see transact. */
  private gate: Promise<void> = Promise.resolve()
  /** Writes under way (close() waits for them). */
  private readonly pending = new Set<Promise<unknown>>()

  private constructor(db: PgDatabase, opts: PgMetadataStoreOptions) {
    this.db = db
    this.changes = opts.changes
    this.closeDb = opts.closeDb ?? false
  }

  /** Applies the schema migrations (once per database, under db.ts's lock), then opens. */
  static async open(db: PgDatabase, opts: PgMetadataStoreOptions = {}): Promise<PgMetadataStore> {
    guardCheckedOutClients(db.pool)
    await runMigrations(db, 'metadata', METADATA_MIGRATIONS)
    return new PgMetadataStore(db, opts)
  }

  /**
   * One write: `lock` takes the write's locks (in issue order, see the module comment), `run`
   * does the rest in the same transaction; `changes` of the result are published after COMMIT.
   */
  private write<L, T>(
    lock: (c: Queryable) => Promise<L>,
    run: (c: Queryable, locked: L) => Promise<{ out: T; changes?: readonly Change[] }>,
  ): Promise<T> {
    if (this.closed)
      return Promise.reject(new StorageError('unavailable', 'metadata store is closed'))
    const p = this.transact(lock, run)
    this.pending.add(p)
    const forget = (): void => void this.pending.delete(p)
    p.then(forget, forget)
    return p
  }

  /**
   * The connection is asked for at once (the pool serves waiters first come, first served, so a
   * write never waits for a connection held by a later one); only the locks wait for the
   * previous write's. An unreachable database thus fails every queued write in parallel.
   */
  private async transact<L, T>(
    lock: (c: Queryable) => Promise<L>,
    run: (c: Queryable, locked: L) => Promise<{ out: T; changes?: readonly Change[] }>,
  ): Promise<T> {
    const previous = this.gate
    let open!: () => void
    this.gate = new Promise((resolve) => (open = resolve))
    try {
      const done = await this.db.tx(async (c) => {
        await previous
        let locked: L
        try {
          locked = await lock(c)
        } finally {
          open()
        }
        return run(c, locked)
      })
      if (done.changes !== undefined && done.changes.length > 0) this.changes?.publish(done.changes)
      return done.out
    } catch (e) {
      throw asUnavailable(e)
    } finally {
      open()
    }
  }

  /** A read outside any transaction (autocommit: it sees committed state only). */
  private async read<R extends object>(sql: string, params: readonly unknown[]): Promise<R[]> {
    if (this.closed) throw new StorageError('unavailable', 'metadata store is closed')
    return (await this.db.query<R & Record<string, unknown>>(sql, params)).rows
  }

  private async checkConditions(
    c: Queryable,
    conditions: WriteConditions | undefined,
    bucket: string,
    key: string,
  ): Promise<void> {
    if (conditions === undefined) return
    if (conditions.ifMatch === undefined && conditions.ifNoneMatch === undefined) return
    const r = await c.query<{ etag: string }>(
      'SELECT etag FROM objects WHERE bucket = $1 AND key = $2',
      [bucket, key],
    )
    const failed = preconditionFailure(conditions, r.rows[0]?.etag)
    if (failed !== undefined) throw failed
  }

  /** DELETE then INSERT (the ledger's AFTER DELETE trigger sees the dropped body). */
  private async replaceObject(c: Queryable, o: ObjectRecord): Promise<BodyRef | undefined> {
    const old = await c.query<BodyColumns>(
      `DELETE FROM objects WHERE bucket = $1 AND key = $2 RETURNING ${BODY_COLS}`,
      [o.bucket, o.key],
    )
    const meta = objectMetaOf(o)
    await c.query(
      `INSERT INTO objects
        (bucket, key, size, etag, last_modified, owner, meta, tags, body_kind, body_ref, body)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
      [
        o.bucket,
        o.key,
        o.size,
        o.etag,
        o.lastModified,
        o.ownerAccountId,
        JSON.stringify(meta),
        JSON.stringify(o.tags),
        ...bodyParams(o.body),
      ],
    )
    const row = old.rows[0]
    return row === undefined ? undefined : bodyFromColumns(row)
  }

  private async allParts(c: Queryable, uploadId: string): Promise<PartRecord[]> {
    const r = await c.query<PartRow>(
      'SELECT * FROM parts WHERE upload_id = $1 ORDER BY part_number',
      [uploadId],
    )
    return r.rows.map(partFromRow)
  }

  /** Removes an upload and its parts (ON DELETE CASCADE; the ledger triggers see each part). */
  private async dropUpload(c: Queryable, uploadId: string): Promise<void> {
    await c.query('DELETE FROM uploads WHERE upload_id = $1', [uploadId])
  }

  // ----- buckets ------------------------------------------------------------------------------

  createBucket(b: BucketRecord): Promise<void> {
    return this.write(
      async (c) => {
        // An existing name is found here or, if another node inserts it meanwhile, by the
        // unique key: ON CONFLICT waits for that insert and then reports it.
        const r = await c.query<{ account_id: string }>(
          `INSERT INTO buckets (name, account_id, created_at, region) VALUES ($1, $2, $3, $4)
           ON CONFLICT (name) DO NOTHING RETURNING account_id`,
          [b.name, b.accountId, b.createdAt, b.region],
        )
        return r.rows.length > 0
      },
      async (c, created) => {
        if (!created) {
          const r = await c.query<{ account_id: string }>(
            'SELECT account_id FROM buckets WHERE name = $1',
            [b.name],
          )
          throw new StorageError('bucket-exists', `bucket ${b.name} already exists`, {
            bucket: b.name,
            ownerAccountId: r.rows[0]?.account_id ?? '',
          })
        }
        return { out: undefined, changes: [{ kind: 'bucket', bucket: b.name, part: 'created' }] }
      },
    )
  }

  async getBucket(name: string): Promise<BucketRecord | undefined> {
    const rows = await this.read<BucketRow>('SELECT * FROM buckets WHERE name = $1', [name])
    return rows[0] === undefined ? undefined : bucketFromRow(rows[0])
  }

  deleteBucket(name: string): Promise<readonly BodyRef[]> {
    return this.write(
      async (c) =>
        (await c.query('SELECT 1 FROM buckets WHERE name = $1 FOR UPDATE', [name])).rows.length,
      async (c, found) => {
        if (found === 0) throw bucketNotFound(name)
        const busy = await c.query(
          `SELECT EXISTS (SELECT 1 FROM objects WHERE bucket = $1) AS busy`,
          [name],
        )
        if ((busy.rows[0] as { busy: boolean }).busy) {
          throw new StorageError('bucket-not-empty', `bucket ${name} is not empty`, {
            bucket: name,
          })
        }
        // Incomplete uploads go with the bucket (their parts by ON DELETE CASCADE; the ledger's
        // trigger records each part's blob).
        const uploads = await c.query<{ upload_id: string }>(
          'SELECT upload_id FROM uploads WHERE bucket = $1 ORDER BY upload_id FOR UPDATE',
          [name],
        )
        const freed: BodyRef[] = []
        for (const { upload_id } of uploads.rows) {
          for (const p of await this.allParts(c, upload_id)) freed.push(p.body)
          await this.dropUpload(c, upload_id)
        }
        await c.query('DELETE FROM buckets WHERE name = $1', [name])
        return { out: freed, changes: [{ kind: 'bucket', bucket: name, part: 'deleted' }] }
      },
    )
  }

  async listBuckets(accountId: string): Promise<readonly BucketRecord[]> {
    const rows = await this.read<BucketRow>(
      'SELECT * FROM buckets WHERE account_id = $1 ORDER BY name',
      [accountId],
    )
    return rows.map(bucketFromRow)
  }

  setBucketSubresource(
    bucket: string,
    kind: BucketSubresource,
    value: string | null,
  ): Promise<void> {
    return this.write(
      (c) => requireBucket(c, bucket),
      async (c) => {
        if (value === null) {
          await c.query('DELETE FROM bucket_subresources WHERE bucket = $1 AND kind = $2', [
            bucket,
            kind,
          ])
        } else {
          await c.query(
            `INSERT INTO bucket_subresources (bucket, kind, value) VALUES ($1, $2, $3)
             ON CONFLICT (bucket, kind) DO UPDATE SET value = EXCLUDED.value`,
            [bucket, kind, value],
          )
        }
        const changes: Change[] = kind === 'tagging' ? [] : [{ kind: 'bucket', bucket, part: kind }]
        return { out: undefined, changes }
      },
    )
  }

  async getBucketSubresource(bucket: string, kind: BucketSubresource): Promise<string | undefined> {
    const rows = await this.read<{ value: string }>(
      'SELECT value FROM bucket_subresources WHERE bucket = $1 AND kind = $2',
      [bucket, kind],
    )
    return rows[0]?.value
  }

  async listBucketSubresources(
    kind: BucketSubresource,
    after: string | undefined,
    limit: number,
  ): Promise<readonly BucketSubresourceEntry[]> {
    const rows = await this.read<{ bucket: string; value: string }>(
      `SELECT bucket, value FROM bucket_subresources WHERE kind = $1 AND bucket > $2
       ORDER BY bucket LIMIT $3`,
      [kind, after ?? '', limit],
    )
    return rows.map((r) => ({ bucket: r.bucket, value: r.value }))
  }

  // ----- objects ------------------------------------------------------------------------------

  putObject(
    o: ObjectRecord,
    conditions?: WriteConditions,
  ): Promise<{ readonly replaced?: BodyRef }> {
    return this.write(
      async (c) => {
        await requireBucketLockKey(c, o.bucket, o.key)
      },
      async (c) => {
        await this.checkConditions(c, conditions, o.bucket, o.key)
        const replaced = await this.replaceObject(c, o)
        return {
          out: replaced === undefined ? {} : { replaced },
          changes: [{ kind: 'object', bucket: o.bucket, key: o.key }],
        }
      },
    )
  }

  async getObject(bucket: string, key: string): Promise<ObjectRecord | undefined> {
    const rows = await this.read<ObjectRow & BodyColumns>(
      `SELECT ${SUMMARY_COLS}, ${BODY_COLS} FROM objects WHERE bucket = $1 AND key = $2`,
      [bucket, key],
    )
    const row = rows[0]
    return row === undefined
      ? undefined
      : Object.assign(summaryFromRow(row), { body: bodyFromColumns(row) })
  }

  deleteObject(
    bucket: string,
    key: string,
    conditions?: DeleteConditions,
  ): Promise<BodyRef | undefined> {
    return this.write(
      async (c) => {
        await requireBucketLockKey(c, bucket, key)
      },
      async (c) => {
        if (conditions !== undefined) {
          // The key's advisory lock (requireBucketLockKey) holds every writer of it off until
          // this transaction ends, so what this reads is what the DELETE removes.
          const cur = await c.query<{ etag: string; last_modified: string }>(
            'SELECT etag, last_modified FROM objects WHERE bucket = $1 AND key = $2',
            [bucket, key],
          )
          const row = cur.rows[0]
          const failed = deleteConditionFailure(
            conditions,
            row === undefined
              ? undefined
              : { etag: row.etag, lastModified: Number(row.last_modified) },
          )
          if (failed !== undefined) throw failed
        }
        const r = await c.query<BodyColumns>(
          `DELETE FROM objects WHERE bucket = $1 AND key = $2 RETURNING ${BODY_COLS}`,
          [bucket, key],
        )
        const row = r.rows[0]
        if (row === undefined) return { out: undefined }
        return { out: bodyFromColumns(row), changes: [{ kind: 'object', bucket, key }] }
      },
    )
  }

  setObjectTags(
    bucket: string,
    key: string,
    tags: Readonly<Record<string, string>>,
  ): Promise<void> {
    return this.write(
      async (c) => {
        await requireBucketLockKey(c, bucket, key)
      },
      async (c) => {
        const r = await c.query('UPDATE objects SET tags = $1 WHERE bucket = $2 AND key = $3', [
          JSON.stringify(tags),
          bucket,
          key,
        ])
        if (r.rowCount === 0) {
          throw new StorageError('key-not-found', `key ${key} does not exist`, { bucket, key })
        }
        return { out: undefined, changes: [{ kind: 'object', bucket, key }] }
      },
    )
  }

  setObjectAcl(bucket: string, key: string, acl: StoredAcl): Promise<void> {
    return this.write(
      async (c) => {
        await requireBucketLockKey(c, bucket, key)
      },
      async (c) => {
        // The ACL lives in the `meta` JSON (rows.ts ObjectMeta.a): no schema change for it.
        const r = await c.query(
          `UPDATE objects SET meta = jsonb_set(meta::jsonb, '{a}', $1::jsonb)::text
           WHERE bucket = $2 AND key = $3`,
          [JSON.stringify(acl), bucket, key],
        )
        if (r.rowCount === 0) {
          throw new StorageError('key-not-found', `key ${key} does not exist`, { bucket, key })
        }
        return { out: undefined, changes: [{ kind: 'object', bucket, key }] }
      },
    )
  }

  private async requireBucketRead(bucket: string): Promise<void> {
    const rows = await this.read('SELECT 1 FROM buckets WHERE name = $1', [bucket])
    if (rows.length === 0) throw bucketNotFound(bucket)
  }

  /**
   * One page in O(page + commonPrefixes) bounded reads. Entries (keys and common prefixes) are
   * merged in byte order; a common prefix sorts at the prefix itself, so it is returned only when
   * it sorts after `after` (a continuation from a common prefix skips it). Each read asks for at
   * most the entries still missing plus one (to know whether the page is truncated).
   */
  async listObjects(bucket: string, q: ListObjectsQuery): Promise<ListObjectsPage> {
    await this.requireBucketRead(bucket)
    const objects: ObjectSummary[] = []
    const commonPrefixes: string[] = []
    const maxKeys = Math.max(0, Math.floor(q.maxKeys))
    if (maxKeys === 0) return { objects, commonPrefixes, isTruncated: false }
    const prefix = q.prefix
    const delimiter = q.delimiter === '' ? undefined : q.delimiter
    const upper = prefix === '' ? undefined : successor(prefix)
    const after = q.after
    let lower: { value: string; inclusive: boolean } =
      after !== undefined && compareKeys(after, prefix) >= 0
        ? { value: after, inclusive: false }
        : { value: prefix, inclusive: true }
    let lastReturned: string | undefined
    let isTruncated = false
    let count = 0

    // With a delimiter, a read may stop at its first row (a roll-up), so reads start small and
    // grow while they find plain keys; without one, the first read is the whole page.
    let batch = delimiter === undefined ? maxKeys + 1 : FIRST_BATCH
    scan: for (;;) {
      const limit = Math.min(maxKeys - count + 1, batch)
      const rows = await this.read<ObjectRow>(
        `SELECT ${SUMMARY_COLS} FROM objects WHERE bucket = $1 AND key ${lower.inclusive ? '>=' : '>'} $2` +
          (upper !== undefined ? ' AND key < $4' : '') +
          ' ORDER BY key LIMIT $3',
        upper !== undefined ? [bucket, lower.value, limit, upper] : [bucket, lower.value, limit],
      )
      let next: { value: string; inclusive: boolean } | undefined
      for (const row of rows) {
        if (count === maxKeys) {
          isTruncated = true
          break scan
        }
        const at = delimiter === undefined ? -1 : row.key.indexOf(delimiter, prefix.length)
        if (delimiter !== undefined && at >= 0) {
          const cp = row.key.slice(0, at + delimiter.length)
          if (after === undefined || compareKeys(cp, after) > 0) {
            commonPrefixes.push(cp)
            lastReturned = cp
            count++
          }
          const restartAt = successor(cp)
          if (restartAt === undefined) break scan
          next = { value: restartAt, inclusive: true }
          break
        }
        objects.push(summaryFromRow(row))
        lastReturned = row.key
        count++
      }
      if (next === undefined) {
        // No roll-up: a short read means the range is exhausted, a full one goes on after it.
        const last = rows[rows.length - 1]
        if (rows.length < limit || last === undefined) break
        next = { value: last.key, inclusive: false }
        batch = Math.min(batch * 2, MAX_BATCH)
      }
      lower = next
    }
    return {
      objects,
      commonPrefixes,
      isTruncated,
      ...(lastReturned !== undefined ? { lastReturned } : {}),
    }
  }

  // ----- multipart ----------------------------------------------------------------------------

  createUpload(u: UploadRecord): Promise<void> {
    return this.write(
      (c) => requireBucket(c, u.bucket),
      async (c) => {
        const meta = uploadMetaOf(u)
        await c.query(
          `INSERT INTO uploads (upload_id, bucket, key, initiated_at, owner, initiator, meta)
           VALUES ($1, $2, $3, $4, $5, $6, $7)`,
          [
            u.uploadId,
            u.bucket,
            u.key,
            u.initiatedAt,
            u.ownerAccountId,
            u.initiator,
            JSON.stringify(meta),
          ],
        )
        return { out: undefined }
      },
    )
  }

  async getUpload(
    bucket: string,
    key: string,
    uploadId: string,
  ): Promise<UploadRecord | undefined> {
    const rows = await this.read<UploadRow>(
      'SELECT * FROM uploads WHERE upload_id = $1 AND bucket = $2 AND key = $3',
      [uploadId, bucket, key],
    )
    return rows[0] === undefined ? undefined : uploadFromRow(rows[0])
  }

  putPart(uploadId: string, p: PartRecord): Promise<{ readonly replaced?: BodyRef }> {
    return this.write(
      (c) => lockUpload(c, uploadId),
      async (c) => {
        const old = await c.query<BodyColumns>(
          `DELETE FROM parts WHERE upload_id = $1 AND part_number = $2 RETURNING ${BODY_COLS}`,
          [uploadId, p.partNumber],
        )
        await c.query(
          `INSERT INTO parts
            (upload_id, part_number, size, etag, last_modified, checksum, body_kind, body_ref, body)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
          [
            uploadId,
            p.partNumber,
            p.size,
            p.etag,
            p.lastModified,
            p.checksum !== undefined ? JSON.stringify(p.checksum) : null,
            ...bodyParams(p.body),
          ],
        )
        const row = old.rows[0]
        return { out: row === undefined ? {} : { replaced: bodyFromColumns(row) } }
      },
    )
  }

  async getPart(uploadId: string, partNumber: number): Promise<PartRecord | undefined> {
    const rows = await this.read<PartRow>(
      'SELECT * FROM parts WHERE upload_id = $1 AND part_number = $2',
      [uploadId, partNumber],
    )
    return rows[0] === undefined ? undefined : partFromRow(rows[0])
  }

  async listParts(uploadId: string, after: number, max: number): Promise<readonly PartRecord[]> {
    const up = await this.read('SELECT 1 FROM uploads WHERE upload_id = $1', [uploadId])
    if (up.length === 0) throw uploadNotFound(uploadId)
    const rows = await this.read<PartRow>(
      `SELECT * FROM parts WHERE upload_id = $1 AND part_number > $2
       ORDER BY part_number LIMIT $3`,
      [uploadId, Math.floor(after), Math.max(0, Math.floor(max))],
    )
    return rows.map(partFromRow)
  }

  /**
   * Uploads ordered by (key, initiated, uploadId), with the same seek-past-common-prefix scan as
   * listObjects. keyMarker alone resumes after that key; with uploadIdMarker it first resumes the
   * marker key's uploads after that upload.
   */
  async listUploads(bucket: string, q: ListUploadsQuery): Promise<ListUploadsPage> {
    await this.requireBucketRead(bucket)
    const uploads: UploadRecord[] = []
    const commonPrefixes: string[] = []
    const max = Math.max(0, Math.floor(q.maxUploads))
    if (max === 0) return { uploads, commonPrefixes, isTruncated: false }
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
      const markers = await this.read<UploadRow>(
        'SELECT * FROM uploads WHERE upload_id = $1 AND bucket = $2 AND key = $3',
        [q.uploadIdMarker, bucket, km],
      )
      const marker = markers[0]
      const rows =
        marker !== undefined
          ? await this.read<UploadRow>(
              `SELECT * FROM uploads WHERE bucket = $1 AND key = $2
                 AND (initiated_at > $3 OR (initiated_at = $3 AND upload_id > $4))
               ORDER BY initiated_at, upload_id LIMIT $5`,
              [bucket, km, marker.initiated_at, marker.upload_id, max + 1],
            )
          : await this.read<UploadRow>(
              `SELECT * FROM uploads WHERE bucket = $1 AND key = $2 AND upload_id > $3
               ORDER BY initiated_at, upload_id LIMIT $4`,
              [bucket, km, q.uploadIdMarker, max + 1],
            )
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
    // Batched as in listObjects; a full read without a roll-up resumes after its last upload
    // (a row comparison: one key may have more uploads than a batch).
    let batch = delimiter === undefined ? max + 1 : FIRST_BATCH
    let resume: UploadRow | undefined
    scan: while (!isTruncated) {
      const limit = Math.min(max - count + 1, batch)
      const params: unknown[] = [bucket, limit]
      const arg = (v: unknown): string => `$${params.push(v)}`
      const from =
        resume !== undefined
          ? `(key, initiated_at, upload_id) > (${arg(resume.key)}, ${arg(resume.initiated_at)}, ${arg(resume.upload_id)})`
          : `key ${lower.inclusive ? '>=' : '>'} ${arg(lower.value)}`
      const rows = await this.read<UploadRow>(
        `SELECT * FROM uploads WHERE bucket = $1 AND ${from}` +
          (upper !== undefined ? ` AND key < ${arg(upper)}` : '') +
          ' ORDER BY key, initiated_at, upload_id LIMIT $2',
        params,
      )
      let restartAt: string | undefined
      for (const row of rows) {
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
      if (restartAt !== undefined) {
        lower = { value: restartAt, inclusive: true }
        resume = undefined
      } else {
        resume = rows[rows.length - 1]
        if (rows.length < limit || resume === undefined) break
        batch = Math.min(batch * 2, MAX_BATCH)
      }
    }
    return {
      uploads,
      commonPrefixes,
      isTruncated,
      ...(last !== undefined ? { nextKeyMarker: last.key } : {}),
      ...(last?.uploadId !== undefined ? { nextUploadIdMarker: last.uploadId } : {}),
    }
  }

  completeUpload(
    uploadId: string,
    o: ObjectRecord,
    usedParts: readonly number[],
    conditions?: WriteConditions,
  ): Promise<{ readonly replaced?: BodyRef; readonly unused: readonly BodyRef[] }> {
    return this.write(
      async (c) => {
        // Bucket, then upload, then key: the order every write takes them in (no deadlocks).
        await requireBucket(c, o.bucket)
        const up = await lockUpload(c, uploadId)
        await lockKey(c, o.bucket, o.key)
        return up
      },
      async (c, up) => {
        if (up.bucket !== o.bucket || up.key !== o.key) {
          throw new StorageError('upload-not-found', `upload ${uploadId} is not for ${o.key}`, {
            uploadId,
          })
        }
        await this.checkConditions(c, conditions, o.bucket, o.key)
        const parts = await this.allParts(c, uploadId)
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
        await this.dropUpload(c, uploadId)
        const replaced = await this.replaceObject(c, o)
        return {
          out: replaced === undefined ? { unused } : { replaced, unused },
          changes: [{ kind: 'object', bucket: o.bucket, key: o.key }],
        }
      },
    )
  }

  abortUpload(uploadId: string): Promise<readonly BodyRef[]> {
    return this.write(
      (c) => lockUpload(c, uploadId),
      async (c) => {
        const bodies = (await this.allParts(c, uploadId)).map((p) => p.body)
        await this.dropUpload(c, uploadId)
        return { out: bodies }
      },
    )
  }

  /** Refuses further calls once the writes under way have finished; closes the db if it owns it. */
  async close(): Promise<void> {
    if (this.closed) return
    this.closed = true
    await Promise.allSettled([...this.pending])
    if (this.closeDb) await this.db.close()
  }

  /**
   * Whether any object or part references blob `ref`: a jsonpath over every body_ref, matching
   * a string-valued "r" exactly (inline bytes are base64 under "b", never an "r"). A scan, as in
   * SQLite: only the garbage collector asks, only for intents a crash left behind.
   */
  async isBlobReferenced(ref: string): Promise<boolean> {
    const path = 'lax $.**.r ? (@ == $ref)'
    const rows = await this.read<{ hit: boolean }>(
      `SELECT EXISTS (SELECT 1 FROM objects WHERE body_ref IS NOT NULL
                        AND jsonb_path_exists(body_ref, $1::jsonpath, $2::jsonb))
           OR EXISTS (SELECT 1 FROM parts WHERE body_ref IS NOT NULL
                        AND jsonb_path_exists(body_ref, $1::jsonpath, $2::jsonb)) AS hit`,
      [path, JSON.stringify({ ref })],
    )
    return rows[0]?.hit === true
  }
}
