/**
 * SharedLimits for the SQLite bundle. Login failures (and attempts in flight) and TOTP claims
 * live in tables, so a restart neither forgets a lockout nor lets a used TOTP code be replayed.
 * Each decision (reserve on every key or none, claim a step) is one operation in the connection's
 * group commit, which runs operations one after another inside a transaction: two concurrent
 * logins are counted one after the other, never both against the same count.
 *
 * Issuance buckets stay in memory (backends/memory/issue-buckets.ts, one entry per parent): one
 * process holds the SQLite file exclusively (openDatabase exclusive), so it sees every issue and
 * sweep there is, and the AssumeRole path keeps its synchronous check. The held-session counts
 * are rebuilt when this opens from one grouped count over iam_sessions' quota index (about a
 * tenth of a second for a million rows); the buckets start full (a restart refills them).
 *
 * Upload-cap counters (storage/session-usage.ts) are decided in memory too, for the same reason
 * (one process owns the file, so the in-process map sees every write there is), and written
 * through to `iam_session_usage` so a restart keeps what every session wrote: sessions survive
 * restarts, so their usage must, or a three-month credential capped at 1 GB could write 1 GB again
 * after each one. The durable write rides the group commit without being awaited: a change marks
 * its counter dirty and queues (once per batch) an op that upserts the dirty counters' current
 * values. A write reserves before it stores, so that op is queued before the write's own metadata
 * op, and the committer commits (and, under async durability, fsyncs and acknowledges) batches in
 * queue order: when a write is acknowledged to the S3 client, or merely stored, its reservation
 * is already durable. What a crash can lose is only what no stored object depends on: a release
 * or a commit-of-less (the counter stays higher: fails closed) and reservations of writes that
 * had not stored yet. Counters are loaded at open and dropped by the sweep with their session.
 * @module
 */
import {
  LOGIN_THROTTLE,
  type LoginAttempt,
  type SharedLimits,
  type ThrottleOptions,
} from '../../storage/shared-limits.js'
import { MemoryIssueLimits } from '../memory/shared-limits.js'
import { MemorySessionUsage } from '../memory/session-usage.js'
import type { UsageCaps, UsageDelta, UsageRefusal } from '../../storage/session-usage.js'
import { prepare, runMigrations, type Database } from './db.js'
import { GroupCommit } from './group-commit.js'

/** Append-only migration steps of the shared-limit tables. */
export const SHARED_LIMITS_MIGRATIONS: readonly string[] = [
  `CREATE TABLE iam_login_attempts (
     key TEXT NOT NULL,
     at INTEGER NOT NULL,
     attempt TEXT
   );
   CREATE INDEX iam_login_attempts_key ON iam_login_attempts (key, at);
   CREATE INDEX iam_login_attempts_attempt ON iam_login_attempts (attempt);
   CREATE TABLE iam_totp_claims (
     key TEXT PRIMARY KEY,
     value INTEGER NOT NULL,
     until INTEGER NOT NULL
   );`,
  // Upload-cap counters (storage/session-usage.ts), written through from memory.
  `CREATE TABLE iam_session_usage (
     key TEXT PRIMARY KEY,
     bytes INTEGER NOT NULL,
     objects INTEGER NOT NULL,
     expires_at INTEGER NOT NULL
   );
   CREATE INDEX iam_session_usage_expires ON iam_session_usage (expires_at);`,
]

interface AttemptDb {
  at: number
  attempt: string | null
}

export class SqliteSharedLimits extends MemoryIssueLimits implements SharedLimits {
  private readonly db: Database
  private readonly commits: GroupCommit
  private readonly opts: ThrottleOptions
  private nextAttempt = 0

  private constructor(db: Database, opts: ThrottleOptions, commits: GroupCommit) {
    super()
    this.db = db
    this.commits = commits
    this.opts = opts
  }

