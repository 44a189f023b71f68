/**
 * SqliteIdentityStore: IdentityStore over better-sqlite3. Rows hold only sealed secrets and
 * password hashes (iam/ seals before calling). Multi-row changes (replace a key and revoke its
 * sessions, delete a user) run in one transaction, so a crash leaves either the old or the new
 * state. better-sqlite3 is synchronous; the async signatures keep PostgreSQL possible.
 *
 * Every write goes through the connection's shared group commit (group-commit.ts): all writes
 * queued in one event-loop turn (AssumeRole bursts above all) share ONE transaction and one
 * fsync, and each promise resolves only after that COMMIT, so an issued session is durable
 * before its credentials are returned. Routing *every* write through the same queue keeps them in
 * call order (a revocation queued after an insert commits after it). Reads are direct.
 *
 * Every mutation that changes cached state publishes on the ChangeFeed once its batch committed
 * (storage/identity-store.ts lists which); account and user updates are compare-and-set on the
 * row's `version` column, decided inside the same statement as the write.
 * @module
 */
import type { Change, ChangeFeed } from '../../storage/change-feed.js'
import { StorageError } from '../../storage/errors.js'
import type {
  AccessKeyRow,
  AccountRow,
  EndedSessions,
  IdentitySnapshot,
  IdentityStore,
  OperatorRow,
  PendingSecretRow,
  SessionFilter,
  SessionRow,
  StsLimitsRow,
  UserRow,
} from '../../storage/identity-store.js'
import { prepare, runMigrations, type Database } from './db.js'
import { IDENTITY_MIGRATIONS, PENDING_SECRETS_MIGRATIONS } from './identity-migrations.js'
import { GroupCommit } from './group-commit.js'
import { resolvedColumn, SessionTexts } from './session-texts.js'
import { MemoryChangeFeed } from '../memory/change-feed.js'
import {
  endedOf,
  toAccount,
  toKey,
  toSession,
  toStsLimits,
  toUser,
  type StsLimitsDb,
  type AccountDb,
  type KeyDb,
  type SessionDb,
  type UserDb,
} from '../relational/identity-rows.js'

export { IDENTITY_MIGRATIONS, PENDING_SECRETS_MIGRATIONS }

/**
 * The WHERE of an active-session count or listing, with its positional parameters. `plain` names
 * the columns whose index SQLite must not pick (a unary `+`): the listing walks the order index,
 * the revoked count the small partial index of revoked rows.
 */
function sessionWhere(
  f: SessionFilter,
  now: number,
  unrevoked: boolean,
  plain: readonly string[] = [],
): { where: string; params: unknown[] } {
  const col = (c: string): string => (plain.includes(c) ? `+${c}` : c)
  const where = [`${col('expires_at')} > ?`]
  if (unrevoked) where.push('revoked = 0')
  const params: unknown[] = [now]
  if (f.accountId !== undefined) {
    where.push(`${col('account_id')} = ?`)
    params.push(f.accountId)
  }
  if (f.accountIds !== undefined) {
    where.push(`${col('account_id')} IN (${f.accountIds.map(() => '?').join(', ') || 'NULL'})`)
    params.push(...f.accountIds)
  }
  if (f.userId !== undefined) {
    where.push(`${col('user_id')} = ?`)
    params.push(f.userId)
  }
  if (f.originKeyId !== undefined) {
    where.push('origin_key_id = ?')
    params.push(f.originKeyId)
  }
  return { where: where.join(' AND '), params }
}

function userParams(u: UserRow): Record<string, unknown> {
  return {
    id: u.id,
    account_id: u.accountId,
    username: u.username,
    username_key: u.username.toLowerCase(),
    password_hash: u.passwordHash,
    role: u.role,
    is_active: u.isActive ? 1 : 0,
    email: u.email ?? null,
    firstname: u.firstname ?? null,
    lastname: u.lastname ?? null,
    policy: u.policy ?? null,
    totp_secret: u.totpSecret ?? null,
    created_at: u.createdAt,
    last_access: u.lastAccess ?? null,
  }
}

