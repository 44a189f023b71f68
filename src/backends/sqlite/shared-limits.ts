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
 * after each one. The write-through is a prelude of the connection's group commit
 * (group-commit.ts): every batch first upserts the counters changed since the last one, inside
 * its own transaction, so it costs no commit or fsync of its own. A write reserves before it
 * queues its metadata op, so its reservation commits in the same transaction as the object, or
 * earlier: a stored (let alone acknowledged) object always has its usage durable. What a crash
 * can lose is only what no stored object depends on: reservations of writes that had not stored
 * yet, and give-backs (a release, a commit of less than reserved) no batch carried yet - the
 * counter stays higher than what was stored, failing closed; an idle change gets a batch of its
 * own within IDLE_WRITE_MS, and close drains it. (A write-through that fails itself - an SQL error
 * on this module's own table, not expected - keeps its counters dirty for the next batch while the
 * ops of its batch commit.) Counters are loaded at open (the unexpired ones) and dropped by the
 * sweep with their session.
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
   ) WITHOUT ROWID;
   CREATE INDEX iam_session_usage_expires ON iam_session_usage (expires_at);`,
]

/** How long a changed counter waits for a write to carry it before it gets a batch of its own. */
const IDLE_WRITE_MS = 1000

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
    limits.startWriteThrough()
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
  /** A timer that starts a batch for counters no write has carried yet. */
  private idleWrite: NodeJS.Timeout | undefined

  /** Write the dirty counters through at the start of every batch (see the module comment). */
  private startWriteThrough(): void {
    this.commits.addPrelude({
      pending: () => this.dirty.size > 0,
      write: () => {
        const keys = [...this.dirty]
        this.dirty.clear()
        const back = (): void => {
          for (const k of keys) this.dirty.add(k)
        }
        try {
          this.writeThrough(keys)
        } catch (e) {
          back()
          throw e
        }
        return back
      },
    })
  }

  /**
   * Mark `key` changed. The next batch writes it, whatever op starts that batch; a change no
   * write follows (a give-back) gets a batch of its own within IDLE_WRITE_MS.
   */
  private changed(key: string): void {
    this.dirty.add(key)
    if (this.idleWrite !== undefined) return
    this.idleWrite = setTimeout(() => {
      this.idleWrite = undefined
      if (this.dirty.size > 0) this.commits.run(() => undefined).catch(() => undefined)
    }, IDLE_WRITE_MS)
    this.idleWrite.unref()
  }

  /**
   * Upsert the current values of `keys` (runs inside a group-commit batch). The expiry is set
   * apart, only when it changed: a SET naming it would rewrite its index entry, one more page in
   * every batch's WAL for a value that almost never moves.
   */
  private writeThrough(keys: readonly string[]): void {
    const upsert = prepare(
      this.db,
      `INSERT INTO iam_session_usage (key, bytes, objects, expires_at) VALUES (?, ?, ?, ?)
       ON CONFLICT (key) DO UPDATE SET bytes = excluded.bytes, objects = excluded.objects`,
    )
    const expiry = prepare(
      this.db,
      'UPDATE iam_session_usage SET expires_at = ? WHERE key = ? AND expires_at <> ?',
    )
    for (const k of keys) {
      const c = this.usage.counterOf(k)
      if (c === undefined) {
        prepare(this.db, 'DELETE FROM iam_session_usage WHERE key = ?').run(k)
        continue
      }
      upsert.run(k, c.bytes, c.objects, c.expiresAt)
      expiry.run(c.expiresAt, k, c.expiresAt)
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