  /**
   * Create the tables and rebuild the held-session counts from the sessions table (the identity
   * store must have been opened on `db` first).
   */
  static open(
    db: Database,
    opts: {
      readonly throttle?: ThrottleOptions
      readonly now?: number
      /** The bundle's one committer (default: a committer of its own). */
      readonly commits?: GroupCommit
    } = {},
  ): SqliteSharedLimits {
    runMigrations(db, 'shared-limits', SHARED_LIMITS_MIGRATIONS)
    const limits = new SqliteSharedLimits(
      db,
      opts.throttle ?? LOGIN_THROTTLE,
      opts.commits ?? new GroupCommit(db),
    )
    const now = opts.now ?? Date.now()
    const rows = prepare(
      db,
      'SELECT quota_key, COUNT(*) AS n FROM iam_sessions GROUP BY quota_key',
    ).all() as { quota_key: string; n: number }[]
    for (const r of rows) limits.buckets.seed(r.quota_key, r.n, now)
    const usage = prepare(
      db,
      'SELECT key, bytes, objects, expires_at FROM iam_session_usage WHERE expires_at > ?',
    ).all(now) as { key: string; bytes: number; objects: number; expires_at: number }[]
    for (const u of usage)
      limits.usage.seedUsage(u.key, { bytes: u.bytes, objects: u.objects }, u.expires_at)
    return limits
  }

  /** Failures (attempt null) and attempts in flight of `key` within the window, oldest first. */
  private live(key: string, now: number): AttemptDb[] {
    return prepare(
      this.db,
      'SELECT at, attempt FROM iam_login_attempts WHERE key = ? AND at > ? ORDER BY at',
    ).all(key, now - this.opts.windowMs) as AttemptDb[]
  }

  /** Same rule as the memory throttle (throttle.ts retryAfter), read from the table. */
  private wait(key: string, now: number): number {
    const rows = this.live(key, now)
    if (rows.length < this.opts.limit) return 0
    const failures = rows.filter((r) => r.attempt === null).map((r) => r.at)
    const oldest = failures[failures.length - this.opts.limit]
    if (oldest === undefined) return 1
    return Math.max(1, Math.ceil((oldest + this.opts.windowMs - now) / 1000))
  }

  /** Keep at most `limit` failures per key (older ones can no longer decide anything). */
  private trim(key: string): void {
    prepare(
      this.db,
      `DELETE FROM iam_login_attempts WHERE key = ? AND attempt IS NULL AND rowid NOT IN (
         SELECT rowid FROM iam_login_attempts WHERE key = ? AND attempt IS NULL
         ORDER BY at DESC LIMIT ?)`,
    ).run(key, key, this.opts.limit)
  }

  retryAfter(key: string, now: number): number {
    return this.wait(key, now)
  }

  async reserveAttempt(keys: readonly string[], now: number): Promise<LoginAttempt | number> {
    const id = `${String(process.pid)}.${String(now)}.${String(++this.nextAttempt)}`
    const got = await this.commits.run(() => {
      let wait = 0
      for (const k of keys) wait = Math.max(wait, this.wait(k, now))
      if (wait > 0) return wait
      const put = prepare(
        this.db,
        'INSERT INTO iam_login_attempts (key, at, attempt) VALUES (?, ?, ?)',
      )
      for (const k of keys) put.run(k, now, id)
      return true
    })
    if (typeof got === 'number') return got
    let settled = false
    const settle = async (failedAt: number | undefined): Promise<void> => {
      if (settled) return
      settled = true
      await this.commits.run(() => {
        if (failedAt === undefined) {
          prepare(this.db, 'DELETE FROM iam_login_attempts WHERE attempt = ?').run(id)
          return
        }
        prepare(
          this.db,
          'UPDATE iam_login_attempts SET attempt = NULL, at = ? WHERE attempt = ?',
        ).run(failedAt, id)
        for (const k of keys) this.trim(k)
      })
    }
    return { fail: (t) => settle(t), succeed: () => settle(undefined) }
  }

  async recordFailure(key: string, now: number): Promise<void> {
    await this.commits.run(() => {
      prepare(this.db, 'INSERT INTO iam_login_attempts (key, at, attempt) VALUES (?, ?, NULL)').run(
        key,
        now,
      )
      this.trim(key)
    })
  }

  async clearFailures(key: string): Promise<void> {
    await this.commits.run(() =>
      prepare(this.db, 'DELETE FROM iam_login_attempts WHERE key = ? AND attempt IS NULL').run(key),
    )
  }