function accountParams(a: AccountRow): Record<string, unknown> {
  return {
    id: a.id,
    name: a.name,
    type: a.type,
    reseller_id: a.resellerId ?? null,
    created_at: a.createdAt,
    allowlist: JSON.stringify(a.allowlist),
    master_access_key_id: a.masterAccessKeyId,
    master_secret: a.masterSecret,
    secret_version: a.secretVersion,
  }
}

/** iam_sessions' columns as SessionDb, long texts read back from iam_session_texts. */
const SESSION_COLUMNS = `s.access_key_id, s.account_id, s.quota_key, s.user_id, s.origin_key_id,
  ${resolvedColumn('parent', 's')} AS parent, s.secret, s.token_hmac, s.session_name,
  ${resolvedColumn('policies', 's')} AS policies, s.role_name, s.role_id, s.issued_at, s.expires_at,
  s.revoked`

/** Map SQLite constraint failures to StorageError('conflict'). */
function guard<T>(what: string, fn: () => T): T {
  try {
    return fn()
  } catch (e) {
    const code = (e as { code?: unknown }).code
    if (typeof code === 'string' && code.startsWith('SQLITE_CONSTRAINT')) {
      throw new StorageError(
        'conflict',
        `${what}: already exists or violates a constraint`,
        {},
        {
          cause: e,
        },
      )
    }
    throw e
  }
}

export class SqliteIdentityStore implements IdentityStore {
  private readonly db: Database
  private readonly commits: GroupCommit
  private readonly changes: ChangeFeed
  private readonly texts: SessionTexts

  private constructor(db: Database, changes: ChangeFeed, commits: GroupCommit) {
    this.db = db
    this.commits = commits
    this.changes = changes
    this.texts = new SessionTexts(db)
  }

  /**
   * Run the identity migrations on `db` and return a store over it, publishing on `changes`
   * (default: a feed of its own, for offline tools and tests that watch nothing), writing through
   * `commits` (the bundle's one committer; default: a committer of its own).
   */
  static open(
    db: Database,
    opts: { readonly changes?: ChangeFeed; readonly commits?: GroupCommit } = {},
  ): SqliteIdentityStore {
    runMigrations(db, 'identity', IDENTITY_MIGRATIONS)
    runMigrations(db, 'identity-pending-secrets', PENDING_SECRETS_MIGRATIONS)
    return new SqliteIdentityStore(
      db,
      opts.changes ?? new MemoryChangeFeed(),
      opts.commits ?? new GroupCommit(db),
    )
  }

  private publish(...changes: Change[]): void {
    if (changes.length > 0) this.changes.publish(changes)
  }

  /** A failed compare-and-set: precondition when the row exists, not-found when it is gone. */
  private casFailed(table: 'iam_accounts' | 'iam_users', id: string, expected: number): never {
    const r = prepare(this.db, `SELECT version FROM ${table} WHERE id = ?`).get(id) as
      { version: number } | undefined
    const what = table === 'iam_accounts' ? 'account' : 'user'
    if (!r) throw new StorageError('not-found', `${what} ${id} not found`)
    throw new StorageError(
      'precondition',
      `${what} ${id} changed underneath (version ${String(r.version)}, expected ${String(expected)})`,
    )
  }

  async getAccount(id: string): Promise<AccountRow | undefined> {
    const r = prepare(this.db, 'SELECT * FROM iam_accounts WHERE id = ?').get(id) as
      AccountDb | undefined
    return r ? toAccount(r) : undefined
  }

  async getUser(id: string): Promise<UserRow | undefined> {
    const r = prepare(this.db, 'SELECT * FROM iam_users WHERE id = ?').get(id) as UserDb | undefined
    return r ? toUser(r) : undefined
  }

  async getAccessKey(userId: string): Promise<AccessKeyRow | undefined> {
    const r = prepare(this.db, 'SELECT * FROM iam_access_keys WHERE user_id = ?').get(userId) as
      KeyDb | undefined
    return r ? toKey(r) : undefined
  }

