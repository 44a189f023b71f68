/**
 * SharedLimits on PostgreSQL: the issuance buckets, the login throttle and TOTP replay
 * protection for a whole cluster, not per node (three nodes must not mean three times the quota).
 *
 * Issuance is one statement per AssumeRole (TAKE_SQL): an upsert of the parent's bucket row whose
 * `WHERE` refills, checks the tokens and the held count, and takes one of each; the row lock it
 * holds until its autocommit serializes a parent's issues across nodes, and its cost does not grow
 * with the parent's sessions. Only a refusal reads the row again, to say which limit refused.
 *
 * Why an advisory lock per key, and why that is exact: a reservation is "count, then insert if
 * under the limit", and two nodes doing that at once under READ COMMITTED would both count N-1
 * and both insert. So each decision runs in one transaction that first takes
 * `pg_advisory_xact_lock(namespace, hashtext(key))` in a statement of its own; the count is a
 * later statement, so its snapshot is taken after the lock was granted and sees every row
 * committed by the previous holder (whose lock was released only at its COMMIT).
 * Reservations of one key are thus serialized cluster-wide, those of different keys never wait
 * on each other (a hash collision only makes two keys share a lock), and nothing is retried as
 * it would be under SERIALIZABLE. The two-int lock form keeps our namespaces apart from db.ts's migration lock.
 * A login reserves on several keys: their locks are taken in hash order, so two logins never
 * deadlock (and db.ts retries the transaction if PostgreSQL ever reports one).
 *
 * TOTP claims need no lock: `INSERT … ON CONFLICT DO UPDATE … WHERE value < excluded.value`
 * (or the old claim lapsed) is decided on the row by PostgreSQL itself; RETURNING says who won.
 *
 * Times are the caller's injected `now` (milliseconds), as in the other backends: nodes must keep
 * their clocks in step (NTP), as they must for SigV4 and session expiry anyway. Every database
 * failure is StorageError('unavailable') (db.ts). A login attempt whose settlement fails stays
 * recorded as in flight, so it counts against its keys until the window passes: failing closed.
 * @module
 */
import { randomUUID } from 'node:crypto'
import {
  LOGIN_THROTTLE,
  type IssueRule,
  type IssueVerdict,
  type LoginAttempt,
  type SharedLimits,
  type ThrottleOptions,
} from '../../storage/shared-limits.js'
import { runMigrations, type PgDatabase, type Queryable } from './db.js'
import { LOGIN_LOCK, PG_SHARED_LIMITS_MIGRATIONS } from './migrations/shared-limits.js'
import { PgSessionUsage } from './session-usage.js'
import type { UsageCaps, UsageDelta, UsageRefusal } from '../../storage/session-usage.js'

export { PG_SHARED_LIMITS_MIGRATIONS }

/** Failures and attempts in flight of keys $1 since $2 (the window's start), oldest first. */
const LIVE_SQL = `SELECT key, at, attempt FROM iam_login_attempts WHERE key = ANY($1) AND at > $2
  ORDER BY at, id`

interface AttemptDb {
  key: string
  at: string | number
  attempt: string | null
}

/**
 * Seconds before `key` may try again, from its live rows (failures and attempts in flight within
 * the window, oldest first): the memory throttle's rule (memory/throttle.ts retryAfter).
 */
function waitOf(rows: readonly AttemptDb[], opts: ThrottleOptions, now: number): number {
  if (rows.length < opts.limit) return 0
  const failures = rows.filter((r) => r.attempt === null).map((r) => Number(r.at))
  const oldest = failures[failures.length - opts.limit]
  if (oldest === undefined) return 1
  return Math.max(1, Math.ceil((oldest + opts.windowMs - now) / 1000))
}

/**
 * Take one issue for quota key $1: burst $2, rate $3 per second, now $4, at most $5 held. The
 * refill and the checks are written twice (SET and WHERE) because ON CONFLICT's WHERE cannot name
 * the SET's results; a new row starts with a full bucket minus this issue.
 */
const REFILLED = `LEAST($2::float8, COALESCE(b.tokens, $2::float8)
  + GREATEST(0, $4::bigint - b.refilled_at) * $3::float8 / 1000)`
const TAKE_SQL = `INSERT INTO iam_issue_buckets AS b (quota_key, tokens, refilled_at, active)
  VALUES ($1, $2::float8 - 1, $4::bigint, 1)
  ON CONFLICT (quota_key) DO UPDATE SET
    tokens = ${REFILLED} - 1,
    refilled_at = GREATEST(b.refilled_at, $4::bigint),
    active = b.active + 1
  WHERE ${REFILLED} >= 1 AND b.active < $5::bigint
  RETURNING 1`

export class PgSharedLimits implements SharedLimits {
  private readonly db: PgDatabase
  private readonly opts: ThrottleOptions