  async claimOnce(key: string, value: number, ttlMs: number, now: number): Promise<boolean> {
    return this.commits.run(() => {
      const c = prepare(this.db, 'SELECT value, until FROM iam_totp_claims WHERE key = ?').get(
        key,
      ) as { value: number; until: number } | undefined
      if (c !== undefined && c.until > now && value <= c.value) return false
      prepare(
        this.db,
        `INSERT INTO iam_totp_claims (key, value, until) VALUES (?, ?, ?)
         ON CONFLICT (key) DO UPDATE SET value = excluded.value, until = excluded.until`,
      ).run(key, value, now + ttlMs)
      return true
    })
  }

  async sweep(now: number): Promise<void> {
    this.buckets.sweep(now)
    this.usage.sweepUsage(now)
    await this.commits.run(() => {
      prepare(this.db, 'DELETE FROM iam_login_attempts WHERE at <= ?').run(now - this.opts.windowMs)
      prepare(this.db, 'DELETE FROM iam_totp_claims WHERE until <= ?').run(now)
      // A dirty counter swept meanwhile is deleted by its write-through too (absent in memory).
      prepare(this.db, 'DELETE FROM iam_session_usage WHERE expires_at <= ?').run(now)
    })
  }

  // --- upload-cap counters (storage/session-usage.ts): decided in memory, written through ----

  private readonly usage = new MemorySessionUsage()
  /** Counters changed since their last write-through. */
  private readonly dirty = new Set<string>()
  /** A write-through op is queued in the committer and has not run yet. */
  private writeQueued = false

  /**
   * Mark `key` changed and make sure a write-through op is queued. Synchronous on purpose: the op
   * must be in the committer's queue before the caller goes on to store anything.
   */
  private changed(key: string): void {
    this.dirty.add(key)
    if (this.writeQueued) return
    this.writeQueued = true
    let written: readonly string[] = []
    let ran = false
    this.commits
      .run(() => {
        ran = true
        this.writeQueued = false
        written = [...this.dirty]
        this.dirty.clear()
        this.writeThrough(written)
      })
      .catch(() => {
        // The batch did not commit (disk error, closed database): the counters stay dirty and the
        // next change writes them again. Not retried here, so a dead disk is not a busy loop; the
        // writes that depend on them sit in the same or later batches and fail as well.
        if (!ran) this.writeQueued = false
        for (const k of written) this.dirty.add(k)
      })
  }

  /** Upsert the current values of `keys` (runs inside a group-commit batch). */
  private writeThrough(keys: readonly string[]): void {
    const upsert = prepare(
      this.db,
      `INSERT INTO iam_session_usage (key, bytes, objects, expires_at) VALUES (?, ?, ?, ?)
       ON CONFLICT (key) DO UPDATE SET bytes = excluded.bytes, objects = excluded.objects,
         expires_at = excluded.expires_at`,
    )
    for (const k of keys) {
      const c = this.usage.counterOf(k)
      if (c === undefined) prepare(this.db, 'DELETE FROM iam_session_usage WHERE key = ?').run(k)
      else upsert.run(k, c.bytes, c.objects, c.expiresAt)
    }
  }

  reserveUsage(
    key: string,
    delta: UsageDelta,
    caps: UsageCaps,
    expiresAt: number,
  ): UsageRefusal | undefined {
    const refused = this.usage.reserveUsage(key, delta, caps, expiresAt)
    if (refused === undefined) this.changed(key)
    return refused
  }

  commitUsage(key: string, reserved: UsageDelta, stored: UsageDelta): void {
    // Reserved exactly what was stored (a declared length, the common case): nothing changed.
    if (stored.bytes === reserved.bytes && stored.objects === reserved.objects) return
    this.usage.commitUsage(key, reserved, stored)
    this.changed(key)
  }

  releaseUsage(key: string, delta: UsageDelta): void {
    if (delta.bytes === 0 && delta.objects === 0) return
    this.usage.releaseUsage(key, delta)
    this.changed(key)
  }

  usageOf(keys: readonly string[]): ReadonlyMap<string, UsageDelta> {
    return this.usage.usageOf(keys)
  }
}