  async getOperator(): Promise<OperatorRow | undefined> {
    const op = prepare(
      this.db,
      'SELECT username, password_hash FROM iam_operator WHERE id = 1',
    ).get() as { username: string; password_hash: string } | undefined
    return op ? { username: op.username, passwordHash: op.password_hash } : undefined
  }

  /**
   * Queue a write (synchronous SQL) in the group commit; resolves once its batch committed. The
   * op runs in its own SAVEPOINT, so a multi-statement op is atomic and a throwing op (a
   * constraint, not-found) is rolled back alone.
   */
  private write<T>(fn: () => T): Promise<T> {
    return this.commits.run(fn)
  }

  async loadAll(): Promise<IdentitySnapshot> {
    const accounts = (
      prepare(this.db, 'SELECT * FROM iam_accounts ORDER BY created_at, id').all() as AccountDb[]
    ).map(toAccount)
    const users = (
      prepare(this.db, 'SELECT * FROM iam_users ORDER BY created_at, id').all() as UserDb[]
    ).map(toUser)
    const keys = (prepare(this.db, 'SELECT * FROM iam_access_keys').all() as KeyDb[]).map(toKey)
    const operator = await this.getOperator()
    return { accounts, users, keys, ...(operator ? { operator } : {}) }
  }

  async putOperator(row: OperatorRow): Promise<void> {
    await this.write(() =>
      prepare(
        this.db,
        `INSERT INTO iam_operator (id, username, password_hash) VALUES (1, ?, ?)
         ON CONFLICT (id) DO UPDATE SET username = excluded.username, password_hash = excluded.password_hash`,
      ).run(row.username, row.passwordHash),
    )
    this.publish({ kind: 'operator' })
  }

  async insertAccount(row: AccountRow): Promise<void> {
    await this.write(() =>
      guard(`account ${row.name}`, () =>
        prepare(
          this.db,
          `INSERT INTO iam_accounts (id, name, type, reseller_id, created_at, allowlist, master_access_key_id, master_secret, secret_version, version)
           VALUES (@id, @name, @type, @reseller_id, @created_at, @allowlist, @master_access_key_id, @master_secret, @secret_version, 0)`,
        ).run(accountParams(row)),
      ),
    )
    this.publish({ kind: 'account', id: row.id })
  }

  /** The compare-and-set UPDATE of an account (inside a write). */
  private casAccount(row: AccountRow, expectedVersion: number): void {
    const r = guard(`account ${row.name}`, () =>
      prepare(
        this.db,
        `UPDATE iam_accounts SET allowlist = @allowlist, master_access_key_id = @master_access_key_id,
           master_secret = @master_secret, secret_version = @secret_version, version = version + 1
         WHERE id = @id AND version = @expected`,
      ).run(Object.assign(accountParams(row), { expected: expectedVersion })),
    )
    if (r.changes === 0) this.casFailed('iam_accounts', row.id, expectedVersion)
  }

  async updateAccount(row: AccountRow, expectedVersion: number): Promise<void> {
    await this.write(() => this.casAccount(row, expectedVersion))
    this.publish({ kind: 'account', id: row.id })
  }

  async resetMasterSecret(row: AccountRow, expectedVersion: number): Promise<void> {
    const oldKey = await this.write(() => {
      const old = prepare(
        this.db,
        'SELECT master_access_key_id FROM iam_accounts WHERE id = ?',
      ).get(row.id) as { master_access_key_id: string } | undefined
      if (!old) throw new StorageError('not-found', `account ${row.id} not found`)
      this.casAccount(row, expectedVersion)
      prepare(
        this.db,
        'UPDATE iam_sessions SET revoked = 1 WHERE origin_key_id = ? AND revoked = 0',
      ).run(old.master_access_key_id)
      return old.master_access_key_id
    })
    this.publish(
      { kind: 'account', id: row.id },
      { kind: 'sessions-revoked', by: 'origin-key', id: oldKey },
    )
  }

