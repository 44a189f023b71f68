/**
 * Opening the embedded SQLite database: one place that fixes the pragmas every store relies on
 * (WAL for concurrent readers, synchronous=FULL so a committed transaction survives power loss),
 * caches prepared statements, and runs named, append-only migration step lists. Both the
 * metadata store and the identity store add their tables through `runMigrations`.
 * @module
 */
import { mkdirSync } from 'node:fs'
import { dirname } from 'node:path'
import BetterSqlite3 from 'better-sqlite3'

export type Database = BetterSqlite3.Database
export type Statement = BetterSqlite3.Statement

export interface OpenOptions {
  /**
   * Milliseconds to wait for a lock held by another connection (default 5000), opening included:
   * 0 fails at once on a database a running server holds (offline tools use it).
   */
  readonly busyTimeoutMs?: number
  /**
   * Hold the database lock for the connection's whole life (the server's own database: one
   * process owns a data dir). SQLite then keeps the WAL index in heap memory instead of a shared
   * -shm file, so a read transaction takes no file-lock syscalls: point reads cost about half.
   * It also makes a second server on the same data dir fail to start instead of sharing it.
   */
  readonly exclusive?: boolean
}

/** Open (creating if needed) a database file with Latchkey's pragmas. `:memory:` works for tests. */
export function openDatabase(path: string, opts: OpenOptions = {}): Database {
  if (path !== ':memory:' && path !== '') mkdirSync(dirname(path), { recursive: true })
  const busyTimeoutMs = Math.max(0, Math.floor(opts.busyTimeoutMs ?? 5000))
  const db = new BetterSqlite3(path, { timeout: busyTimeoutMs })
  // Must precede the switch to WAL for the WAL index to live in heap memory.
  if (opts.exclusive === true) db.pragma('locking_mode = EXCLUSIVE')
  db.pragma('journal_mode = WAL')
  // Durability off the event loop is wal-sync.ts's enableAsyncDurability (openSqlite applies it).
  db.pragma('synchronous = FULL')
  db.pragma(`busy_timeout = ${busyTimeoutMs}`)
  db.pragma('foreign_keys = ON')
  // Larger page cache (negative = KiB): listing and small-object reads stay in memory.
  db.pragma('cache_size = -32768')
  db.pragma('temp_store = MEMORY')
  // Memory-mapped reads avoid a read() syscall per page that is not in the page cache.
  if (path !== ':memory:' && path !== '') db.pragma('mmap_size = 268435456')
  return db
}

const statementCache = new WeakMap<Database, Map<string, Statement>>()

/** A prepared statement, compiled once per database and SQL text. */
export function prepare(db: Database, sql: string): Statement {
  let perDb = statementCache.get(db)
  if (perDb === undefined) {
    perDb = new Map()
    statementCache.set(db, perDb)
  }
  let stmt = perDb.get(sql)
  if (stmt === undefined) {
    stmt = db.prepare(sql)
    perDb.set(sql, stmt)
  }
  return stmt
}

/**
 * Apply the steps of migration list `name` that have not run yet, each in its own transaction,
 * recording them in `migrations(name, step)`. Steps are append-only: never edit a released one.
 */
export function runMigrations(db: Database, name: string, steps: readonly string[]): void {
  db.exec(`CREATE TABLE IF NOT EXISTS migrations (
    name TEXT NOT NULL,
    step INTEGER NOT NULL,
    PRIMARY KEY (name, step)
  )`)
  const applied = new Set(
    (db.prepare('SELECT step FROM migrations WHERE name = ?').all(name) as { step: number }[]).map(
      (r) => r.step,
    ),
  )
  const record = db.prepare('INSERT INTO migrations (name, step) VALUES (?, ?)')
  steps.forEach((sql, step) => {
    if (applied.has(step)) return
    db.transaction(() => {
      db.exec(sql)
      record.run(name, step)
    }).immediate()
  })
}