  constructor(db: PgDatabase, opts: { readonly throttle?: ThrottleOptions } = {}) {
    this.db = db
    this.opts = opts.throttle ?? LOGIN_THROTTLE
  }

  /** Create the tables (once per cluster, under db.ts's migration lock) and return the limits. */
  static async open(
    db: PgDatabase,
    opts: { readonly throttle?: ThrottleOptions } = {},
  ): Promise<PgSharedLimits> {
    await runMigrations(db, 'shared-limits', PG_SHARED_LIMITS_MIGRATIONS)
    const limits = new PgSharedLimits(db, opts)
    limits.usageRows = await PgSessionUsage.open(db)
    return limits
  }

  // --- session issuance ----------------------------------------------------------------------

  /** One round trip: TAKE_SQL refills, checks and takes on the parent's row, or returns nothing. */
  async takeIssue(quotaKey: string, rule: IssueRule, now: number): Promise<IssueVerdict> {
    const r = await this.db.query(TAKE_SQL, [quotaKey, rule.burst, rule.rate, now, rule.maxActive])
    if ((r.rowCount ?? 0) > 0) return true
    // Refused: read the row to say which limit (a refusal may cost a second round trip).
    const b = await this.db.query<{ tokens: number | null; refilled_at: string; active: string }>(
      'SELECT tokens, refilled_at, active FROM iam_issue_buckets WHERE quota_key = $1',
      [quotaKey],
    )
    const row = b.rows[0]
    if (row === undefined) return { limit: 'rate', retryAfterMs: 1000 } // raced a deletion
    const active = Number(row.active)
    if (active >= rule.maxActive) return { limit: 'active', active }
    const tokens = Math.min(
      rule.burst,
      (row.tokens ?? rule.burst) + (Math.max(0, now - Number(row.refilled_at)) * rule.rate) / 1000,
    )
    return {
      limit: 'rate',
      retryAfterMs: Math.max(1, Math.ceil(((1 - tokens) * 1000) / rule.rate)),
    }
  }

  async untakeIssue(quotaKey: string): Promise<void> {
    await this.db.query(
      'UPDATE iam_issue_buckets SET active = GREATEST(0, active - 1) WHERE quota_key = $1',
      [quotaKey],
    )
  }

  async sessionsEnded(ended: ReadonlyMap<string, number>): Promise<void> {
    if (ended.size === 0) return
    await this.db.query(
      `UPDATE iam_issue_buckets AS b SET active = GREATEST(0, b.active - d.n)
       FROM unnest($1::text[], $2::bigint[]) AS d(k, n) WHERE b.quota_key = d.k`,
      [[...ended.keys()], [...ended.values()]],
    )
  }

  async heldSessions(): Promise<number> {
    const r = await this.db.query<{ n: string | null }>(
      'SELECT sum(active) AS n FROM iam_issue_buckets',
    )
    return Number(r.rows[0]?.n ?? 0)
  }

  /** Sessions counted as held by `quotaKey` (tests and diagnostics). */
  async activeSessions(quotaKey: string): Promise<number> {
    const r = await this.db.query<{ active: string }>(
      'SELECT active FROM iam_issue_buckets WHERE quota_key = $1',
      [quotaKey],
    )
    return Number(r.rows[0]?.active ?? 0)
  }

  /**
   * Count the sessions already stored when no parent has a bucket row yet (a database filled by
   * `latchkey migrate`, or one from before the buckets): one grouped count, only then, so a
   * node's start does not scan a million sessions. The number of parents adopted.
   */
  async adoptSessions(now: number): Promise<number> {
    const r = await this.db.query(
      `INSERT INTO iam_issue_buckets (quota_key, tokens, refilled_at, active)
       SELECT quota_key, NULL, $1, count(*) FROM iam_sessions
       WHERE NOT EXISTS (SELECT 1 FROM iam_issue_buckets) GROUP BY quota_key
       ON CONFLICT (quota_key) DO NOTHING`,
      [now],
    )
    return r.rowCount ?? 0
  }

  // --- login throttle ------------------------------------------------------------------------

  /** Lock every key's throttle row set, in hash order (no two logins can deadlock). */
  private async lockKeys(c: Queryable, keys: readonly string[]): Promise<void> {
    await c.query(
      `SELECT pg_advisory_xact_lock($1, h) FROM (
         SELECT DISTINCT hashtext(k) AS h FROM unnest($2::text[]) AS k ORDER BY h) AS s`,
      [LOGIN_LOCK, [...keys]],
    )
  }

  /** Failures and attempts in flight of `keys` within the window, oldest first. */
  private async live(c: Queryable, keys: readonly string[], now: number): Promise<AttemptDb[]> {
    const r = await c.query<AttemptDb>(LIVE_SQL, [[...keys], now - this.opts.windowMs])
    return r.rows
  }