  async insertUser(row: UserRow): Promise<void> {
    await this.write(() =>
      guard(`user ${row.username}`, () =>
        prepare(
          this.db,
          `INSERT INTO iam_users (id, account_id, username, username_key, password_hash, role, is_active, email,
             firstname, lastname, policy, totp_secret, created_at, last_access, version)
           VALUES (@id, @account_id, @username, @username_key, @password_hash, @role, @is_active, @email,
             @firstname, @lastname, @policy, @totp_secret, @created_at, @last_access, 0)`,
        ).run(userParams(row)),
      ),
    )
    this.publish({ kind: 'user', id: row.id })
  }

  async updateUser(row: UserRow, expectedVersion: number): Promise<void> {
    await this.write(() => {
      const r = guard(`user ${row.username}`, () =>
        prepare(
          this.db,
          `UPDATE iam_users SET username = @username, username_key = @username_key, password_hash = @password_hash,
             role = @role, is_active = @is_active, email = @email, firstname = @firstname, lastname = @lastname,
             policy = @policy, totp_secret = @totp_secret, version = version + 1
           WHERE id = @id AND account_id = @account_id AND version = @expected`,
        ).run(Object.assign(userParams(row), { expected: expectedVersion })),
      )
      if (r.changes === 0) this.casFailed('iam_users', row.id, expectedVersion)
    })
    this.publish({ kind: 'user', id: row.id })
  }

  async touchUser(userId: string, at: number): Promise<void> {
    const r = await this.write(() =>
      prepare(this.db, 'UPDATE iam_users SET last_access = ? WHERE id = ?').run(at, userId),
    )
    if (r.changes > 0) this.publish({ kind: 'user', id: userId })
  }

  async touchAccessKeys(used: ReadonlyMap<string, number>): Promise<void> {
    if (used.size === 0) return
    await this.write(() => {
      const st = prepare(
        this.db,
        'UPDATE iam_access_keys SET last_used_at = MAX(COALESCE(last_used_at, 0), ?) WHERE access_key_id = ?',
      )
      for (const [id, at] of used) st.run(at, id)
    })
  }

  async accessKeysLastUsed(): Promise<ReadonlyMap<string, number>> {
    const rows = prepare(
      this.db,
      'SELECT access_key_id, last_used_at FROM iam_access_keys WHERE last_used_at IS NOT NULL',
    ).all() as { access_key_id: string; last_used_at: number }[]
    return new Map(rows.map((r) => [r.access_key_id, Number(r.last_used_at)]))
  }

  async deleteUser(userId: string): Promise<void> {
    await this.write(() => {
      prepare(this.db, 'UPDATE iam_sessions SET revoked = 1 WHERE user_id = ? AND revoked = 0').run(
        userId,
      )
      prepare(this.db, 'DELETE FROM iam_access_keys WHERE user_id = ?').run(userId)
      const r = prepare(this.db, 'DELETE FROM iam_users WHERE id = ?').run(userId)
      if (r.changes === 0) throw new StorageError('not-found', `user ${userId} not found`)
    })
    this.publish({ kind: 'user', id: userId }, { kind: 'sessions-revoked', by: 'user', id: userId })
  }

  async revokeUserSessions(userId: string): Promise<number> {
    const n = await this.write(
      () =>
        prepare(
          this.db,
          'UPDATE iam_sessions SET revoked = 1 WHERE user_id = ? AND revoked = 0',
        ).run(userId).changes,
    )
    this.publish({ kind: 'sessions-revoked', by: 'user', id: userId })
    return n
  }

