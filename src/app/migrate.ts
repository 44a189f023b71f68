/**
 * `latchkey migrate --from sqlite:DIR --to postgres://… [--blob-store URL]`: moves a single-node
 * install (DIR/latchkey.db + DIR/objects) into an empty cluster database, so that a user who
 * outgrows one machine does not start over.
 *
 * Why rows and not the store ports: the ports answer the server's questions (a user by id, a page
 * of a listing) and cannot enumerate everything (sessions, upload parts, pending secrets, the
 * operator). The SQLite and PostgreSQL schemas are the same tables column for column
 * (postgres/migrations/*.ts say so), and a row means the same on both (relational/rows.ts,
 * identity-rows.ts), so each table is copied as it is: only integer, flag, JSON and byte columns
 * change spelling, which `normalize` makes comparable again for the verification. It lives in
 * app/ because it is a composition of two backends, and only the composition root may choose them.
 *
 * How it holds up:
 * - The source is opened the way the offline tools open it (exclusive, no wait): a running server
 *   makes it fail at once with app/backends.ts lockedError's line, and while it runs no server
 *   can start on the data dir. The source is only read; its blob store is never swept.
 * - LATCHKEY_MASTER_KEY is required (as for every PostgreSQL node), and every sealed secret of the
 *   source is opened with it while it is copied: a wrong key refuses before anything is written
 *   (the first account is tried first), and can never produce a cluster whose secrets are junk.
 * - The target's schema is created first (runPostgresMigrations); a target holding any row of an
 *   identity or metadata table is refused: nothing is ever merged. Use a fresh database.
 * - All rows go in ONE transaction, read from SQLite by keyset pages (never the whole table in
 *   memory): a failure leaves the target as empty as it was, so running the command again is the
 *   way to resume. Blob bodies are written under their own names first (a rerun overwrites them
 *   with the same bytes), each streamed, fsynced by the store, and read back.
 * - Verification after COMMIT: per table the row count and an order-independent checksum of the
 *   normalized rows (sum of per-row SHA-256 mod 2^256) on both sides, and per blob the SHA-256 of
 *   the source bytes against those read back from the target. Any difference: exit 1, one line
 *   per table.
 *
 * What is not copied: expired sessions and TOTP replay claims (dead weight), login-throttle
 * attempts (transient; the throttle starts afresh), and the blob ledger when bodies are copied to
 * another store (its entries name orphans left in the old one). The parents' held-session counts
 * are rebuilt by the first node to start (PgSharedLimits.adoptSessions).
 *
 * Without --blob-store the cluster keeps the bodies where they are: the source's objects dir
 * becomes the cluster's `--blob-store file:DIR/objects` (nothing to copy, nothing doubled on
 * disk; the same default the server has). Then the blob ledger is copied too, so the cluster's
 * collector removes what the single node would have. Exit codes: 0 done and verified, 1 refused
 * or a mismatch, 2 usage error.
 * @module
 */