  /** Keep at most `limit` failures per key (older ones can no longer decide anything). */
  private async trim(c: Queryable, keys: readonly string[]): Promise<void> {
    await c.query(
      `DELETE FROM iam_login_attempts WHERE id IN (
         SELECT id FROM (
           SELECT id, row_number() OVER (PARTITION BY key ORDER BY at DESC, id DESC) AS n
           FROM iam_login_attempts WHERE key = ANY($1) AND attempt IS NULL) AS ranked
         WHERE n > $2)`,
      [[...keys], this.opts.limit],
    )
  }

  async retryAfter(key: string, now: number): Promise<number> {
    // Autocommit, no lock: a read for the caller's information, decided again on reserve.
    const r = await this.db.query<AttemptDb>(LIVE_SQL, [[key], now - this.opts.windowMs])
    return waitOf(r.rows, this.opts, now)
  }

  async reserveAttempt(keys: readonly string[], now: number): Promise<LoginAttempt | number> {
    const id = randomUUID()
    const got = await this.db.tx(async (c) => {
      await this.lockKeys(c, keys)
      const rows = await this.live(c, keys, now)
      let wait = 0
      for (const k of keys)
        wait = Math.max(
          wait,
          waitOf(
            rows.filter((r) => r.key === k),
            this.opts,
            now,
          ),
        )
      if (wait > 0) return wait
      await c.query(
        `INSERT INTO iam_login_attempts (key, at, attempt)
         SELECT k, $2, $3 FROM unnest($1::text[]) AS k`,
        [[...keys], now, id],
      )
      return true
    })
    if (typeof got === 'number') return got
    let settled = false
    const fail = async (at: number): Promise<void> => {
      if (settled) return
      settled = true
      await this.db.tx(async (c) => {
        await this.lockKeys(c, keys)
        await c.query('UPDATE iam_login_attempts SET attempt = NULL, at = $1 WHERE attempt = $2', [
          at,
          id,
        ])
        await this.trim(c, keys)
      })
    }
    const succeed = async (): Promise<void> => {
      if (settled) return
      settled = true
      // Only lowers counts: no lock needed.
      await this.db.query('DELETE FROM iam_login_attempts WHERE attempt = $1', [id])
    }
    return { fail, succeed }
  }

  async recordFailure(key: string, now: number): Promise<void> {
    await this.db.tx(async (c) => {
      await this.lockKeys(c, [key])
      await c.query('INSERT INTO iam_login_attempts (key, at, attempt) VALUES ($1, $2, NULL)', [
        key,
        now,
      ])
      await this.trim(c, [key])
    })
  }

  async clearFailures(key: string): Promise<void> {
    await this.db.query('DELETE FROM iam_login_attempts WHERE key = $1 AND attempt IS NULL', [key])
  }

  // --- TOTP claims ---------------------------------------------------------------------------

  async claimOnce(key: string, value: number, ttlMs: number, now: number): Promise<boolean> {
    const r = await this.db.query(
      `INSERT INTO iam_totp_claims AS c (key, value, until) VALUES ($1, $2, $3)
       ON CONFLICT (key) DO UPDATE SET value = excluded.value, until = excluded.until
       WHERE c.value < excluded.value OR c.until <= $4
       RETURNING 1`,
      [key, value, now + ttlMs, now],
    )
    return (r.rowCount ?? 0) > 0
  }

  // --- sweep ---------------------------------------------------------------------------------

  async sweep(now: number): Promise<void> {
    await this.db.query(
      `WITH attempts AS (DELETE FROM iam_login_attempts WHERE at <= $2)
       DELETE FROM iam_totp_claims WHERE until <= $1`,
      [now, now - this.opts.windowMs],
    )
    await this.usage.sweepUsage(now)
  }

  // --- upload-cap counters (storage/session-usage.ts; postgres/session-usage.ts) ------------

  private usageRows: PgSessionUsage | undefined

  /** The counters (created by open(); a limits object built directly makes its own). */
  private get usage(): PgSessionUsage {
    this.usageRows ??= new PgSessionUsage(this.db)
    return this.usageRows
  }

  reserveUsage(
    key: string,
    delta: UsageDelta,
    caps: UsageCaps,
    expiresAt: number,
  ): Promise<UsageRefusal | undefined> {
    return this.usage.reserveUsage(key, delta, caps, expiresAt)
  }

  commitUsage(key: string, reserved: UsageDelta, stored: UsageDelta): Promise<void> {
    return this.usage.commitUsage(key, reserved, stored)
  }

  releaseUsage(key: string, delta: UsageDelta): Promise<void> {
    return this.usage.releaseUsage(key, delta)
  }

  usageOf(keys: readonly string[]): Promise<ReadonlyMap<string, UsageDelta>> {
    return this.usage.usageOf(keys)
  }
}
