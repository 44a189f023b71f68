/**
 * PgIdentityStore: IdentityStore over PostgreSQL, the identity half of a cluster's shared state.
 * Same tables and semantics as the SQLite store (migrations/identity.ts): usernames are unique
 * per account case-insensitively through a `username_key` column (lower-cased here, in
 * JavaScript, exactly as SQLite's store does, so both engines agree on what collides), and any
 * integrity violation (SQLSTATE class 23: unique, foreign key, check) is StorageError('conflict').
 *
 * Why single statements where possible: a one-statement write is atomic by itself and costs one
 * round trip; multi-row changes (delete a user, replace a key, reset a master secret — each with
 * the session revocations it implies) run in one `db.tx`, so another node sees the old state or
 * the new one, never half. Account and user updates are compare-and-set inside the UPDATE
 * (`WHERE id = $1 AND version = $2`); zero rows is then classified by a read: the row exists →
 * 'precondition', else 'not-found'. The race between the two is harmless: the write was refused
 * either way, only the reason could be one instant stale.
 *
 * Every mutation that changes cached state publishes on the ChangeFeed once its transaction
 * committed (storage/identity-store.ts lists which), exactly as the SQLite store does; a
 * database failure is StorageError('unavailable') (db.ts) and publishes nothing.
 * @module
 */
import type { Change, ChangeFeed } from '../../storage/change-feed.js'
import { StorageError } from '../../storage/errors.js'
import type {
  AccessKeyRow,
  AccountRow,
  IdentitySnapshot,
  IdentityStore,
  OperatorRow,
  PendingSecretRow,
  SessionRow,
  UserRow,
} from '../../storage/identity-store.js'
import { MemoryChangeFeed } from '../memory/change-feed.js'
import { runMigrations, type PgDatabase, type Queryable } from './db.js'
import { PG_IDENTITY_MIGRATIONS } from './migrations/identity.js'
import {
  toAccount,
  toKey,
  toSession,
  toUser,
  type AccountDb,
  type KeyDb,
  type SessionDb,
  type UserDb,
} from '../relational/identity-rows.js'

export { PG_IDENTITY_MIGRATIONS }

/** The account columns a write sets, in the order of ACCOUNT_COLUMNS ($1 … $9). */
function accountValues(a: AccountRow): unknown[] {
  return [
    a.id,
    a.name,
    a.type,
    a.resellerId ?? null,
    a.createdAt,
    JSON.stringify(a.allowlist),
    a.masterAccessKeyId,
    a.masterSecret,
    a.secretVersion,
  ]
}

/** The user columns a write sets ($1 … $13; last_access is $14 on insert only). */
function userValues(u: UserRow): unknown[] {
  return [
    u.id,
    u.accountId,
    u.username,
    u.username.toLowerCase(),
    u.passwordHash,
    u.role,
    u.isActive,
    u.email ?? null,
    u.firstname ?? null,
    u.lastname ?? null,
    u.policy ?? null,
    u.totpSecret ?? null,
    u.createdAt,
  ]
}

/** Map integrity violations (SQLSTATE class 23) to StorageError('conflict'); rethrow the rest. */
async function guard<T>(what: string, p: Promise<T>): Promise<T> {
  try {
    return await p
  } catch (e) {
    const code = (e as { code?: unknown }).code
    if (!(e instanceof StorageError) && typeof code === 'string' && code.startsWith('23')) {
      throw new StorageError(
        'conflict',
        `${what}: already exists or violates a constraint`,
        {},
        { cause: e },
      )
    }
    throw e
  }
}

const REVOKE_BY_ORIGIN =
  'UPDATE iam_sessions SET revoked = true WHERE origin_key_id = $1 AND revoked = false'
const REVOKE_BY_USER =
  'UPDATE iam_sessions SET revoked = true WHERE user_id = $1 AND revoked = false'

export class PgIdentityStore implements IdentityStore {
  private readonly db: PgDatabase
  private readonly changes: ChangeFeed

  constructor(db: PgDatabase, opts: { readonly changes?: ChangeFeed } = {}) {
    this.db = db
    this.changes = opts.changes ?? new MemoryChangeFeed()
  }

  /**
   * Run the identity migrations (once per cluster, under db.ts's lock) and return a store
   * publishing on `changes` (default: a feed of its own, for tools and tests that watch nothing).
   */
  static async open(
    db: PgDatabase,
    opts: { readonly changes?: ChangeFeed } = {},
  ): Promise<PgIdentityStore> {
    await runMigrations(db, 'identity', PG_IDENTITY_MIGRATIONS)
    return new PgIdentityStore(db, opts)
  }

