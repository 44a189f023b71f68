/**
 * The PostgreSQL connection every Postgres store shares: one `pg` pool, transactions with a
 * retry on serialization failures and deadlocks, migrations that run once under an advisory
 * lock whichever node starts first, and one mapping of connection failures to
 * StorageError('unavailable') (the surfaces answer 503, never 500).
 * @module
 */
import pg from 'pg'
import { StorageError } from '../../storage/errors.js'
import { secondsSince, type StorageTimings } from '../../storage/timings.js'

export type Queryable = Pick<pg.PoolClient, 'query'>

export interface PgDatabase {
  readonly pool: pg.Pool
  /** One statement on any pooled connection (autocommit). */
  query<R extends pg.QueryResultRow = pg.QueryResultRow>(
    sql: string,
    params?: readonly unknown[],
  ): Promise<pg.QueryResult<R>>
  /**
   * `fn` inside BEGIN … COMMIT on one connection, retried (up to 5 times) when PostgreSQL reports
   * a serialization failure or a deadlock; `fn` must be safe to run again.
   */
  tx<T>(fn: (c: Queryable) => Promise<T>, opts?: { readonly serializable?: boolean }): Promise<T>
  /**
   * `fn` with one pooled connection of its own (for session state such as an advisory lock held
   * across statements); `markBroken` drops the connection instead of returning it to the pool.
   */
  session<T>(fn: (c: pg.PoolClient, markBroken: () => void) => Promise<T>): Promise<T>
  close(): Promise<void>
}

/**
 * Statements prepared once per connection and reused by name: PostgreSQL then skips parsing and
 * planning them on every call (the hot statements — an object read, a session insert — run
 * thousands of times a second). Only single DML statements qualify, at most this many distinct
 * texts, and never a `SELECT *` (a later schema step adding a column would make its cached plan
 * fail on nodes still running); migrations and other DDL run unprepared.
 */
const MAX_PREPARED = 256
const preparedNames = new Map<string, string>()

/** One DML statement (no DDL, no `;`-separated list, no `SELECT *`). */
function preparable(sql: string): boolean {
  return (
    /^\s*(SELECT|INSERT|UPDATE|DELETE|WITH)\b/i.test(sql) &&
    !sql.includes(';') &&
    !/\bSELECT\s+\*/i.test(sql)
  )
}

/** The query config for `sql`: named (prepared) when it qualifies, plain otherwise. */
export function statement(sql: string, values: readonly unknown[] | undefined): pg.QueryConfig {
  let name = preparedNames.get(sql)
  if (name === undefined && preparedNames.size < MAX_PREPARED && preparable(sql)) {
    name = `lk_${preparedNames.size}`
    preparedNames.set(sql, name)
  }
  const v = values as unknown[] | undefined
  return name === undefined
    ? { text: sql, ...(v !== undefined ? { values: v } : {}) }
    : { name, text: sql, ...(v !== undefined ? { values: v } : {}) }
}

/** `c` with every query going through `statement` (prepared by name where it qualifies). */
function prepare(c: pg.PoolClient): Queryable {
  const query = (sql: string, values?: readonly unknown[]) => c.query(statement(sql, values))
  return { query: query as Queryable['query'] }
}

const RETRY = Symbol('retry')

/**
 * A pooled connection for `fn`. pg-pool removes its own error listener while a client is checked
 * out: a connection that drops between two statements must not crash the process (the next query
 * on it fails, and the caller handles that), and such a connection is not returned to the pool.
 */
async function onClient<T>(
  pool: pg.Pool,
  fn: (c: pg.PoolClient, markBroken: () => void) => Promise<T>,
): Promise<T> {
  let client: pg.PoolClient
  try {
    client = await pool.connect()
  } catch (e) {
    throw storageError(e, 'connect')
  }
  let broken = false
  const markBroken = (): void => {
    broken = true
  }
  client.on('error', markBroken)
  try {
    return await fn(client, markBroken)
  } finally {
    client.off('error', markBroken)
    client.release(broken)
  }
}

