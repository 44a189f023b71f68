/**
 * Upload-cap counters on PostgreSQL (storage/session-usage.ts): one row per counter key, shared
 * by every node. A reservation is ONE statement: `INSERT … ON CONFLICT (key) DO UPDATE SET
 * bytes = bytes + Δ … WHERE <every cap still holds> RETURNING`. PostgreSQL locks the row for the
 * update and re-checks the WHERE on its latest version, so two nodes reserving at once are
 * decided one after the other and cannot together cross a cap (no advisory lock, no retry). A
 * first write that alone crosses a cap is refused before the statement (crossedCap on zero).
 * When the statement returns no row, a second read reports what was used (the refusal path only).
 * Rows carry the latest expiry of the sessions counting into them; sweepUsage drops expired ones.
 * The migration list is its own ('session-usage'), apart from the shared-limits tables.
 * @module
 */
import {
  crossedCap,
  type SessionUsage,
  type UsageCaps,
  type UsageDelta,
  type UsageRefusal,
} from '../../storage/session-usage.js'
import { runMigrations, type PgDatabase } from './db.js'

/** Append-only migration steps of the usage counters. */
export const PG_SESSION_USAGE_MIGRATIONS: readonly string[] = [
  `CREATE TABLE iam_session_usage (
     key TEXT COLLATE "C" PRIMARY KEY,
     bytes BIGINT NOT NULL,
     objects BIGINT NOT NULL,
     expires_at BIGINT NOT NULL
   );
   CREATE INDEX iam_session_usage_expires ON iam_session_usage (expires_at);`,
]

const RESERVE_SQL = `INSERT INTO iam_session_usage AS u (key, bytes, objects, expires_at)
  VALUES ($1, $2, $3, $4)
  ON CONFLICT (key) DO UPDATE SET bytes = u.bytes + $2, objects = u.objects + $3,
    expires_at = GREATEST(u.expires_at, $4)
  WHERE ($5::bigint IS NULL OR $2 = 0 OR u.bytes + $2 <= $5::bigint)
    AND ($6::bigint IS NULL OR $3 = 0 OR u.objects + $3 <= $6::bigint)
  RETURNING bytes`

export class PgSessionUsage implements SessionUsage {
  private readonly db: PgDatabase

  constructor(db: PgDatabase) {
    this.db = db
  }

  static async open(db: PgDatabase): Promise<PgSessionUsage> {
    await runMigrations(db, 'session-usage', PG_SESSION_USAGE_MIGRATIONS)
    return new PgSessionUsage(db)
  }

  async reserveUsage(
    key: string,
    delta: UsageDelta,
    caps: UsageCaps,
    expiresAt: number,
  ): Promise<UsageRefusal | undefined> {
    const alone = crossedCap({ bytes: 0, objects: 0 }, delta, caps)
    if (alone !== undefined)
      return { cap: alone, used: (await this.usageOf([key])).get(key) ?? { bytes: 0, objects: 0 } }
    const r = await this.db.query(RESERVE_SQL, [
      key,
      delta.bytes,
      delta.objects,
      expiresAt,
      caps.maxBytes ?? null,
      caps.maxObjects ?? null,
    ])
    if ((r.rowCount ?? 0) > 0) return undefined
    const used = (await this.usageOf([key])).get(key) ?? { bytes: 0, objects: 0 }
    return { cap: crossedCap(used, delta, caps) ?? 'max-bytes', used }
  }

  async commitUsage(key: string, reserved: UsageDelta, stored: UsageDelta): Promise<void> {
    // Reserved exactly what was stored (the common case, a declared length): nothing to do.
    if (stored.bytes === reserved.bytes && stored.objects === reserved.objects) return
    await this.db.query(
      `UPDATE iam_session_usage SET bytes = GREATEST(0, bytes + $2),
         objects = GREATEST(0, objects + $3) WHERE key = $1`,
      [key, stored.bytes - reserved.bytes, stored.objects - reserved.objects],
    )
  }

  async releaseUsage(key: string, delta: UsageDelta): Promise<void> {
    await this.db.query(
      `UPDATE iam_session_usage SET bytes = GREATEST(0, bytes - $2),
         objects = GREATEST(0, objects - $3) WHERE key = $1`,
      [key, delta.bytes, delta.objects],
    )
  }

  async usageOf(keys: readonly string[]): Promise<ReadonlyMap<string, UsageDelta>> {
    const out = new Map<string, UsageDelta>()
    if (keys.length === 0) return out
    const r = await this.db.query<{ key: string; bytes: string; objects: string }>(
      'SELECT key, bytes, objects FROM iam_session_usage WHERE key = ANY($1)',
      [[...keys]],
    )
    for (const row of r.rows)
      out.set(row.key, { bytes: Number(row.bytes), objects: Number(row.objects) })
    return out
  }

  async sweepUsage(now: number): Promise<void> {
    await this.db.query('DELETE FROM iam_session_usage WHERE expires_at <= $1', [now])
  }
}