import { createHash } from 'node:crypto'
import { existsSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { Transform, type Readable } from 'node:stream'
import { ConfigError, isPostgresUrl, parseBlobStore, type Config } from '../config/config.js'
import { DATABASE_FILE, lockedError, openBlobStore } from './backends.js'
import { openDatabase, prepare, type Database } from '../backends/sqlite/db.js'
import {
  IDENTITY_MIGRATIONS,
  PENDING_SECRETS_MIGRATIONS,
} from '../backends/sqlite/identity-migrations.js'
import { METADATA_MIGRATIONS } from '../backends/sqlite/migrations/metadata.js'
import { SHARED_LIMITS_MIGRATIONS } from '../backends/sqlite/shared-limits.js'
import { MIGRATIONS as BLOB_LEDGER_MIGRATIONS } from '../backends/sqlite/blob-ledger.js'
import { resolvedColumn } from '../backends/sqlite/session-texts.js'
import { FsBlobStore } from '../backends/fs/blob-store.js'
import { openPostgres, type PgDatabase, type Queryable } from '../backends/postgres/db.js'
import { runPostgresMigrations } from '../backends/postgres/index.js'
import { decodeRef, encodeRef, type EncodedRef } from '../backends/relational/body-ref.js'
import type { BodyRef } from '../storage/metadata-store.js'
import type { BlobStore } from '../storage/blob-store.js'
import {
  deriveKey,
  isDerivedSecret,
  KEY_LABELS,
  MASTER_KEY_FILE,
  parseMasterKey,
  unseal,
} from '../crypto/index.js'
import { aadKey, aadMaster, aadPending, aadSession, aadTotp } from '../iam/labels.js'

export const MIGRATE_USAGE =
  'usage: latchkey migrate --from sqlite:DIR --to postgres://USER:PASS@HOST:PORT/DB [--blob-store file:/shared/dir]   (source server stopped, LATCHKEY_MASTER_KEY set)'

export interface MigrateIo {
  out(line: string): void
  err(line: string): void
}

export interface MigrateDeps {
  /** The time sessions and TOTP claims are judged expired at (default: the system clock). */
  readonly now?: () => number
  /** Rows per page read from SQLite and per INSERT (default 200; tests use small pages). */
  readonly batchRows?: number
  /** Blob copies in flight at once (default 4). */
  readonly blobConcurrency?: number
}

class UsageError extends Error {}
/** A refusal or failure the operator reads as one line (exit 1). */
class Refused extends Error {}

/** How a column is spelled differently by the two engines. */
type Kind = 'text' | 'int' | 'bool' | 'bytes' | 'ref'

interface Table {
  readonly name: string
  readonly cols: readonly (readonly [string, Kind])[]
  /** The primary key: the keyset pages' order (unique, so paging never skips or repeats). */
  readonly key: readonly string[]
  /** Rows to copy (SQL over the table's own columns, `?` = now); default all. */
  readonly where?: string
  /**
   * Passes over the table, each a condition, in insert order (accounts: an account a reseller
   * owns references the reseller's row, which must be there first).
   */
  readonly passes?: readonly string[]
  /** The sealed secret of a row and the label it is bound to: opened to check the master key. */
  readonly sealed?: (row: Row) => readonly [string, string] | undefined
  /** Copied only when the bodies stay in the source's blob store (see the module comment). */
  readonly sharedBlobsOnly?: boolean
  /** SQL reading a column out of the SQLite source, where it is not the column itself. */
  readonly select?: Readonly<Record<string, string>>
}

type Row = Record<string, unknown>

const s = (v: unknown): string => String(v)

/** The tables, in an order that satisfies the foreign keys. */
export const TABLES: readonly Table[] = [
  {
    name: 'iam_accounts',
    cols: [
      ['id', 'text'],
      ['name', 'text'],
      ['type', 'text'],
      ['reseller_id', 'text'],
      ['created_at', 'int'],
      ['allowlist', 'text'],
      ['master_access_key_id', 'text'],
      ['master_secret', 'text'],
      ['secret_version', 'int'],
      ['version', 'int'],
    ],
    key: ['id'],
    passes: ['reseller_id IS NULL', 'reseller_id IS NOT NULL'],
    sealed: (r) => [s(r['master_secret']), aadMaster(s(r['id']))],
  },
  {
    // Accounts' STS issuance limits (issue_rate is REAL/DOUBLE: 'int' compares it as a number).
    name: 'iam_sts_limits',
    cols: [
      ['account_id', 'text'],
      ['issue_rate', 'int'],
      ['issue_burst', 'int'],
      ['max_active_sessions', 'int'],
    ],
    key: ['account_id'],
  },
  {
    name: 'iam_users',
    cols: [
      ['id', 'text'],
      ['account_id', 'text'],
      ['username', 'text'],
      ['username_key', 'text'],
      ['password_hash', 'text'],
      ['role', 'text'],
      ['is_active', 'bool'],
      ['email', 'text'],
      ['firstname', 'text'],
      ['lastname', 'text'],
      ['policy', 'text'],
      ['totp_secret', 'text'],
      ['created_at', 'int'],
      ['last_access', 'int'],
      ['version', 'int'],
    ],
    key: ['id'],
    sealed: (r) =>
      r['totp_secret'] === null ? undefined : [s(r['totp_secret']), aadTotp(s(r['id']))],
  },
  {
    name: 'iam_access_keys',
    cols: [
      ['access_key_id', 'text'],
      ['user_id', 'text'],
      ['secret', 'text'],
      ['created_at', 'int'],
      ['last_used_at', 'int'],
    ],
    key: ['access_key_id'],
    sealed: (r) => [s(r['secret']), aadKey(s(r['access_key_id']))],
  },
  {
    name: 'iam_sessions',
    cols: [
      ['access_key_id', 'text'],
      ['account_id', 'text'],
      ['quota_key', 'text'],
      ['user_id', 'text'],
      ['origin_key_id', 'text'],
      ['parent', 'text'],
      ['secret', 'text'],
      ['token_hmac', 'text'],
      ['session_name', 'text'],
      ['policies', 'text'],
      ['role_name', 'text'],
      ['role_id', 'text'],
      ['issued_at', 'int'],
      ['expires_at', 'int'],
      ['revoked', 'bool'],
    ],
    key: ['access_key_id'],
    where: 'expires_at > ?',
    // Long texts are stored once in SQLite (session-texts.ts); PostgreSQL rows hold them inline.
    select: {
      parent: resolvedColumn('parent', 'iam_sessions'),
      policies: resolvedColumn('policies', 'iam_sessions'),
    },
    // A derived session secret (`d1.` + salt) has nothing to open; only sealed ones check the key.
    sealed: (r) =>
      isDerivedSecret(s(r['secret']))
        ? undefined
        : [s(r['secret']), aadSession(s(r['access_key_id']))],
  },
  {
    name: 'iam_operator',
    cols: [
      ['id', 'int'],
      ['username', 'text'],
      ['password_hash', 'text'],
    ],
    key: ['id'],
  },
  {
    name: 'iam_pending_secrets',
    cols: [
      ['name', 'text'],
      ['secret', 'text'],
    ],
    key: ['name'],
    sealed: (r) => [s(r['secret']), aadPending(s(r['name']))],
  },
  {
    name: 'iam_totp_claims',
    cols: [
      ['key', 'text'],
      ['value', 'int'],
      ['until', 'int'],
    ],
    key: ['key'],
    where: 'until > ?',
  },
  {
    // Upload-cap usage (latchkey:max-bytes / max-objects): a session keeps what it wrote.
    name: 'iam_session_usage',
    cols: [
      ['key', 'text'],
      ['bytes', 'int'],
      ['objects', 'int'],
      ['expires_at', 'int'],
    ],
    key: ['key'],
    where: 'expires_at > ?',
  },
  {
    name: 'buckets',
    cols: [
      ['name', 'text'],
      ['account_id', 'text'],
      ['created_at', 'int'],
      ['region', 'text'],
    ],
    key: ['name'],
  },
  {
    name: 'bucket_subresources',
    cols: [
      ['bucket', 'text'],
      ['kind', 'text'],
      ['value', 'text'],
    ],
    key: ['bucket', 'kind'],
  },
  {
    name: 'objects',
    cols: [
      ['bucket', 'text'],
      ['key', 'text'],
      ['size', 'int'],
      ['etag', 'text'],
      ['last_modified', 'int'],
      ['owner', 'text'],
      ['meta', 'text'],
      ['tags', 'text'],
      ['body_kind', 'text'],
      ['body_ref', 'ref'],
      ['body', 'bytes'],
    ],
    key: ['bucket', 'key'],
  },
  {
    name: 'uploads',
    cols: [
      ['upload_id', 'text'],
      ['bucket', 'text'],
      ['key', 'text'],
      ['initiated_at', 'int'],
      ['owner', 'text'],
      ['initiator', 'text'],
      ['meta', 'text'],
    ],
    key: ['upload_id'],
  },
  {
    name: 'parts',
    cols: [
      ['upload_id', 'text'],
      ['part_number', 'int'],
      ['size', 'int'],
      ['etag', 'text'],
      ['last_modified', 'int'],
      ['checksum', 'text'],
      ['body_kind', 'text'],
      ['body_ref', 'ref'],
      ['body', 'bytes'],
    ],
    key: ['upload_id', 'part_number'],
  },
  {
    name: 'blob_ledger',
    cols: [
      ['ref', 'text'],
      ['state', 'int'],
      ['at', 'int'],
    ],
    key: ['ref'],
    sharedBlobsOnly: true,
  },
]

/** Tables whose rows make a target "not empty" (what a started node or a migration writes). */
const TARGET_MUST_BE_EMPTY = TABLES.filter((t) => t.name !== 'iam_totp_claims').map((t) => t.name)

/** The source's migration lists and how many steps this version expects. */
const SOURCE_SCHEMA: readonly (readonly [string, number])[] = [
  ['identity', IDENTITY_MIGRATIONS.length],
  ['identity-pending-secrets', PENDING_SECRETS_MIGRATIONS.length],
  ['metadata', METADATA_MIGRATIONS.length],
  ['shared-limits', SHARED_LIMITS_MIGRATIONS.length],
  ['blob-ledger', BLOB_LEDGER_MIGRATIONS.length],
]

// --- normalizing and checksums ----------------------------------------------------------------

/** A column value as both engines agree on it (SQLite's and PostgreSQL's spellings differ). */
export function normalize(kind: Kind, v: unknown): unknown {
  if (v === null || v === undefined) return null
  switch (kind) {
    case 'text':
      return String(v)
    case 'int':
      return String(Number(v)) // BIGINT arrives as a string from pg, INTEGER as a number
    case 'bool':
      return v === true || v === 1 || v === '1' ? 1 : 0
    case 'bytes':
      return Buffer.isBuffer(v) ? v.toString('base64') : String(v)
    case 'ref': {
      // JSONB does not keep the key order of the text SQLite stored: compare the decoded ref.
      const parsed = typeof v === 'string' ? (JSON.parse(v) as EncodedRef) : (v as EncodedRef)
      return JSON.stringify(encodeRef(decodeRef(parsed)))
    }
  }
}

const MOD = 1n << 256n

/** An order-independent digest of a table's rows: the sum of the rows' SHA-256, mod 2^256. */
export class TableDigest {
  rows = 0
  private sum = 0n

  add(table: Table, row: Row): void {
    const h = createHash('sha256')
      .update(JSON.stringify(table.cols.map(([c, k]) => normalize(k, row[c]))))
      .digest('hex')
    this.sum = (this.sum + BigInt(`0x${h}`)) % MOD
    this.rows++
  }

  hex(): string {
    return this.sum.toString(16).padStart(64, '0')
  }
}

// --- arguments --------------------------------------------------------------------------------

interface Args {
  readonly sourceDir: string
  readonly url: string
  /** The target blob store; undefined: the bodies stay in the source's objects dir. */
  readonly blobStore: Config['blobStore'] | undefined
}

function parseArgs(argv: readonly string[], env: NodeJS.ProcessEnv): Args {
  const values = new Map<string, string>()
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] ?? ''
    const eq = arg.indexOf('=')
    const name = eq > 0 ? arg.slice(0, eq) : arg
    if (!['--from', '--to', '--blob-store'].includes(name))
      throw new UsageError(`unknown argument ${arg}`)
    const value = eq > 0 ? arg.slice(eq + 1) : argv[++i]
    if (value === undefined || value === '') throw new UsageError(`${name} needs a value`)
    values.set(name, value)
  }
  const from = values.get('--from')
  if (from === undefined) throw new UsageError('--from sqlite:DIR is required (the data dir)')
  const sourceDir = from.startsWith('sqlite:') ? from.slice('sqlite:'.length) : from
  if (sourceDir === '' || /^[a-z]+:\/\//i.test(sourceDir))
    throw new UsageError(`--from must be sqlite:DIR (a single-node data dir), got "${from}"`)
  const url = values.get('--to') ?? nonEmpty(env['LATCHKEY_DATABASE_URL'])
  if (url === undefined)
    throw new UsageError('--to postgres://… is required (or LATCHKEY_DATABASE_URL)')
  if (!isPostgresUrl(url) || !URL.canParse(url))
    throw new UsageError(`--to must be a postgres:// URL, got "${redact(url)}"`)
  const blob = values.get('--blob-store') ?? nonEmpty(env['LATCHKEY_BLOB_STORE'])
  let blobStore: Config['blobStore'] | undefined
  try {
    blobStore = blob === undefined ? undefined : parseBlobStore(blob, sourceDir, env)
  } catch (e) {
    if (e instanceof ConfigError) throw new UsageError(e.message)
    throw e
  }
  return { sourceDir: resolve(sourceDir), url, blobStore }
}