  private publish(...changes: Change[]): void {
    if (changes.length > 0) this.changes.publish(changes)
  }

  /** A failed compare-and-set: precondition when the row exists, not-found when it is gone. */
  private async casFailed(
    c: Queryable,
    table: 'iam_accounts' | 'iam_users',
    id: string,
    expected: number,
  ): Promise<never> {
    const r = await c.query<{ version: number }>(`SELECT version FROM ${table} WHERE id = $1`, [id])
    const what = table === 'iam_accounts' ? 'account' : 'user'
    const row = r.rows[0]
    if (row === undefined) throw new StorageError('not-found', `${what} ${id} not found`)
    throw new StorageError(
      'precondition',
      `${what} ${id} changed underneath (version ${String(row.version)}, expected ${String(expected)})`,
    )
  }

  async getAccount(id: string): Promise<AccountRow | undefined> {
    const r = await this.db.query<AccountDb>('SELECT * FROM iam_accounts WHERE id = $1', [id])
    return r.rows[0] ? toAccount(r.rows[0]) : undefined
  }

  async getUser(id: string): Promise<UserRow | undefined> {
    const r = await this.db.query<UserDb>('SELECT * FROM iam_users WHERE id = $1', [id])
    return r.rows[0] ? toUser(r.rows[0]) : undefined
  }

  async getAccessKey(userId: string): Promise<AccessKeyRow | undefined> {
    const r = await this.db.query<KeyDb>('SELECT * FROM iam_access_keys WHERE user_id = $1', [
      userId,
    ])
    return r.rows[0] ? toKey(r.rows[0]) : undefined
  }

  async getOperator(): Promise<OperatorRow | undefined> {
    const r = await this.db.query<{ username: string; password_hash: string }>(
      'SELECT username, password_hash FROM iam_operator WHERE id = 1',
    )
    const op = r.rows[0]
    return op ? { username: op.username, passwordHash: op.password_hash } : undefined
  }

  /** One snapshot (REPEATABLE READ): accounts, users and keys from the same instant. */
  async loadAll(): Promise<IdentitySnapshot> {
    return this.db.tx(async (c) => {
      await c.query('SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY')
      const accounts = (
        await c.query<AccountDb>('SELECT * FROM iam_accounts ORDER BY created_at, id')
      ).rows.map(toAccount)
      const users = (
        await c.query<UserDb>('SELECT * FROM iam_users ORDER BY created_at, id')
      ).rows.map(toUser)
      const keys = (
        await c.query<KeyDb>('SELECT * FROM iam_access_keys ORDER BY access_key_id')
      ).rows.map(toKey)
      const op = (
        await c.query<{ username: string; password_hash: string }>(
          'SELECT username, password_hash FROM iam_operator WHERE id = 1',
        )
      ).rows[0]
      const operator = op ? { username: op.username, passwordHash: op.password_hash } : undefined
      return { accounts, users, keys, ...(operator ? { operator } : {}) }
    })
  }

  async putOperator(row: OperatorRow): Promise<void> {
    await this.db.query(
      `INSERT INTO iam_operator (id, username, password_hash) VALUES (1, $1, $2)
       ON CONFLICT (id) DO UPDATE SET username = excluded.username, password_hash = excluded.password_hash`,
      [row.username, row.passwordHash],
    )
    this.publish({ kind: 'operator' })
  }

  async insertAccount(row: AccountRow): Promise<void> {
    await guard(
      `account ${row.name}`,
      this.db.query(
        `INSERT INTO iam_accounts (id, name, type, reseller_id, created_at, allowlist,
           master_access_key_id, master_secret, secret_version, version)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 0)`,
        accountValues(row),
      ),
    )
    this.publish({ kind: 'account', id: row.id })
  }

  /** The compare-and-set UPDATE of an account (name/type/reseller are immutable). */
  private async casAccount(c: Queryable, row: AccountRow, expectedVersion: number): Promise<void> {
    const r = await guard(
      `account ${row.name}`,
      c.query(
        `UPDATE iam_accounts SET allowlist = $2, master_access_key_id = $3, master_secret = $4,
           secret_version = $5, version = version + 1
         WHERE id = $1 AND version = $6`,
        [
          row.id,
          JSON.stringify(row.allowlist),
          row.masterAccessKeyId,
          row.masterSecret,
          row.secretVersion,
          expectedVersion,
        ],
      ),
    )
    if (r.rowCount === 0) await this.casFailed(c, 'iam_accounts', row.id, expectedVersion)
  }

