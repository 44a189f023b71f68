/**
 * MemoryIdentityStore: the IdentityStore in plain maps, for fast unit tests and as the reference
 * the conformance suite (test/conformance/identity-store.case.ts) checks the SQLite store
 * against. It keeps the SQLite store's rules: the same uniqueness constraints (account name,
 * master key id, username per account case-insensitively, access key id), compare-and-set on
 * row versions, multi-row changes applied at once, and a change published after every write that
 * changes cached state. Rows are immutable objects, so handing them out needs no copy.
 * Nothing is durable: a "restart" in tests opens a new service over the same store object.
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
import { MemoryChangeFeed } from './change-feed.js'
import { endedOf } from '../relational/identity-rows.js'

const conflict = (what: string): StorageError =>
  new StorageError('conflict', `${what}: already exists or violates a constraint`)

export class MemoryIdentityStore implements IdentityStore {
  private readonly changes: ChangeFeed
  private readonly accounts = new Map<string, AccountRow>()
  private readonly users = new Map<string, UserRow>()
  /** userId → key */
  private readonly keys = new Map<string, AccessKeyRow>()
  /** Access key id → when last used (touchAccessKeys). */
  private readonly keyLastUsed = new Map<string, number>()
  private readonly sessions = new Map<string, SessionRow>()
  private readonly pending = new Map<string, string>()
  private readonly stsLimits = new Map<string, StsLimitsRow>()
  private operator: OperatorRow | undefined

  constructor(opts: { readonly changes?: ChangeFeed } = {}) {
    this.changes = opts.changes ?? new MemoryChangeFeed()
  }

  private publish(...changes: Change[]): void {
    if (changes.length > 0) this.changes.publish(changes)
  }

  async loadAll(): Promise<IdentitySnapshot> {
    const byAge = <T extends { createdAt: number; id: string }>(a: T, b: T): number =>
      a.createdAt - b.createdAt || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0)
    return {
      accounts: [...this.accounts.values()].sort(byAge),
      users: [...this.users.values()].sort(byAge),
      keys: [...this.keys.values()],
      ...(this.operator ? { operator: this.operator } : {}),
    }
  }

  async getAccount(id: string): Promise<AccountRow | undefined> {
    return this.accounts.get(id)
  }

  async getUser(id: string): Promise<UserRow | undefined> {
    return this.users.get(id)
  }

  async getAccessKey(userId: string): Promise<AccessKeyRow | undefined> {
    return this.keys.get(userId)
  }

  async getOperator(): Promise<OperatorRow | undefined> {
    return this.operator
  }

  async putOperator(row: OperatorRow): Promise<void> {
    this.operator = { username: row.username, passwordHash: row.passwordHash }
    this.publish({ kind: 'operator' })
  }

  private checkAccountUnique(row: AccountRow): void {
    for (const a of this.accounts.values()) {
      if (a.id === row.id) continue
      if (a.name === row.name || a.masterAccessKeyId === row.masterAccessKeyId)
        throw conflict(`account ${row.name}`)
    }
  }

  async insertAccount(row: AccountRow): Promise<void> {
    if (this.accounts.has(row.id)) throw conflict(`account ${row.name}`)
    this.checkAccountUnique(row)
    if (row.resellerId !== undefined && !this.accounts.has(row.resellerId))
      throw conflict(`account ${row.name}`)
    this.accounts.set(row.id, Object.assign({}, row, { allowlist: [...row.allowlist], version: 0 }))
    this.publish({ kind: 'account', id: row.id })
  }

  /** The compare-and-set: the stored row, or the error a stale or missing one earns. */
  private current<T extends { version: number }>(
    map: Map<string, T>,
    what: string,
    id: string,
    expected: number,
  ): T {
    const cur = map.get(id)
    if (!cur) throw new StorageError('not-found', `${what} ${id} not found`)
    if (cur.version !== expected)
      throw new StorageError(
        'precondition',
        `${what} ${id} changed underneath (version ${String(cur.version)}, expected ${String(expected)})`,
      )
    return cur
  }

  private casAccount(row: AccountRow, expectedVersion: number): AccountRow {
    const cur = this.current(this.accounts, 'account', row.id, expectedVersion)
    this.checkAccountUnique(row)
    this.accounts.set(
      row.id,
      Object.assign({}, cur, {
        allowlist: [...row.allowlist],
        masterAccessKeyId: row.masterAccessKeyId,
        masterSecret: row.masterSecret,
        secretVersion: row.secretVersion,
        version: cur.version + 1,
      }),
    )
    return cur
  }

  async updateAccount(row: AccountRow, expectedVersion: number): Promise<void> {
    this.casAccount(row, expectedVersion)
    this.publish({ kind: 'account', id: row.id })
  }

  async resetMasterSecret(row: AccountRow, expectedVersion: number): Promise<void> {
    const old = this.casAccount(row, expectedVersion)
    this.revokeWhere((s) => s.originKeyId === old.masterAccessKeyId)
    this.publish(
      { kind: 'account', id: row.id },
      { kind: 'sessions-revoked', by: 'origin-key', id: old.masterAccessKeyId },
    )
  }

  private checkUserUnique(row: UserRow): void {
    const name = row.username.toLowerCase()
    for (const u of this.users.values())
      if (u.id !== row.id && u.accountId === row.accountId && u.username.toLowerCase() === name)
        throw conflict(`user ${row.username}`)
  }

  async insertUser(row: UserRow): Promise<void> {
    if (this.users.has(row.id) || !this.accounts.has(row.accountId))
      throw conflict(`user ${row.username}`)
    this.checkUserUnique(row)
    this.users.set(row.id, Object.assign({}, row, { version: 0 }))
    this.publish({ kind: 'user', id: row.id })
  }

  async updateUser(row: UserRow, expectedVersion: number): Promise<void> {
    const cur = this.current(this.users, 'user', row.id, expectedVersion)
    if (cur.accountId !== row.accountId)
      throw new StorageError('not-found', `user ${row.id} not found`)
    this.checkUserUnique(row)
    const { lastAccess: _ignored, ...rest } = row
    void _ignored
    this.users.set(
      row.id,
      Object.assign({}, rest, cur.lastAccess !== undefined ? { lastAccess: cur.lastAccess } : {}, {
        createdAt: cur.createdAt,
        version: cur.version + 1,
      }),
    )
    this.publish({ kind: 'user', id: row.id })
  }

  async touchAccessKeys(used: ReadonlyMap<string, number>): Promise<void> {
    const live = new Set([...this.keys.values()].map((k) => k.accessKeyId))
    for (const [id, at] of used)
      if (live.has(id)) this.keyLastUsed.set(id, Math.max(this.keyLastUsed.get(id) ?? 0, at))
  }

  async accessKeysLastUsed(): Promise<ReadonlyMap<string, number>> {
    const live = new Set([...this.keys.values()].map((k) => k.accessKeyId))
    return new Map([...this.keyLastUsed].filter(([id]) => live.has(id)))
  }

  async touchUser(userId: string, at: number): Promise<void> {
    const cur = this.users.get(userId)
    if (!cur) return
    this.users.set(userId, Object.assign({}, cur, { lastAccess: at }))
    this.publish({ kind: 'user', id: userId })
  }

  /** Mark matching unrevoked sessions revoked; how many. */
  private revokeWhere(pred: (s: SessionRow) => boolean): number {
    let n = 0
    for (const [id, s] of this.sessions)
      if (!s.revoked && pred(s)) {
        this.sessions.set(id, Object.assign({}, s, { revoked: true }))
        n++
      }
    return n
  }

  async deleteUser(userId: string): Promise<void> {
    if (!this.users.has(userId)) throw new StorageError('not-found', `user ${userId} not found`)
    this.revokeWhere((s) => s.userId === userId)
    this.keys.delete(userId)
    this.users.delete(userId)
    this.publish({ kind: 'user', id: userId }, { kind: 'sessions-revoked', by: 'user', id: userId })
  }

  async revokeUserSessions(userId: string): Promise<number> {
    const n = this.revokeWhere((s) => s.userId === userId)
    this.publish({ kind: 'sessions-revoked', by: 'user', id: userId })
    return n
  }

  async replaceAccessKey(userId: string, key: AccessKeyRow | undefined): Promise<void> {
    if (key) {
      if (!this.users.has(userId)) throw conflict(`access key for ${userId}`)
      for (const [owner, k] of this.keys)
        if (owner !== userId && k.accessKeyId === key.accessKeyId)
          throw conflict(`access key for ${userId}`)
    }
    const old = this.keys.get(userId)
    if (old) this.revokeWhere((s) => s.originKeyId === old.accessKeyId)
    if (key) this.keys.set(userId, Object.assign({}, key, { userId }))
    else this.keys.delete(userId)
    this.publish(
      { kind: 'user', id: userId },
      ...(old
        ? [{ kind: 'sessions-revoked', by: 'origin-key', id: old.accessKeyId } as const]
        : []),
    )
  }

  async insertSession(row: SessionRow): Promise<void> {
    if (this.sessions.has(row.accessKeyId)) throw conflict(`session ${row.accessKeyId}`)
    this.sessions.set(row.accessKeyId, row)
  }

  async getSession(accessKeyId: string): Promise<SessionRow | undefined> {
    return this.sessions.get(accessKeyId)
  }

  async revokeSession(accessKeyId: string): Promise<boolean> {
    const s = this.sessions.get(accessKeyId)
    if (!s) return false
    if (!s.revoked) this.sessions.set(accessKeyId, Object.assign({}, s, { revoked: true }))
    this.publish({ kind: 'session-revoked', accessKeyId })
    return true
  }

  private active(f: SessionFilter, now: number): SessionRow[] {
    return [...this.sessions.values()].filter(
      (s) =>
        s.expiresAt > now &&
        !s.revoked &&
        (f.accountId === undefined || s.accountId === f.accountId) &&
        (f.accountIds === undefined || f.accountIds.includes(s.accountId)) &&
        (f.userId === undefined || s.userId === f.userId) &&
        (f.originKeyId === undefined || s.originKeyId === f.originKeyId),
    )
  }

  async countActiveSessions(filter: SessionFilter, now: number): Promise<number> {
    return this.active(filter, now).length
  }

  async listActiveSessions(
    filter: SessionFilter,
    now: number,
    page?: { readonly limit: number; readonly offset: number },
  ): Promise<readonly SessionRow[]> {
    const rows = this.active(filter, now).sort(
      (a, b) =>
        a.issuedAt - b.issuedAt ||
        (a.accessKeyId < b.accessKeyId ? -1 : a.accessKeyId > b.accessKeyId ? 1 : 0),
    )
    return page !== undefined ? rows.slice(page.offset, page.offset + page.limit) : rows
  }

  async deleteEndedSessions(before: number, limit: number): Promise<EndedSessions> {
    const gone: { access_key_id: string; quota_key: string }[] = []
    for (const [id, s] of this.sessions) {
      if (gone.length >= limit) break
      if (s.expiresAt < before || s.revoked) {
        this.sessions.delete(id)
        gone.push({ access_key_id: id, quota_key: s.quotaKey })
      }
    }
    return endedOf(gone)
  }

  async getStsLimits(accountId: string): Promise<StsLimitsRow | undefined> {
    return this.stsLimits.get(accountId)
  }

  async listStsLimits(): Promise<readonly StsLimitsRow[]> {
    return [...this.stsLimits.values()]
  }

  async putStsLimits(row: StsLimitsRow): Promise<void> {
    if (
      row.issueRate === undefined &&
      row.issueBurst === undefined &&
      row.maxActiveSessions === undefined
    )
      this.stsLimits.delete(row.accountId)
    else this.stsLimits.set(row.accountId, row)
    this.publish({ kind: 'account', id: row.accountId })
  }

  async listPendingSecrets(): Promise<readonly PendingSecretRow[]> {
    return [...this.pending]
      .map(([name, secret]) => ({ name, secret }))
      .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
  }

  async putPendingSecrets(rows: readonly PendingSecretRow[]): Promise<void> {
    for (const r of rows) this.pending.set(r.name, r.secret)
  }

  async deletePendingSecrets(names?: readonly string[]): Promise<void> {
    if (names === undefined) this.pending.clear()
    else for (const n of names) this.pending.delete(n)
  }
}