function nonEmpty(v: string | undefined): string | undefined {
  return v === undefined || v === '' ? undefined : v
}

/** The URL without its password (it is printed). */
export function redact(url: string): string {
  try {
    const u = new URL(url)
    if (u.password !== '') u.password = '***'
    return u.toString()
  } catch {
    return url.replace(/:[^:@/]*@/, ':***@')
  }
}

// --- the source -------------------------------------------------------------------------------

function openSource(dir: string): Database {
  const path = join(dir, DATABASE_FILE)
  if (!existsSync(path))
    throw new Refused(`no Latchkey database in ${dir} (${DATABASE_FILE}): check --from`)
  let db: Database | undefined
  try {
    db = openDatabase(path, { exclusive: true, busyTimeoutMs: 0 })
    // The first read takes the exclusive lock (and fails on a running server's).
    db.prepare('SELECT count(*) FROM sqlite_master').get()
    return db
  } catch (e) {
    db?.close()
    const shown = lockedError(e, dir)
    throw shown === e ? e : new Refused((shown as Error).message)
  }
}

function checkSourceSchema(db: Database, dir: string): void {
  const has = db
    .prepare(`SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'migrations'`)
    .get()
  const applied = new Map<string, number>()
  if (has !== undefined)
    for (const r of db
      .prepare('SELECT name, count(*) AS n FROM migrations GROUP BY name')
      .all() as { name: string; n: number }[])
      applied.set(r.name, r.n)
  for (const [name, want] of SOURCE_SCHEMA) {
    const got = applied.get(name) ?? 0
    if (got < want)
      throw new Refused(
        `the database in ${dir} has schema '${name}' at step ${got} of ${want}: start the single node once with this version of Latchkey (it upgrades its schema), stop it, then migrate`,
      )
    if (got > want)
      throw new Refused(
        `the database in ${dir} was written by a newer Latchkey (schema '${name}' at step ${got}, this version knows ${want}): migrate with that version`,
      )
  }
}