  async updateAccount(row: AccountRow, expectedVersion: number): Promise<void> {
    await this.db.tx((c) => this.casAccount(c, row, expectedVersion))
    this.publish({ kind: 'account', id: row.id })
  }

  async resetMasterSecret(row: AccountRow, expectedVersion: number): Promise<void> {
    const oldKey = await this.db.tx(async (c) => {
      // FOR UPDATE: the key read is the one replaced, even against a concurrent reset.
      const old = await c.query<{ master_access_key_id: string }>(
        'SELECT master_access_key_id FROM iam_accounts WHERE id = $1 FOR UPDATE',
        [row.id],
      )
      const prev = old.rows[0]
      if (prev === undefined) throw new StorageError('not-found', `account ${row.id} not found`)
      await this.casAccount(c, row, expectedVersion)
      await c.query(REVOKE_BY_ORIGIN, [prev.master_access_key_id])
      return prev.master_access_key_id
    })
    this.publish(
      { kind: 'account', id: row.id },
      { kind: 'sessions-revoked', by: 'origin-key', id: oldKey },
    )
  }

  async insertUser(row: UserRow): Promise<void> {
    await guard(
      `user ${row.username}`,
      this.db.query(
        `INSERT INTO iam_users (id, account_id, username, username_key, password_hash, role, is_active,
           email, firstname, lastname, policy, totp_secret, created_at, last_access, version)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, 0)`,
        [...userValues(row), row.lastAccess ?? null],
      ),
    )
    this.publish({ kind: 'user', id: row.id })
  }

  async updateUser(row: UserRow, expectedVersion: number): Promise<void> {
    await this.db.tx(async (c) => {
      const r = await guard(
        `user ${row.username}`,
        c.query(
          `UPDATE iam_users SET username = $3, username_key = $4, password_hash = $5, role = $6,
             is_active = $7, email = $8, firstname = $9, lastname = $10, policy = $11,
             totp_secret = $12, version = version + 1
           WHERE id = $1 AND account_id = $2 AND version = $13`,
          [...userValues(row).slice(0, 12), expectedVersion], // created_at is immutable
        ),
      )
      if (r.rowCount === 0) await this.casFailed(c, 'iam_users', row.id, expectedVersion)
    })
    this.publish({ kind: 'user', id: row.id })
  }

  async touchAccessKeys(used: ReadonlyMap<string, number>): Promise<void> {
    if (used.size === 0) return
    await this.db.query(
      `UPDATE iam_access_keys k SET last_used_at = GREATEST(COALESCE(k.last_used_at, 0), v.at)
         FROM unnest($1::text[], $2::bigint[]) AS v(id, at) WHERE k.access_key_id = v.id`,
      [[...used.keys()], [...used.values()]],
    )
  }

  async accessKeysLastUsed(): Promise<ReadonlyMap<string, number>> {
    const r = await this.db.query<{ access_key_id: string; last_used_at: string | number }>(
      'SELECT access_key_id, last_used_at FROM iam_access_keys WHERE last_used_at IS NOT NULL',
    )
    return new Map(r.rows.map((x) => [x.access_key_id, Number(x.last_used_at)]))
  }

  async touchUser(userId: string, at: number): Promise<void> {
    const r = await this.db.query('UPDATE iam_users SET last_access = $2 WHERE id = $1', [
      userId,
      at,
    ])
    if ((r.rowCount ?? 0) > 0) this.publish({ kind: 'user', id: userId })
  }

  async deleteUser(userId: string): Promise<void> {
    await this.db.tx(async (c) => {
      await c.query(REVOKE_BY_USER, [userId])
      await c.query('DELETE FROM iam_access_keys WHERE user_id = $1', [userId])
      const r = await c.query('DELETE FROM iam_users WHERE id = $1', [userId])
      if (r.rowCount === 0) throw new StorageError('not-found', `user ${userId} not found`)
    })
    this.publish({ kind: 'user', id: userId }, { kind: 'sessions-revoked', by: 'user', id: userId })
  }

  async revokeUserSessions(userId: string): Promise<number> {
    const r = await this.db.query(REVOKE_BY_USER, [userId])
    this.publish({ kind: 'sessions-revoked', by: 'user', id: userId })
    return r.rowCount ?? 0
  }