  async replaceAccessKey(userId: string, key: AccessKeyRow | undefined): Promise<void> {
    const replaced = await this.write(() => {
      const old = prepare(
        this.db,
        'SELECT access_key_id FROM iam_access_keys WHERE user_id = ?',
      ).all(userId) as {
        access_key_id: string
      }[]
      for (const o of old) {
        prepare(
          this.db,
          'UPDATE iam_sessions SET revoked = 1 WHERE origin_key_id = ? AND revoked = 0',
        ).run(o.access_key_id)
      }
      prepare(this.db, 'DELETE FROM iam_access_keys WHERE user_id = ?').run(userId)
      if (key) {
        guard(`access key for ${userId}`, () =>
          prepare(
            this.db,
            'INSERT INTO iam_access_keys (access_key_id, user_id, secret, created_at) VALUES (?, ?, ?, ?)',
          ).run(key.accessKeyId, userId, key.secret, key.createdAt),
        )
      }
      return old.map((o) => o.access_key_id)
    })
    this.publish(
      { kind: 'user', id: userId },
      ...replaced.map((id): Change => ({ kind: 'sessions-revoked', by: 'origin-key', id })),
    )
  }

  insertSession(row: SessionRow): Promise<void> {
    // No savepoint of its own (GroupCommit.runStatement): the row is one statement, and a text
    // written before it (session-texts.ts) that then has no row is only swept a little later.
    // A promise chain, not an async frame: this is the one write every AssumeRole waits on.
    return this.commits
      .runStatement(() => {
        // Positional parameters: cheaper to bind than a named-parameter object on the hottest write.
        const values = [
          row.accessKeyId,
          row.accountId,
          row.quotaKey,
          row.userId ?? null,
          row.originKeyId ?? null,
          this.texts.refOf(row.parent, row.expiresAt),
          row.secret,
          row.tokenHmac ?? null,
          row.sessionName,
          this.texts.refOf(row.policies, row.expiresAt),
          row.roleName,
          row.roleId,
          row.issuedAt,
          row.expiresAt,
          row.revoked ? 1 : 0,
        ]
        return guard(`session ${row.accessKeyId}`, () =>
          prepare(
            this.db,
            `INSERT INTO iam_sessions (access_key_id, account_id, quota_key, user_id, origin_key_id, parent, secret,
               token_hmac, session_name, policies, role_name, role_id, issued_at, expires_at, revoked)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
          ).run(values),
        )
      })
      .then(
        () => undefined,
        (e: unknown) => {
          // Its batch may have been rolled back, text bounds included.
          this.texts.forget()
          throw e
        },
      )
  }

  async getSession(accessKeyId: string): Promise<SessionRow | undefined> {
    const r = prepare(
      this.db,
      `SELECT ${SESSION_COLUMNS} FROM iam_sessions s WHERE s.access_key_id = ?`,
    ).get(accessKeyId) as SessionDb | undefined
    return r ? toSession(r) : undefined
  }

  async revokeSession(accessKeyId: string): Promise<boolean> {
    const r = await this.write(() =>
      prepare(this.db, 'UPDATE iam_sessions SET revoked = 1 WHERE access_key_id = ?').run(
        accessKeyId,
      ),
    )
    if (r.changes > 0) this.publish({ kind: 'session-revoked', accessKeyId })
    return r.changes > 0
  }

  async countActiveSessions(filter: SessionFilter, now: number): Promise<number> {
    // Unexpired minus unexpired-and-revoked: the first is counted on an index alone (expiry, or
    // account and expiry), never a walk of the table's rows; the second walks only revoked rows.
    const all = sessionWhere(filter, now, false)
    const revoked = sessionWhere(filter, now, false, ['expires_at', 'account_id', 'user_id'])
    const r = prepare(
      this.db,
      `SELECT (SELECT COUNT(*) FROM iam_sessions WHERE ${all.where})
            - (SELECT COUNT(*) FROM iam_sessions WHERE revoked = 1 AND ${revoked.where}) AS n`,
    ).get(...all.params, ...revoked.params) as { n: number }
    return r.n
  }

  async listActiveSessions(
    filter: SessionFilter,
    now: number,
    page?: { readonly limit: number; readonly offset: number },
  ): Promise<readonly SessionRow[]> {
    // `+expires_at`: walk the (issued_at, access_key_id) order index and filter, rather than
    // collect every unexpired session by the expiry index and sort them all for one page.
    const { where, params } = sessionWhere(filter, now, true, ['expires_at'])
    const paged = page !== undefined ? ' LIMIT ? OFFSET ?' : ''
    const rows = prepare(
      this.db,
      `SELECT ${SESSION_COLUMNS} FROM iam_sessions s WHERE ${where}
       ORDER BY s.issued_at, s.access_key_id${paged}`,
    ).all(...params, ...(page !== undefined ? [page.limit, page.offset] : [])) as SessionDb[]
    return rows.map(toSession)
  }

  async deleteEndedSessions(before: number, limit: number): Promise<EndedSessions> {
    return this.write(() => {
      // Two index walks (expiry, then the partial index of revoked rows), never a scan.
      const expired = prepare(
        this.db,
        `DELETE FROM iam_sessions WHERE rowid IN (
           SELECT rowid FROM iam_sessions WHERE expires_at < ? LIMIT ?) RETURNING access_key_id, quota_key`,
      ).all(before, limit) as { access_key_id: string; quota_key: string }[]
      const revoked =
        expired.length < limit
          ? (prepare(
              this.db,
              `DELETE FROM iam_sessions WHERE rowid IN (
                 SELECT rowid FROM iam_sessions WHERE revoked = 1 LIMIT ?) RETURNING access_key_id, quota_key`,
            ).all(limit - expired.length) as { access_key_id: string; quota_key: string }[])
          : []
      // No session that expired before `before` is left: texts only such rows referred to go.
      if (expired.length < limit) this.texts.sweep(before, limit)
      return endedOf([...expired, ...revoked])
    })
  }

  async getStsLimits(accountId: string): Promise<StsLimitsRow | undefined> {
    const r = prepare(this.db, 'SELECT * FROM iam_sts_limits WHERE account_id = ?').get(
      accountId,
    ) as StsLimitsDb | undefined
    return r ? toStsLimits(r) : undefined
  }

  async listStsLimits(): Promise<readonly StsLimitsRow[]> {
    return (
      prepare(this.db, 'SELECT * FROM iam_sts_limits ORDER BY account_id').all() as StsLimitsDb[]
    ).map(toStsLimits)
  }

  async putStsLimits(row: StsLimitsRow): Promise<void> {
    await this.write(() => {
      if (
        row.issueRate === undefined &&
        row.issueBurst === undefined &&
        row.maxActiveSessions === undefined
      ) {
        prepare(this.db, 'DELETE FROM iam_sts_limits WHERE account_id = ?').run(row.accountId)
        return
      }
      prepare(
        this.db,
        `INSERT INTO iam_sts_limits (account_id, issue_rate, issue_burst, max_active_sessions)
         VALUES (?, ?, ?, ?) ON CONFLICT (account_id) DO UPDATE SET issue_rate = excluded.issue_rate,
           issue_burst = excluded.issue_burst, max_active_sessions = excluded.max_active_sessions`,
      ).run(
        row.accountId,
        row.issueRate ?? null,
        row.issueBurst ?? null,
        row.maxActiveSessions ?? null,
      )
    })
    this.publish({ kind: 'account', id: row.accountId })
  }

  async listPendingSecrets(): Promise<readonly PendingSecretRow[]> {
    return prepare(this.db, 'SELECT name, secret FROM iam_pending_secrets ORDER BY name').all() as {
      name: string
      secret: string
    }[]
  }

  async putPendingSecrets(rows: readonly PendingSecretRow[]): Promise<void> {
    if (rows.length === 0) return
    await this.write(() => {
      const put = prepare(
        this.db,
        `INSERT INTO iam_pending_secrets (name, secret) VALUES (?, ?)
         ON CONFLICT (name) DO UPDATE SET secret = excluded.secret`,
      )
      for (const r of rows) put.run(r.name, r.secret)
    })
  }

  async deletePendingSecrets(names?: readonly string[]): Promise<void> {
    await this.write(() => {
      if (names === undefined) {
        prepare(this.db, 'DELETE FROM iam_pending_secrets').run()
        return
      }
      const del = prepare(this.db, 'DELETE FROM iam_pending_secrets WHERE name = ?')
      for (const n of names) del.run(n)
    })
  }
}