/** Keyset pages of a table's rows (`passes` in order), `size` rows at a time. */
function* pages(db: Database, t: Table, now: number, size: number): Generator<Row[]> {
  const cols = t.cols
    .map(([c]) => {
      const expr = t.select?.[c]
      return expr !== undefined ? `${expr} AS "${c}"` : `"${c}"`
    })
    .join(', ')
  const keyList = t.key.map((k) => `"${k}"`).join(', ')
  for (const pass of t.passes ?? ['1 = 1']) {
    const conds = [pass, ...(t.where !== undefined ? [t.where] : [])]
    const base = `SELECT ${cols} FROM ${t.name} WHERE ${conds.join(' AND ')}`
    const params = t.where !== undefined ? [now] : []
    let after: unknown[] | undefined
    for (;;) {
      const sql =
        after === undefined
          ? `${base} ORDER BY ${keyList} LIMIT ?`
          : `${base} AND (${keyList}) > (${t.key.map(() => '?').join(', ')}) ORDER BY ${keyList} LIMIT ?`
      const rows = prepare(db, sql).all(...params, ...(after ?? []), size) as Row[]
      if (rows.length > 0) yield rows
      if (rows.length < size) break
      const last = rows[rows.length - 1]!
      after = t.key.map((k) => last[k])
    }
  }
}

