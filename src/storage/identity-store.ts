/**
 * IdentityStore: the persistence seam for accounts, users, access keys, sessions and the
 * operator login. It stores only what it is given: secrets arrive already sealed and passwords
 * already hashed (iam/ does both), so no backend ever sees a plain secret. Async everywhere so a
 * PostgreSQL backend fits; every mutating call is atomic and resolves once durable.
 * Uniqueness violations throw StorageError('conflict'); missing rows StorageError('not-found');
 * a compare-and-set on a row version that no longer matches StorageError('precondition').
 *
 * Why the store publishes: every cache of identity state (iam/directory.ts, the session cache)
 * learns of a change only from the ChangeFeed the store was opened with, never from the caller
 * that made it. So each mutation that changes something a cache holds publishes, after its write
 * committed: account/user rows ({kind:'account'|'user'}), the operator ({kind:'operator'}), and
 * every session revocation ('session-revoked', or 'sessions-revoked' by user / origin key). A
 * change made by another node, an offline tool or a test behind the service's back therefore
 * reaches the caches exactly like one made through the service. Three writes publish nothing:
 * insertSession (no cache can hold a session that did not exist), deleteExpiredSessions (expired
 * sessions are already refused everywhere) and the pending first-start secrets (never cached).
 *
 * Why rows carry versions: two nodes editing the same user must not lose each other's updates, so
 * account and user updates are compare-and-set on `version` (the store writes expected + 1).
 * @module
 */
import type { RoleName as UserRole } from '../policy/roles.js'

export interface AccountRow {
  readonly id: string
  readonly name: string
  readonly type: 'customer' | 'reseller'
  readonly resellerId?: string
  readonly createdAt: number
  readonly allowlist: readonly string[]
  readonly masterAccessKeyId: string
  /** Sealed master secret. */
  readonly masterSecret: string
  /** Increases on every master secret change. */
  readonly secretVersion: number
  /** Row version for compare-and-set; the store sets it (0 on insert, +1 on every update). */
  readonly version: number
}

export interface UserRow {
  readonly id: string
  readonly accountId: string
  readonly username: string
  /** scrypt hash string (see iam/password.ts); never the password. */
  readonly passwordHash: string
  readonly role: UserRole
  readonly isActive: boolean
  readonly email?: string
  readonly firstname?: string
  readonly lastname?: string
  /** Extra IAM policy JSON text. */
  readonly policy?: string
  /** Sealed TOTP secret (base32), when enrolled. */
  readonly totpSecret?: string
  readonly createdAt: number
  /** Written only by touchUser (updateUser leaves it alone, so a login never races an edit). */
  readonly lastAccess?: number
  /** Row version for compare-and-set; the store sets it (0 on insert, +1 on every update). */
  readonly version: number
}

export interface AccessKeyRow {
  readonly accessKeyId: string
  readonly userId: string
  /** Sealed secret. */
  readonly secret: string
  readonly createdAt: number
}

export interface SessionRow {
  readonly accessKeyId: string
  readonly accountId: string
  /** Who pays for this session against the per-parent bound ('user:<id>' | 'root:<accountId>'). */
  readonly quotaKey: string
  /** The user at the root of the issuing chain, if any (revocation and the admin filter). */
  readonly userId?: string
  /** The long-term access key at the root of the issuing chain (user key or master key), if any. */
  readonly originKeyId?: string
  /** JSON: the parent ref plus the liveness checks the session depends on (iam/ defines it). */
  readonly parent: string
  /** Sealed session secret. */
  readonly secret: string
  /** hex HMAC of the session token; undefined for sessions issued without one. */
  readonly tokenHmac?: string
  readonly sessionName: string
  /**
   * JSON: the session's policy layers, or its own layers plus a reference to its parent session
   * (iam/session-layers.ts defines both forms).
   */
  readonly policies: string
  readonly roleName: string
  readonly roleId: string
  readonly issuedAt: number
  readonly expiresAt: number
  readonly revoked: boolean
}