/** Errors that mean "try the whole transaction again". */
const RETRYABLE = new Set(['40001', '40P01'])
/** Errors of the connection or server, not of the statement: the database is unavailable. */
const UNAVAILABLE_CODES = new Set(['57P01', '57P02', '57P03', '53300', '08000', '08003', '08006'])

export function isUnavailable(e: unknown): boolean {
  const code = (e as { code?: unknown } | undefined)?.code
  if (typeof code !== 'string') return false
  return (
    UNAVAILABLE_CODES.has(code) ||
    code.startsWith('08') || // connection exceptions
    code === '55000' || // e.g. the database is not accepting connections yet
    code === 'ECONNREFUSED' ||
    code === 'ECONNRESET' ||
    code === 'ETIMEDOUT' ||
    code === 'EPIPE'
  )
}

/** A driver error as the storage layer speaks it (unavailable → 503 upstream). */
export function storageError(e: unknown, what: string): unknown {
  if (e instanceof StorageError) return e
  if (
    isUnavailable(e) ||
    (e instanceof Error &&
      /Connection terminated|timeout exceeded when trying to connect/i.test(e.message))
  )
    return new StorageError('unavailable', `database unavailable: ${what}`, {}, { cause: e })
  return e
}

export async function openPostgres(
  url: string,
  opts: {
    readonly max?: number
    readonly connectTimeoutMs?: number
    /** Where transaction durations go (metrics). */
    readonly timings?: StorageTimings
  } = {},
): Promise<PgDatabase> {
  const pool = new pg.Pool({
    connectionString: url,
    max: opts.max ?? 10,
    connectionTimeoutMillis: opts.connectTimeoutMs ?? 5_000,
  })
  // An idle client's error (the server restarted) must not take the process down.
  pool.on('error', () => {})
  const db: PgDatabase = {
    pool,
    async query(sql, params) {
      try {
        return await pool.query(statement(sql, params))
      } catch (e) {
        throw storageError(e, 'query')
      }
    },
    async tx(fn, o = {}) {
      for (let attempt = 1; ; attempt++) {
        const r = await onClient(pool, async (client, markBroken) => {
          try {
            const t0 = performance.now()
            await client.query(
              o.serializable === true ? 'BEGIN ISOLATION LEVEL SERIALIZABLE' : 'BEGIN',
            )
            const out = await fn(prepare(client))
            await client.query('COMMIT')
            opts.timings?.commit(secondsSince(t0))
            return { out }
          } catch (e) {
            await client.query('ROLLBACK').catch(markBroken)
            const code = (e as { code?: unknown }).code
            if (typeof code === 'string' && RETRYABLE.has(code) && attempt < 5) return RETRY
            throw storageError(e, 'transaction')
          }
        })
        if (r !== RETRY) return r.out
      }
    },
    session: (fn) => onClient(pool, fn),
    close: () => pool.end(),
  }
  return db
}

/**
 * Apply the steps of migration list `name` not applied yet, each in its own transaction, under
 * an advisory lock: nodes starting together run each step exactly once. Steps are append-only.
 */
export async function runMigrations(
  db: PgDatabase,
  name: string,
  steps: readonly string[],
): Promise<void> {
  await db.tx(async (c) => {
    // One lock for every migration list: simple, and start-up is not a hot path.
    await c.query('SELECT pg_advisory_xact_lock(7204517)')
    await c.query(`CREATE TABLE IF NOT EXISTS latchkey_migrations (
      name TEXT NOT NULL,
      step INTEGER NOT NULL,
      PRIMARY KEY (name, step)
    )`)
    const done = await c.query<{ step: number }>(
      'SELECT step FROM latchkey_migrations WHERE name = $1',
      [name],
    )
    const applied = new Set(done.rows.map((r) => r.step))
    for (let step = 0; step < steps.length; step++) {
      if (applied.has(step)) continue
      await c.query(steps[step]!)
      await c.query('INSERT INTO latchkey_migrations (name, step) VALUES ($1, $2)', [name, step])
    }
  })
}