  async replaceAccessKey(userId: string, key: AccessKeyRow | undefined): Promise<void> {
    const replaced = await this.db.tx(async (c) => {
      // DELETE … RETURNING: the keys removed are exactly the keys whose sessions are revoked.
      const old = await c.query<{ access_key_id: string }>(
        'DELETE FROM iam_access_keys WHERE user_id = $1 RETURNING access_key_id',
        [userId],
      )
      const ids = old.rows.map((o) => o.access_key_id)
      if (ids.length > 0) {
        await c.query(
          'UPDATE iam_sessions SET revoked = true WHERE origin_key_id = ANY($1) AND revoked = false',
          [ids],
        )
      }
      if (key) {
        await guard(
          `access key for ${userId}`,
          c.query(
            'INSERT INTO iam_access_keys (access_key_id, user_id, secret, created_at) VALUES ($1, $2, $3, $4)',
            [key.accessKeyId, userId, key.secret, key.createdAt],
          ),
        )
      }
      return ids
    })
    this.publish(
      { kind: 'user', id: userId },
      ...replaced.map((id): Change => ({ kind: 'sessions-revoked', by: 'origin-key', id })),
    )
  }

  async insertSession(row: SessionRow): Promise<void> {
    await guard(
      `session ${row.accessKeyId}`,
      this.db.query(
        `INSERT INTO iam_sessions (access_key_id, account_id, quota_key, user_id, origin_key_id, parent,
           secret, token_hmac, session_name, policies, role_name, role_id, issued_at, expires_at, revoked)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)`,
        [
          row.accessKeyId,
          row.accountId,
          row.quotaKey,
          row.userId ?? null,
          row.originKeyId ?? null,
          row.parent,
          row.secret,
          row.tokenHmac ?? null,
          row.sessionName,
          row.policies,
          row.roleName,
          row.roleId,
          row.issuedAt,
          row.expiresAt,
          row.revoked,
        ],
      ),
    )
  }

  async getSession(accessKeyId: string): Promise<SessionRow | undefined> {
    const r = await this.db.query<SessionDb>(
      'SELECT * FROM iam_sessions WHERE access_key_id = $1',
      [accessKeyId],
    )
    return r.rows[0] ? toSession(r.rows[0]) : undefined
  }

  async revokeSession(accessKeyId: string): Promise<boolean> {
    const r = await this.db.query(
      'UPDATE iam_sessions SET revoked = true WHERE access_key_id = $1',
      [accessKeyId],
    )
    const hit = (r.rowCount ?? 0) > 0
    if (hit) this.publish({ kind: 'session-revoked', accessKeyId })
    return hit
  }

  async countActiveSessions(quotaKey: string, now: number): Promise<number> {
    const r = await this.db.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM iam_sessions
       WHERE quota_key = $1 AND expires_at > $2 AND revoked = false`,
      [quotaKey, now],
    )
    return r.rows[0]?.n ?? 0
  }

  async listActiveSessions(
    filter: { readonly accountId?: string; readonly userId?: string },
    now: number,
  ): Promise<readonly SessionRow[]> {
    const where = ['expires_at > $1', 'revoked = false']
    const params: unknown[] = [now]
    if (filter.accountId !== undefined) {
      params.push(filter.accountId)
      where.push(`account_id = $${String(params.length)}`)
    }
    if (filter.userId !== undefined) {
      params.push(filter.userId)
      where.push(`user_id = $${String(params.length)}`)
    }
    const r = await this.db.query<SessionDb>(
      `SELECT * FROM iam_sessions WHERE ${where.join(' AND ')} ORDER BY issued_at, access_key_id`,
      params,
    )
    return r.rows.map(toSession)
  }

  async deleteExpiredSessions(before: number): Promise<number> {
    const r = await this.db.query('DELETE FROM iam_sessions WHERE expires_at < $1', [before])
    return r.rowCount ?? 0
  }

  async listPendingSecrets(): Promise<readonly PendingSecretRow[]> {
    const r = await this.db.query<{ name: string; secret: string }>(
      'SELECT name, secret FROM iam_pending_secrets ORDER BY name',
    )
    return r.rows.map((p) => ({ name: p.name, secret: p.secret }))
  }

  async putPendingSecrets(rows: readonly PendingSecretRow[]): Promise<void> {
    if (rows.length === 0) return
    // One statement for the batch; a name given twice keeps the last value, as in SQLite.
    const last = new Map(rows.map((r) => [r.name, r.secret]))
    await this.db.query(
      `INSERT INTO iam_pending_secrets (name, secret) SELECT * FROM unnest($1::text[], $2::text[])
       ON CONFLICT (name) DO UPDATE SET secret = excluded.secret`,
      [[...last.keys()], [...last.values()]],
    )
  }

  async deletePendingSecrets(names?: readonly string[]): Promise<void> {
    if (names === undefined) await this.db.query('DELETE FROM iam_pending_secrets')
    else await this.db.query('DELETE FROM iam_pending_secrets WHERE name = ANY($1)', [names])
  }
}