export interface OperatorRow {
  readonly username: string
  readonly passwordHash: string
}

/**
 * A secret generated at first start (operator password, default master key) that no completed
 * start has shown to the operator yet, sealed like every other secret. Kept so that a start that
 * fails after generating it (port taken) does not lock the operator out: the next start shows it.
 */
export interface PendingSecretRow {
  readonly name: string
  /** Sealed value. */
  readonly secret: string
}

export interface IdentitySnapshot {
  readonly accounts: readonly AccountRow[]
  readonly users: readonly UserRow[]
  readonly keys: readonly AccessKeyRow[]
  readonly operator?: OperatorRow
}

export interface IdentityStore {
  /** Everything but sessions, for the in-memory caches built at start (and on resync). */
  loadAll(): Promise<IdentitySnapshot>
  getAccount(id: string): Promise<AccountRow | undefined>
  getUser(id: string): Promise<UserRow | undefined>
  /** The user's access key, if it has one. */
  getAccessKey(userId: string): Promise<AccessKeyRow | undefined>
  getOperator(): Promise<OperatorRow | undefined>
  putOperator(row: OperatorRow): Promise<void>

  /** Insert (the row's version is stored as 0). */
  insertAccount(row: AccountRow): Promise<void>
  /**
   * Replace the row with this id (name/type/reseller are immutable) if its stored version is
   * still `expectedVersion`; StorageError('precondition') when it changed underneath.
   */
  updateAccount(row: AccountRow, expectedVersion: number): Promise<void>
  /**
   * Store a new master secret (compare-and-set like updateAccount) and revoke the sessions made
   * from the previous master key, atomically.
   */
  resetMasterSecret(row: AccountRow, expectedVersion: number): Promise<void>

  insertUser(row: UserRow): Promise<void>
  /** Compare-and-set on `expectedVersion`, like updateAccount. last_access is not written. */
  updateUser(row: UserRow, expectedVersion: number): Promise<void>
  /** Set last_access only (cheap, best effort; no version change). */
  touchUser(userId: string, at: number): Promise<void>
  /**
   * Record when access keys were last used (each moves forward only; unknown ids are ignored).
   * Best effort, batched by the caller, and published on no feed: nothing cached depends on it.
   */
  touchAccessKeys(used: ReadonlyMap<string, number>): Promise<void>
  /** When the access keys that were ever used were last used, by access key id. */
  accessKeysLastUsed(): Promise<ReadonlyMap<string, number>>
  /** Deletes the user and its key, and revokes its sessions, atomically. */
  deleteUser(userId: string): Promise<void>
  /** Revoke every unrevoked session issued by (a chain rooted at) `userId` (deactivation). */
  revokeUserSessions(userId: string): Promise<number>

  /**
   * Make `key` the user's only access key (undefined: none), revoking sessions made from the
   * previous key, atomically.
   */
  replaceAccessKey(userId: string, key: AccessKeyRow | undefined): Promise<void>

  insertSession(row: SessionRow): Promise<void>
  getSession(accessKeyId: string): Promise<SessionRow | undefined>
  /** Mark revoked; false when there is no such session. */
  revokeSession(accessKeyId: string): Promise<boolean>
  /** Unrevoked, unexpired sessions charged to `quotaKey`. */
  countActiveSessions(quotaKey: string, now: number): Promise<number>
  /** Unrevoked, unexpired sessions, oldest first. */
  listActiveSessions(
    filter: { readonly accountId?: string; readonly userId?: string },
    now: number,
  ): Promise<readonly SessionRow[]>
  /** Delete sessions that expired before `before`; the number deleted. */
  deleteExpiredSessions(before: number): Promise<number>

  /** First-start secrets not yet shown, by name. */
  listPendingSecrets(): Promise<readonly PendingSecretRow[]>
  /** Store these, replacing any of the same name. */
  putPendingSecrets(rows: readonly PendingSecretRow[]): Promise<void>
  /** Forget these names (every pending secret when `names` is absent). */
  deletePendingSecrets(names?: readonly string[]): Promise<void>
}