// --- the target -------------------------------------------------------------------------------

/** PostgreSQL's value for a SQLite one, and the placeholder it needs. */
function pgValue(kind: Kind, v: unknown): unknown {
  if (v === null || v === undefined) return null
  if (kind === 'bool') return v === 1 || v === true
  return v
}

async function insertRows(c: Queryable, t: Table, rows: readonly Row[]): Promise<void> {
  if (rows.length === 0) return
  const params: unknown[] = []
  const tuples = rows.map((r) => {
    const ph = t.cols.map(([col, kind]) => {
      params.push(pgValue(kind, r[col]))
      return kind === 'ref' ? `$${params.length}::jsonb` : `$${params.length}`
    })
    return `(${ph.join(', ')})`
  })
  await c.query(
    `INSERT INTO ${t.name} (${t.cols.map(([col]) => `"${col}"`).join(', ')}) VALUES ${tuples.join(', ')}`,
    params,
  )
}

async function checkTargetEmpty(db: PgDatabase): Promise<void> {
  const found: string[] = []
  for (const name of TARGET_MUST_BE_EMPTY) {
    const r = await db.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM (SELECT 1 FROM ${name} LIMIT 1000) x`,
    )
    const n = r.rows[0]?.n ?? 0
    if (n > 0) found.push(`${name}: ${n === 1000 ? '1000+' : n}`)
  }
  if (found.length > 0)
    throw new Refused(
      `the target database is not empty (${found.join(', ')}); migrate only into a fresh database (a node started on it has already seeded a root identity): create a new one, or drop and recreate this one. Nothing was changed`,
    )
}

/** The target's digest of a table, read in keyset pages (byte order, as SQLite's). */
async function targetDigest(
  db: PgDatabase,
  t: Table,
  now: number,
  size: number,
): Promise<TableDigest> {
  const d = new TableDigest()
  const kindOf = new Map(t.cols)
  const keyExpr = t.key.map((k) => (kindOf.get(k) === 'int' ? `"${k}"` : `"${k}" COLLATE "C"`))
  const cols = t.cols.map(([c]) => `"${c}"`).join(', ')
  const where = t.where !== undefined ? t.where.replace('?', '$1') : '1 = 1'
  const base = t.where !== undefined ? [now] : []
  let after: unknown[] | undefined
  for (;;) {
    const params: unknown[] = [...base, ...(after ?? [])]
    const cond =
      after === undefined
        ? ''
        : ` AND (${keyExpr.join(', ')}) > (${after.map((_, i) => `$${base.length + i + 1}`).join(', ')})`
    const r = await db.query<Row>(
      `SELECT ${cols} FROM ${t.name} WHERE ${where}${cond} ORDER BY ${keyExpr.join(', ')} LIMIT ${size}`,
      params,
    )
    for (const row of r.rows) d.add(t, row)
    if (r.rows.length < size) break
    const last = r.rows[r.rows.length - 1]!
    after = t.key.map((k) => last[k])
  }
  return d
}

// --- blobs ------------------------------------------------------------------------------------

function blobRefsOf(ref: BodyRef, out: { ref: string; size: number }[]): void {
  if (ref.kind === 'blob') out.push({ ref: ref.ref, size: ref.size })
  else if (ref.kind === 'parts') for (const p of ref.parts) blobRefsOf(p.ref, out)
}

async function sha256Of(stream: Readable): Promise<{ hex: string; size: number }> {
  const h = createHash('sha256')
  let size = 0
  for await (const chunk of stream) {
    h.update(chunk as Buffer)
    size += (chunk as Buffer).length
  }
  return { hex: h.digest('hex'), size }
}

interface BlobTally {
  blobs: number
  bytes: number
}

/**
 * Copy one blob under its own name (target given), then read it back; without a target, read
 * the source's. Either way the bytes are hashed and their size checked against the record's.
 */
async function copyBlob(
  src: BlobStore,
  dst: BlobStore | undefined,
  b: { ref: string; size: number },
): Promise<void> {
  const what = `blob ${b.ref}`
  let sourceHash: { hex: string; size: number }
  try {
    if (dst === undefined) sourceHash = await sha256Of(src.get(b.ref))
    else {
      const h = createHash('sha256')
      let size = 0
      const hashing = new Transform({
        highWaterMark: 1024 * 1024,
        transform(chunk: Buffer, _enc, cb) {
          h.update(chunk)
          size += chunk.length
          cb(null, chunk)
        },
      })
      const from = src.get(b.ref)
      from.on('error', (e) => hashing.destroy(e))
      from.pipe(hashing)
      await dst.put(hashing, { ref: b.ref })
      sourceHash = { hex: h.digest('hex'), size }
    }
  } catch (e) {
    throw new Refused(`${what}: ${e instanceof Error ? e.message : String(e)}`)
  }
  if (sourceHash.size !== b.size)
    throw new Refused(
      `${what}: the source holds ${sourceHash.size} bytes, its record says ${b.size}: the source is damaged; nothing was committed`,
    )
  if (dst === undefined) return
  const back = await sha256Of(dst.get(b.ref)).catch((e: unknown) => {
    throw new Refused(`${what}: reading it back from the target failed: ${String(e)}`)
  })
  if (back.hex !== sourceHash.hex || back.size !== sourceHash.size)
    throw new Refused(
      `MISMATCH ${what}: the target holds ${back.size} bytes with SHA-256 ${back.hex}, the source ${sourceHash.size} bytes with ${sourceHash.hex}`,
    )
}

async function copyBlobs(
  src: BlobStore,
  dst: BlobStore | undefined,
  refs: readonly { ref: string; size: number }[],
  concurrency: number,
  tally: BlobTally,
): Promise<void> {
  let next = 0
  const worker = async (): Promise<void> => {
    while (next < refs.length) {
      const b = refs[next++]!
      await copyBlob(src, dst, b)
      tally.blobs++
      tally.bytes += b.size
    }
  }
  await Promise.all(Array.from({ length: Math.min(concurrency, refs.length) }, worker))
}

// --- the command ------------------------------------------------------------------------------

export async function runMigrate(
  argv: readonly string[],
  env: NodeJS.ProcessEnv,
  io: MigrateIo,
  deps: MigrateDeps = {},
): Promise<number> {
  const fail = (message: string, code: number): number => {
    io.err(`latchkey migrate: ${message}`)
    if (code === 2) io.err(MIGRATE_USAGE)
    return code
  }
  let args: Args
  try {
    args = parseArgs(argv, env)
  } catch (e) {
    if (e instanceof UsageError) return fail(e.message, 2)
    throw e
  }
  const keyFile = join(args.sourceDir, MASTER_KEY_FILE)
  const carry = existsSync(keyFile)
    ? `this install's key is in ${keyFile}: run with LATCHKEY_MASTER_KEY="$(cat ${keyFile})"`
    : `use the key this install ran with (its LATCHKEY_MASTER_KEY)`
  const keyText = nonEmpty(env['LATCHKEY_MASTER_KEY'])
  if (keyText === undefined)
    return fail(
      `LATCHKEY_MASTER_KEY is required: the cluster must use the master key the secrets were sealed with; ${carry}`,
      1,
    )
  let sealKey: Buffer
  try {
    sealKey = deriveKey(parseMasterKey(keyText, 'LATCHKEY_MASTER_KEY'), KEY_LABELS.seal)
  } catch (e) {
    return fail(e instanceof Error ? e.message : String(e), 1)
  }
  const now = (deps.now ?? Date.now)()
  const batchRows = deps.batchRows ?? 200
  const started = process.hrtime.bigint()

  let source: Database
  try {
    source = openSource(args.sourceDir)
  } catch (e) {
    return fail(e instanceof Error ? e.message : String(e), 1)
  }
  let db: PgDatabase | undefined
  let committed = false
  try {
    checkSourceSchema(source, args.sourceDir)
    const checkSealed = (t: Table, row: Row): void => {
      const s = t.sealed?.(row)
      if (s === undefined) return
      try {
        unseal(sealKey, s[0], s[1])
      } catch {
        throw new Refused(
          `LATCHKEY_MASTER_KEY does not decrypt the source's secrets (${t.name} ${t.key.map((k) => String(row[k])).join('/')}): ${carry}. Nothing was changed`,
        )
      }
    }
    // The key first, before the target is touched: the first account's sealed secret.
    const first = prepare(source, 'SELECT * FROM iam_accounts ORDER BY id LIMIT 1').get() as
      Row | undefined
    if (first !== undefined) checkSealed(TABLES[0]!, first)

    const objectsDir = join(args.sourceDir, 'objects')
    const target = args.blobStore
    const sharedBlobs =
      target === undefined ||
      (target.kind === 'file' && resolve(target.dir) === resolve(objectsDir))
    const blobUrl =
      target === undefined || sharedBlobs
        ? `file:${objectsDir}`
        : target.kind === 'file'
          ? `file:${resolve(target.dir)}`
          : `s3://${target.bucket}/${target.prefix}`
    io.out(`latchkey migrate: sqlite:${args.sourceDir} → ${redact(args.url)}`)
    io.out(
      sharedBlobs
        ? `  blob bodies stay in ${objectsDir} (the cluster's --blob-store ${blobUrl}); they are read and checked, not copied`
        : `  blob bodies are copied to ${blobUrl} and read back`,
    )

    try {
      db = await openPostgres(args.url, { max: 2 })
      await runPostgresMigrations(db)
    } catch (e) {
      const cause = e instanceof Error && e.cause instanceof Error ? ` (${e.cause.message})` : ''
      throw new Refused(
        `cannot open the target ${redact(args.url)}: ${e instanceof Error ? e.message : String(e)}${cause}`,
      )
    }
    await checkTargetEmpty(db)

    // Read-only: `new` (not open) so that nothing in the source's objects dir is swept.
    const srcBlobs = new FsBlobStore(objectsDir)
    const dstBlobs =
      sharedBlobs || args.blobStore === undefined
        ? undefined
        : await openBlobStore(args.blobStore, {
            shared: true,
            // An s3:// target spools bodies of unknown length; migrate knows every length.
            spoolDir: join(args.sourceDir, 'blob-spool'),
          })
    const tables = TABLES.filter((t) => sharedBlobs || t.sharedBlobsOnly !== true)
    const digests = new Map<string, TableDigest>()
    const tally: BlobTally = { blobs: 0, bytes: 0 }
    let inlineBytes = 0
    await db.tx(async (c) => {
      // Run again on a retry (db.tx retries serialization failures): start over.
      digests.clear()
      tally.blobs = 0
      tally.bytes = 0
      inlineBytes = 0
      for (const t of tables) {
        const d = new TableDigest()
        digests.set(t.name, d)
        const hasBody = t.cols.some(([, k]) => k === 'ref')
        for (const rows of pages(source, t, now, batchRows)) {
          const blobs: { ref: string; size: number }[] = []
          for (const row of rows) {
            checkSealed(t, row)
            d.add(t, row)
            if (!hasBody) continue
            if (row['body_ref'] !== null)
              blobRefsOf(decodeRef(JSON.parse(s(row['body_ref'])) as EncodedRef), blobs)
            if (Buffer.isBuffer(row['body'])) inlineBytes += row['body'].length
          }
          // Bodies before the rows that name them.
          await copyBlobs(srcBlobs, dstBlobs, blobs, deps.blobConcurrency ?? 4, tally)
          await insertRows(c, t, rows)
        }
      }
    })

    committed = true

    // Verification: what the target now holds, read back.
    const mismatches: string[] = []
    io.out(`  ${'table'.padEnd(22)}${'source'.padStart(9)}${'target'.padStart(9)}  checksum`)
    for (const t of tables) {
      const want = digests.get(t.name)!
      const got = await targetDigest(db, t, now, 500)
      const same = got.rows === want.rows && got.hex() === want.hex()
      io.out(
        `  ${t.name.padEnd(22)}${String(want.rows).padStart(9)}${String(got.rows).padStart(9)}  ${same ? 'equal' : 'DIFFERENT'}`,
      )
      if (!same)
        mismatches.push(
          `${t.name}: source ${want.rows} rows (checksum ${want.hex().slice(0, 16)}…), target ${got.rows} rows (checksum ${got.hex().slice(0, 16)}…)`,
        )
    }
    const secs = Number(process.hrtime.bigint() - started) / 1e9
    const mib = (tally.bytes + inlineBytes) / (1024 * 1024)
    const objects = digests.get('objects')?.rows ?? 0
    io.out(
      `  blob bodies: ${tally.blobs} (${(tally.bytes / (1024 * 1024)).toFixed(1)} MiB), SHA-256 of each ${dstBlobs !== undefined ? 'equal in source and target' : 'read from the source, sizes as recorded'}`,
    )
    io.out(
      `  ${objects} objects, ${mib.toFixed(1)} MiB of bodies in ${secs.toFixed(1)} s (${(objects / secs).toFixed(0)} objects/s, ${(mib / secs).toFixed(1)} MiB/s)`,
    )
    io.out(
      '  not copied: expired sessions and TOTP claims, login-throttle attempts' +
        (sharedBlobs ? '' : ', the blob ledger (orphans of the old store stay there)'),
    )
    if (mismatches.length > 0) {
      for (const m of mismatches) io.err(`latchkey migrate: MISMATCH ${m}`)
      return fail('verification failed: the target differs from the source (see above)', 1)
    }
    io.out('Verified: every table has the same rows and every blob the same bytes.')
    io.out('Start each cluster node with the same master key, database and blob store:')
    io.out(
      `  LATCHKEY_MASTER_KEY=… latchkey serve --database ${redact(args.url)} --blob-store ${blobUrl}`,
    )
    io.out(
      `  (${existsSync(keyFile) ? `the key is the content of ${keyFile}; copy it into every node's secret store, never into a log` : 'the LATCHKEY_MASTER_KEY given here'}). Do not start the single node on ${args.sourceDir} again.`,
    )
    return 0
  } catch (e) {
    if (e instanceof Refused) return fail(e.message, 1)
    const cause = (e as { cause?: unknown }).cause
    if (cause instanceof Refused) return fail(cause.message, 1)
    // Anything else (the database went away, a disk error): one line with the driver's own
    // words. Before the commit the transaction was rolled back, so running again is safe.
    const why = cause instanceof Error ? ` (${cause.message})` : ''
    return fail(
      `${e instanceof Error ? e.message : String(e)}${why}; ${committed ? 'the rows were committed but not verified: check the target, or recreate it and run the command again' : 'nothing was committed: run the command again once fixed'}`,
      1,
    )
  } finally {
    source.close()
    await db?.close()
  }
}
