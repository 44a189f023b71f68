/**
 * IamService: the identity domain over an IdentityStore. It implements the seams the surfaces
 * use (CredentialProvider, PolicyProvider, AccountDirectory, SessionService) plus the domain
 * operations of the admin API and STS.
 *
 * Why it is shaped like this:
 * 1. `resolve(accessKeyId)` is on every request's path, so accounts, users and long-term keys
 *    live in memory (loaded at open, written through on every mutation) and sessions are cached
 *    on first use in a bounded LRU. A mutation updates the maps before it returns, so a revoked,
 *    replaced or deactivated credential is refused on the very next request.
 * 2. Secrets are decrypted only into memory; on disk they are sealed (AES-256-GCM, AAD = row).
 * 3. A session records the liveness checks it depends on (parent user active with the same key,
 *    master secret version, parent session not revoked); `resolve` re-checks them from memory on
 *    every call, and the store revokes the rows too so the death is permanent.
 * 4. Session tokens are random; only an HMAC under a key derived from the master key is stored.
 * 5. Issuing is on a hot path (scripts mint a session per job): the per-parent bound is counted in
 *    memory (session-quota.ts, a slot reserved synchronously before the write), the row insert
 *    rides the store's group commit (one fsync per event-loop turn, still durable before the
 *    answer), and the new session's cache entry is built from the values in hand (no unseal).
 * 6. Role chaining keeps each ancestor's session policies as a separate layer that the policy
 *    engine intersects (session-layers.ts), so a chained session can only narrow its parent. A
 *    chain is stored by reference (a row holds its own policies and names the session whose
 *    layers precede them; in memory a link shares its parent's compiled policies) and is at most
 *    MAX_CHAIN_DEPTH sessions deep, so what one key can make the server hold stays linear in the
 *    number of sessions it may have (`--max-sessions-per-parent`).
 * @module
 */
import { timingSafeEqual } from 'node:crypto'
import { hmacSha256, sha256Hex } from '../crypto/hash.js'
import { generateSecret, generateURI, verifySync } from 'otplib'
import { principalArn, type ParentRef, type Principal, type UserRole } from '../auth/principal.js'
import { deriveKey, KEY_LABELS, seal, timingSafeEqualStr, unseal } from '../crypto/seal.js'
import type { Clock, IdSource } from '../lib/clock.js'
import type { Logger } from '../lib/logger.js'
import { parsePolicy, type CompiledPolicy } from '../policy/document.js'
import { MASTER_KEY_POLICY, rolePolicy } from '../policy/presets.js'
import { StorageError } from '../storage/errors.js'
import type { Database } from '../backends/sqlite/db.js'
import { SqliteIdentityStore } from '../backends/sqlite/identity-store.js'
import type {
  AccessKeyRow,
  AccountRow,
  IdentityStore,
  OperatorRow,
  SessionRow,
  UserRow,
} from '../storage/identity-store.js'
import { AddressAllowlist, normalizeCidr } from './allowlist.js'
import {
  DEFAULT_SCRYPT_N,
  hashPassword,
  MAX_PASSWORD_LENGTH,
  verifyAgainstDummy,
  verifyPassword,
} from './password.js'
import {
  FailureThrottle,
  LOGIN_THROTTLE,
  type LoginAttempt,
  type ThrottleOptions,
} from './throttle.js'
import { Lru } from '../lib/lru.js'
import { RandomPool } from '../lib/random-pool.js'
import { decodeStoredLayers, encodeChainedLayers, encodeLayers } from './session-layers.js'
import { SessionQuota, type SlotInfo } from './session-quota.js'
import {
  IamError,
  type AccountDirectory,
  type AccountInfo,
  type CredentialProvider,
  type IssuedSession,
  type PolicyProvider,
  type PrincipalPolicies,
  type ResolvedCredential,
  type SessionInfo,
  type SessionRequest,
  type SessionService,
  type TokenCheck,
} from './types.js'
import { ROLES } from '../policy/roles.js'

type KnownPrincipal = Exclude<Principal, { kind: 'anonymous' }>
type UserPrincipal = Extract<Principal, { kind: 'user' }>
type SessionPrincipal = Extract<Principal, { kind: 'session' }>

export { ROLES }
export const USERNAME_RE = /^[\w+=,.@-]{1,64}$/
export const ACCOUNT_NAME_RE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/
export const MIN_PASSWORD_LENGTH = 8
export const SESSION_KEY_RE = /^ASIA[A-Z0-9]{16}$/
const TOKEN_PREFIX = 'LK1.'
const MAX_ALLOWLIST = 100
/** policiesFor answers shared by every request (frozen: callers only read them). */
const MASTER_POLICIES: PrincipalPolicies = Object.freeze({
  identity: Object.freeze([MASTER_KEY_POLICY]),
})
const NO_POLICIES: PrincipalPolicies = Object.freeze({ identity: Object.freeze([]) })
/**
 * The longest role chain: a session made from a long-term key or a login is 1 deep, one made with
 * its credentials 2, and so on. AWS caps each chained link at one hour but not the length; here a
 * chain costs memory and checks per link, so AssumeRole from a session already this deep is
 * refused (STS AccessDenied). Eight leaves room for any real delegation (service → job → step).
 */
export const MAX_CHAIN_DEPTH = 8
/** Expired sessions keep resolving this long (callers answer ExpiredToken) before the sweep. */
export const EXPIRED_SESSION_GRACE_MS = 60 * 60_000

/**
 * The LATCHKEY_ROOT_* values. They seed the default account's master key and the operator
 * password when none is stored; a stored one that differs (reset or changed since) is kept with a
 * warning, unless the matching override is set (then the configured value replaces it).
 */
export interface BootstrapOptions {
  readonly rootUser?: string
  readonly rootPassword?: string
  readonly rootAccessKey?: string
  readonly rootSecretKey?: string
  /** LATCHKEY_ROOT_KEY_OVERRIDE: rootAccessKey/rootSecretKey replace a different stored key. */
  readonly rootKeyOverride?: boolean
  /** LATCHKEY_ROOT_PASSWORD_OVERRIDE: rootPassword replaces a different stored password. */
  readonly rootPasswordOverride?: boolean
}

/**
 * What open() generated at first start and no start has shown yet (a start that failed after
 * generating them leaves them pending), for the caller to show once the server is up and then
 * confirm with firstStartSecretsShown(); never logged here. Only generated values are present
 * (rootUser accompanies a generated rootPassword); empty otherwise.
 */
export type BootstrapResult = {
  readonly rootUser?: string
  readonly rootPassword?: string
  readonly masterAccessKeyId?: string
  readonly masterSecretKey?: string
}

export interface IamServiceOptions {
  /** The identity store; or `db`, an open SQLite database the SQLite store is built on. */
  readonly store?: IdentityStore
  readonly db?: Database
  /** The 32-byte master encryption key (crypto/master-key.ts). */
  readonly masterKey: Buffer
  readonly clock: Clock
  readonly ids: IdSource
  readonly log: Logger
  readonly bootstrap?: BootstrapOptions
  /** Bound on active sessions per parent (default 1000). */
  readonly maxSessionsPerParent?: number
  /** Sessions kept in memory (default 10000). */
  readonly sessionCacheSize?: number
  readonly loginThrottle?: ThrottleOptions
  /** scrypt N for new password hashes (default 16384). Only tests should lower it. */
  readonly scryptN?: number
}

export interface AccountView extends AccountInfo {
  readonly createdAt: number
  readonly masterAccessKeyId: string
}

export interface UserView {
  readonly id: string
  readonly accountId: string
  readonly accountName: string
  readonly username: string
  readonly role: UserRole
  readonly isActive: boolean
  readonly email?: string
  readonly firstname?: string
  readonly lastname?: string
  readonly createdAt: number
  readonly lastAccess?: number
  /** The current access key id (never the secret). */
  readonly accessKeyId?: string
  readonly totpEnabled: boolean
  readonly hasPolicy: boolean
}

export interface NewKey {
  readonly accessKeyId: string
  readonly secretKey: string
}

export interface CreateUserInput {
  readonly accountId: string
  readonly username: string
  readonly password: string
  readonly role: UserRole
  readonly email?: string
  readonly firstname?: string
  readonly lastname?: string
}

/** `null` clears an optional field. */
export interface UpdateUserInput {
  readonly role?: UserRole
  readonly isActive?: boolean
  readonly password?: string
  readonly email?: string | null
  readonly firstname?: string | null
  readonly lastname?: string | null
}

export interface LoginInput {
  /** Account name; absent = the operator (if the name matches) or the default account. */
  readonly customer?: string
  readonly username: string
  readonly password: string
  readonly otp?: string
  readonly address: string
}

export type AdminIdentity =
  | { readonly kind: 'operator'; readonly username: string }
  | { readonly kind: 'user'; readonly principal: UserPrincipal }

export type IamChange =
  | { readonly kind: 'account'; readonly id: string }
  | { readonly kind: 'user'; readonly id: string }
  | { readonly kind: 'session'; readonly id: string }
  | { readonly kind: 'operator' }

/** What a session's life depends on; every check must hold for it to resolve. */
export type LivenessCheck =
  | { readonly kind: 'root'; readonly accountId: string; readonly version: number }
  | {
      readonly kind: 'user'
      readonly userId: string
      readonly accessKeyId?: string
      /** The role the user must still have (sessions that needed it to be minted). */
      readonly role?: UserRole
    }
  | { readonly kind: 'session'; readonly accessKeyId: string }

interface StoredParent {
  readonly parent: ParentRef
  readonly checks: readonly LivenessCheck[]
  /** Made by GetSessionToken: the session shows its parent's identity. */
  readonly asParent?: true
}

interface AccountState {
  row: AccountRow
  secret: string
  info: AccountInfo
  allow: AddressAllowlist
  cred: ResolvedCredential
}

interface UserState {
  row: UserRow
  key?: { row: AccessKeyRow; secret: string }
  cred?: ResolvedCredential
  policy?: CompiledPolicy
  /** What policiesFor answers for the user (role preset + extra policy); rebuilt by cacheUser. */
  policies?: PrincipalPolicies
}

type Layers = readonly (readonly CompiledPolicy[])[]

interface SessionEntry {
  row: SessionRow
  parent: ParentRef
  checks: readonly LivenessCheck[]
  tokenHmac?: Buffer
  /**
   * The token bytes last proven against tokenHmac: a client sends the same token on every request,
   * so a constant-time compare with these replaces the HMAC on the hot path.
   */
  verifiedToken?: Buffer
  /** Session policy layers, oldest ancestor first; the session's rights are parent ∩ every layer. */
  layers: Layers
  /** Every layer's policies in one list (explicit Denies, listings); never decide with it alone. */
  flat: readonly CompiledPolicy[]
  /** policiesFor's last answer, reused while the parent's identity policies are the same. */
  policies?: PrincipalPolicies
  cred: ResolvedCredential
  revoked: boolean
}

type KeyRef =
  | { readonly kind: 'master'; readonly accountId: string }
  | { readonly kind: 'user'; readonly userId: string }

const aadMaster = (accountId: string) => `account-master:${accountId}`
const aadKey = (accessKeyId: string) => `access-key:${accessKeyId}`
const aadSession = (accessKeyId: string) => `session:${accessKeyId}`
const aadTotp = (userId: string) => `totp:${userId}`
const aadPending = (name: string) => `first-start:${name}`

/** The first-start secrets kept pending until shown (see bootstrap). */
const PENDING_NAMES = ['rootPassword', 'masterAccessKeyId', 'masterSecretKey'] as const
type PendingName = (typeof PENDING_NAMES)[number]

function canonicalIdOf(accountId: string): string {
  return sha256Hex(`latchkey-account:${accountId}`)
}

function invalid(message: string): IamError {
  return new IamError('invalid', message)
}

function compileSessionPolicy(text: string, index: number): CompiledPolicy {
  return parsePolicy(text, {
    kind: 'session',
    name: index === 0 ? 'session-policy' : `session-policy-${index}`,
    source: 'session',
  })
}

function slotOf(row: SessionRow): SlotInfo {
  return {
    accessKeyId: row.accessKeyId,
    quotaKey: row.quotaKey,
    expiresAt: row.expiresAt,
    ...(row.userId !== undefined ? { userId: row.userId } : {}),
    ...(row.originKeyId !== undefined ? { originKeyId: row.originKeyId } : {}),
  }
}

export class IamService
  implements CredentialProvider, PolicyProvider, AccountDirectory, SessionService
{
  private readonly store: IdentityStore
  private readonly sealKey: Buffer
  private readonly tokenKey: Buffer
  private readonly clock: Clock
  private readonly ids: IdSource
  private readonly log: Logger
  private readonly maxSessionsPerParent: number
  private readonly throttle: FailureThrottle
  private readonly scryptN: number

  private readonly accounts = new Map<string, AccountState>()
  private readonly accountsByName = new Map<string, string>()
  private readonly users = new Map<string, UserState>()
  /** `${accountId}/${lower(username)}` → user id */
  private readonly usersByName = new Map<string, string>()
  private readonly keyIndex = new Map<string, KeyRef>()
  private readonly sessions: Lru<string, SessionEntry>
  /** Active sessions per quota key (the per-parent bound), kept exact in memory. */
  private readonly quota = new SessionQuota()
  private readonly random = new RandomPool()
  /** Session policies recompiled from stored text, by position and text (sessions share them). */
  private readonly compiled = new Lru<string, CompiledPolicy>(512)
  private readonly sessionOf = new WeakMap<ResolvedCredential, SessionEntry>()
  /** userId → last TOTP time step accepted (replay protection). */
  private readonly totpUsed = new Map<string, number>()
  private readonly listeners = new Set<(c: IamChange) => void>()
  private operator: OperatorRow | undefined
  private sweeper: ReturnType<typeof setInterval> | undefined
  /** Serialises mutations: each reads the current state and writes it back without interleaving. */
  private lock: Promise<unknown> = Promise.resolve()

  private constructor(o: IamServiceOptions, store: IdentityStore) {
    this.store = store
    this.sealKey = deriveKey(o.masterKey, KEY_LABELS.seal)
    this.tokenKey = deriveKey(o.masterKey, KEY_LABELS.sessionToken)
    this.clock = o.clock
    this.ids = o.ids
    this.log = o.log
    this.maxSessionsPerParent = o.maxSessionsPerParent ?? 1000
    this.sessions = new Lru(o.sessionCacheSize ?? 10_000)
    this.throttle = new FailureThrottle(o.loginThrottle ?? LOGIN_THROTTLE)
    this.scryptN = o.scryptN ?? DEFAULT_SCRYPT_N
  }

  /**
   * Load every account, user and key into memory and, at first start, create the `default`
   * account and the operator. Returns what was generated and not yet shown, for the caller to
   * show once the server is up (then firstStartSecretsShown()). Throws a clear Error when stored
   * secrets do not open with this master key.
   */
  static async open(
    o: IamServiceOptions,
  ): Promise<{ iam: IamService; generated: BootstrapResult }> {
    const store = o.store ?? (o.db ? SqliteIdentityStore.open(o.db) : undefined)
    if (!store) throw new Error('IamService.open: needs a store or a db')
    const iam = new IamService(o, store)
    await iam.load()
    const generated = await iam.bootstrap(o.bootstrap ?? {})
    return { iam, generated }
  }

  private exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.lock.then(fn, fn)
    this.lock = run.catch(() => undefined)
    return run
  }

  // ---------------------------------------------------------------------------------------------
  // Loading and caches

  private async load(): Promise<void> {
    const snap = await this.store.loadAll()
    try {
      for (const a of snap.accounts)
        this.cacheAccount(a, unseal(this.sealKey, a.masterSecret, aadMaster(a.id)))
      for (const u of snap.users) this.cacheUser({ row: u })
      for (const k of snap.keys) {
        const u = this.users.get(k.userId)
        if (!u) continue
        u.key = { row: k, secret: unseal(this.sealKey, k.secret, aadKey(k.accessKeyId)) }
        this.cacheUser(u)
      }
    } catch (e) {
      throw new Error(
        `cannot decrypt stored secrets (${(e as Error).message}): is LATCHKEY_MASTER_KEY / master.key the one this data dir was created with?`,
      )
    }
    this.operator = snap.operator
    const now = this.clock.now()
    for (const r of await this.store.listActiveSessions({}, now)) this.quota.add(slotOf(r), now)
  }

  private cacheAccount(row: AccountRow, secret: string): AccountState {
    const old = this.accounts.get(row.id)
    if (old && old.row.masterAccessKeyId !== row.masterAccessKeyId)
      this.keyIndex.delete(old.row.masterAccessKeyId)
    const info: AccountInfo = {
      id: row.id,
      name: row.name,
      type: row.type,
      ...(row.resellerId !== undefined ? { resellerId: row.resellerId } : {}),
      canonicalId: canonicalIdOf(row.id),
      allowlist: [...row.allowlist],
    }
    const state: AccountState = {
      row,
      secret,
      info,
      allow: new AddressAllowlist(row.allowlist),
      cred: {
        accessKeyId: row.masterAccessKeyId,
        secretKey: secret,
        secretVersion: `m${row.secretVersion}`,
        principal: {
          kind: 'account-root',
          accountId: row.id,
          accountName: row.name,
          accessKeyId: row.masterAccessKeyId,
        },
      },
    }
    this.accounts.set(row.id, state)
    this.accountsByName.set(row.name, row.id)
    this.keyIndex.set(row.masterAccessKeyId, { kind: 'master', accountId: row.id })
    return state
  }

  /** (Re)build a user's cached credential and compiled policy after any change. */
  private cacheUser(u: UserState): void {
    const old = this.users.get(u.row.id)
    if (old?.key && old.key.row.accessKeyId !== u.key?.row.accessKeyId)
      this.keyIndex.delete(old.key.row.accessKeyId)
    if (old && old.row.username !== u.row.username)
      this.usersByName.delete(`${old.row.accountId}/${old.row.username.toLowerCase()}`)
    const account = this.accounts.get(u.row.accountId)
    delete u.cred
    if (u.key && account) {
      u.cred = {
        accessKeyId: u.key.row.accessKeyId,
        secretKey: u.key.secret,
        secretVersion: 'k1',
        principal: this.userPrincipal(u.row, account, u.key.row.accessKeyId),
      }
      this.keyIndex.set(u.key.row.accessKeyId, { kind: 'user', userId: u.row.id })
    }
    delete u.policy
    if (u.row.policy !== undefined) {
      try {
        u.policy = parsePolicy(u.row.policy, {
          kind: 'identity',
          name: 'user-policy',
          source: 'identity',
        })
      } catch (e) {
        // Stored policies were validated on the way in; if one no longer parses, fail closed.
        this.log.error(
          { userId: u.row.id, err: (e as Error).message },
          'stored user policy does not parse; denying',
        )
        u.policy = parsePolicy(DENY_ALL, {
          kind: 'identity',
          name: 'user-policy',
          source: 'identity',
        })
      }
    }
    u.policies = {
      identity: u.policy ? [rolePolicy(u.row.role), u.policy] : [rolePolicy(u.row.role)],
    }
    this.users.set(u.row.id, u)
    this.usersByName.set(`${u.row.accountId}/${u.row.username.toLowerCase()}`, u.row.id)
  }

  private userPrincipal(row: UserRow, account: AccountState, accessKeyId: string): UserPrincipal {
    return {
      kind: 'user',
      accountId: row.accountId,
      accountName: account.row.name,
      userId: row.id,
      username: row.username,
      role: row.role,
      accessKeyId,
    }
  }

  private emit(c: IamChange): void {
    for (const fn of this.listeners) {
      try {
        fn(c)
      } catch (e) {
        this.log.warn({ err: (e as Error).message }, 'iam change listener failed')
      }
    }
  }

  /** Subscribe to identity changes (for multi-node invalidation later). Returns unsubscribe. */
  onChange(fn: (c: IamChange) => void): () => void {
    this.listeners.add(fn)
    return () => this.listeners.delete(fn)
  }

  // ---------------------------------------------------------------------------------------------
  // Bootstrap

  /**
   * Create the `default` account and the operator at first start, generating what LATCHKEY_ROOT_*
   * does not give; on later starts LATCHKEY_ROOT_* only seed (see BootstrapOptions).
   *
   * Generated secrets are also kept, sealed, as pending (iam_pending_secrets), written before the
   * rows they belong to, and returned by every start until firstStartSecretsShown(): a start that
   * dies after generating them (port taken, killed) must not lock the operator out, so delivery is
   * at-least-once. A pending secret nobody has seen yet is not "stored" from the operator's point
   * of view: a configured value simply takes its place. Before returning, pending values are
   * checked against the rows, so a crash between two writes can never show a secret that does
   * not work.
   */
  private async bootstrap(b: BootstrapOptions): Promise<BootstrapResult> {
    const now = this.clock.now()
    if (b.rootAccessKey !== undefined) validateRootAccessKey(b.rootAccessKey)
    if (b.rootSecretKey !== undefined) validateRootSecret(b.rootSecretKey)
    const rootUser = b.rootUser ?? this.operator?.username ?? 'root'
    if (!USERNAME_RE.test(rootUser))
      throw new Error(`LATCHKEY_ROOT_USER: must match ${USERNAME_RE.source}`)
    if (
      b.rootPassword !== undefined &&
      (b.rootPassword.length < MIN_PASSWORD_LENGTH || b.rootPassword.length > MAX_PASSWORD_LENGTH)
    ) {
      throw new Error(
        `LATCHKEY_ROOT_PASSWORD: must be ${MIN_PASSWORD_LENGTH}-${MAX_PASSWORD_LENGTH} characters`,
      )
    }
    const pending = await this.loadPendingSecrets()

    const defaultId = this.accountsByName.get('default')
    if (defaultId === undefined) {
      const akid = b.rootAccessKey ?? this.newLongTermKeyId()
      const secret = b.rootSecretKey ?? this.ids.alnum(40)
      const generated = b.rootAccessKey === undefined || b.rootSecretKey === undefined
      await this.putPending(pending, {
        masterAccessKeyId: generated ? akid : undefined,
        masterSecretKey: b.rootSecretKey === undefined ? secret : undefined,
      })
      await this.insertAccount({ name: 'default', type: 'customer' }, now, akid, secret)
    } else {
      // The environment only seeds: a key reset through the admin API (say, because it leaked)
      // must not come back at the next restart because the old value is still in a unit file.
      const a = this.accounts.get(defaultId)
      if (a && (b.rootAccessKey !== undefined || b.rootSecretKey !== undefined)) {
        const akid = b.rootAccessKey ?? a.row.masterAccessKeyId
        const secret = b.rootSecretKey ?? a.secret
        const same =
          timingSafeEqualStr(akid, a.row.masterAccessKeyId) && timingSafeEqualStr(secret, a.secret)
        const unseen = pending.has('masterSecretKey')
        if (!same && (b.rootKeyOverride === true || unseen)) {
          await this.setMasterKey(a, akid, secret)
          await this.putPending(pending, {
            masterAccessKeyId: undefined,
            masterSecretKey: undefined,
          })
          if (b.rootKeyOverride === true)
            this.log.warn(
              {},
              'LATCHKEY_ROOT_KEY_OVERRIDE: the default account master key was replaced by LATCHKEY_ROOT_ACCESS_KEY/LATCHKEY_ROOT_SECRET_KEY; unset the override',
            )
        } else if (!same) {
          this.log.warn(
            {},
            'LATCHKEY_ROOT_ACCESS_KEY/LATCHKEY_ROOT_SECRET_KEY differ from the stored master key of the default account (reset since they were set?): keeping the stored key. Remove them from the environment, or set LATCHKEY_ROOT_KEY_OVERRIDE=1 for one start to replace the stored key',
          )
        }
      }
    }

    if (this.operator === undefined) {
      const password = b.rootPassword ?? this.ids.alnum(24)
      await this.putPending(pending, {
        rootPassword: b.rootPassword === undefined ? password : undefined,
      })
      this.operator = {
        username: rootUser,
        passwordHash: await hashPassword(password, this.scryptN),
      }
      await this.store.putOperator(this.operator)
    } else {
      let next = this.operator
      if (next.username !== rootUser) next = { ...next, username: rootUser }
      // As for the master key: the environment does not undo a password changed since.
      let dropPendingPassword = false
      if (
        b.rootPassword !== undefined &&
        !(await verifyPassword(b.rootPassword, next.passwordHash))
      ) {
        const unseen = pending.has('rootPassword')
        if (b.rootPasswordOverride === true || unseen) {
          next = { ...next, passwordHash: await hashPassword(b.rootPassword, this.scryptN) }
          dropPendingPassword = true
          if (b.rootPasswordOverride === true)
            this.log.warn(
              {},
              'LATCHKEY_ROOT_PASSWORD_OVERRIDE: the operator password was replaced by LATCHKEY_ROOT_PASSWORD; unset the override',
            )
        } else {
          this.log.warn(
            {},
            'LATCHKEY_ROOT_PASSWORD differs from the stored operator password (changed since it was set?): keeping the stored one. Remove it from the environment, or set LATCHKEY_ROOT_PASSWORD_OVERRIDE=1 for one start to apply it',
          )
        }
      }
      if (next !== this.operator) {
        this.operator = next
        await this.store.putOperator(next)
      }
      if (dropPendingPassword) await this.putPending(pending, { rootPassword: undefined })
    }
    return this.pendingThatWorks(pending)
  }

  /** The pending first-start secrets, unsealed. */
  private async loadPendingSecrets(): Promise<Map<PendingName, string>> {
    const out = new Map<PendingName, string>()
    for (const r of await this.store.listPendingSecrets()) {
      if (!(PENDING_NAMES as readonly string[]).includes(r.name)) continue
      try {
        out.set(r.name as PendingName, unseal(this.sealKey, r.secret, aadPending(r.name)))
      } catch (e) {
        throw new Error(
          `cannot decrypt stored secrets (${(e as Error).message}): is LATCHKEY_MASTER_KEY / master.key the one this data dir was created with?`,
        )
      }
    }
    return out
  }

  /** Store (a string) or forget (undefined) pending secrets, in the store and in `pending`. */
  private async putPending(
    pending: Map<PendingName, string>,
    values: Partial<Record<PendingName, string | undefined>>,
  ): Promise<void> {
    const put: { name: string; secret: string }[] = []
    const drop: string[] = []
    for (const name of PENDING_NAMES) {
      if (!Object.hasOwn(values, name)) continue
      const v = values[name]
      if (v !== undefined) {
        put.push({ name, secret: seal(this.sealKey, v, aadPending(name)) })
        pending.set(name, v)
      } else if (pending.has(name)) {
        drop.push(name)
        pending.delete(name)
      }
    }
    await this.store.putPendingSecrets(put)
    if (drop.length > 0) await this.store.deletePendingSecrets(drop)
  }

  /** What to show: the pending secrets that match the stored rows (stale ones are forgotten). */
  private async pendingThatWorks(pending: Map<PendingName, string>): Promise<BootstrapResult> {
    const a = this.accounts.get(this.accountsByName.get('default') ?? '')
    const akid = pending.get('masterAccessKeyId')
    const secret = pending.get('masterSecretKey')
    const password = pending.get('rootPassword')
    const stale: Partial<Record<PendingName, undefined>> = {}
    // The key id and the secret are shown as a pair or not at all.
    if (
      (akid !== undefined && a?.row.masterAccessKeyId !== akid) ||
      (secret !== undefined && (a === undefined || !timingSafeEqualStr(secret, a.secret)))
    ) {
      stale.masterAccessKeyId = undefined
      stale.masterSecretKey = undefined
    }
    if (
      password !== undefined &&
      (this.operator === undefined || !(await verifyPassword(password, this.operator.passwordHash)))
    )
      stale.rootPassword = undefined
    if (Object.keys(stale).length > 0) await this.putPending(pending, stale)
    const rootPassword = pending.get('rootPassword')
    const masterAccessKeyId = pending.get('masterAccessKeyId')
    const masterSecretKey = pending.get('masterSecretKey')
    return {
      ...(rootPassword !== undefined && this.operator !== undefined
        ? { rootUser: this.operator.username, rootPassword }
        : {}),
      ...(masterAccessKeyId !== undefined ? { masterAccessKeyId } : {}),
      ...(masterSecretKey !== undefined ? { masterSecretKey } : {}),
    }
  }

  /**
   * The first-start secrets open() returned have reached the operator (the caller printed them
   * or wrote them to a file after the listener bound): later starts do not show them again.
   */
  async firstStartSecretsShown(): Promise<void> {
    await this.store.deletePendingSecrets()
  }

  /**
   * Offline recovery (`latchkey admin reset-root-password`, server stopped): set the operator
   * password and forget a pending first-start one, which no longer works. Needs no master key:
   * it writes only a password hash. Throws an Error with one clear line.
   */
  static async resetOperatorPassword(
    store: IdentityStore,
    password: string,
    scryptN: number = DEFAULT_SCRYPT_N,
  ): Promise<{ username: string }> {
    if (password.length < MIN_PASSWORD_LENGTH || password.length > MAX_PASSWORD_LENGTH)
      throw new Error(
        `the password must be ${MIN_PASSWORD_LENGTH}-${MAX_PASSWORD_LENGTH} characters`,
      )
    const { operator } = await store.loadAll()
    if (operator === undefined)
      throw new Error('this data dir has no operator yet: start the server once first')
    await store.putOperator({ ...operator, passwordHash: await hashPassword(password, scryptN) })
    await store.deletePendingSecrets(['rootPassword'])
    return { username: operator.username }
  }

  private newLongTermKeyId(): string {
    for (;;) {
      const id = 'S4AK' + this.ids.alnum(20)
      if (!this.keyIndex.has(id)) return id
    }
  }

  // ---------------------------------------------------------------------------------------------
  // AccountDirectory + accounts

  byId(id: string): AccountInfo | undefined {
    return this.accounts.get(id)?.info
  }

  byName(name: string): AccountInfo | undefined {
    const id = this.accountsByName.get(name)
    return id === undefined ? undefined : this.accounts.get(id)?.info
  }

  addressAllowed(accountId: string, address: string): boolean {
    const a = this.accounts.get(accountId)
    return a ? a.allow.allows(address) : false
  }

  private accountView(a: AccountState): AccountView {
    return { ...a.info, createdAt: a.row.createdAt, masterAccessKeyId: a.row.masterAccessKeyId }
  }

  listAccounts(): readonly AccountView[] {
    return [...this.accounts.values()].map((a) => this.accountView(a))
  }

  getAccount(id: string): AccountView | undefined {
    const a = this.accounts.get(id)
    return a ? this.accountView(a) : undefined
  }

  private mustAccount(id: string): AccountState {
    const a = this.accounts.get(id)
    if (!a) throw new IamError('not-found', `No such customer: ${id}`)
    return a
  }

  private async insertAccount(
    input: { name: string; type: 'customer' | 'reseller'; resellerId?: string },
    now: number,
    akid: string,
    secret: string,
  ): Promise<AccountState> {
    let id = this.ids.accountId()
    while (this.accounts.has(id)) id = this.ids.accountId()
    const row: AccountRow = {
      id,
      name: input.name,
      type: input.type,
      ...(input.resellerId !== undefined ? { resellerId: input.resellerId } : {}),
      createdAt: now,
      allowlist: [],
      masterAccessKeyId: akid,
      masterSecret: seal(this.sealKey, secret, aadMaster(id)),
      secretVersion: 1,
    }
    await this.store
      .insertAccount(row)
      .catch(rethrowConflict(`Customer ${input.name} already exists`))
    const state = this.cacheAccount(row, secret)
    this.emit({ kind: 'account', id })
    return state
  }

  /** Create a customer or reseller account; the answer carries the new master key's secret once. */
  async createAccount(
    input: {
      readonly name: string
      readonly type: 'customer' | 'reseller'
      readonly resellerId?: string
    },
    now: number,
  ): Promise<{ account: AccountView; masterKey: NewKey }> {
    return this.exclusive(async () => {
      if (!ACCOUNT_NAME_RE.test(input.name)) {
        throw invalid(
          `Customer name must be 1-63 characters of [A-Za-z0-9._-], starting with a letter or digit`,
        )
      }
      if (this.accountsByName.has(input.name))
        throw new IamError('conflict', `Customer ${input.name} already exists`)
      if (input.resellerId !== undefined) {
        const r = this.accounts.get(input.resellerId)
        if (!r) throw new IamError('not-found', `No such reseller: ${input.resellerId}`)
        if (r.row.type !== 'reseller') throw invalid(`Customer ${r.row.name} is not a reseller`)
        if (input.type === 'reseller') throw invalid('A reseller cannot own another reseller')
      }
      const akid = this.newLongTermKeyId()
      const secret = this.ids.alnum(40)
      const state = await this.insertAccount({ ...input }, now, akid, secret)
      return {
        account: this.accountView(state),
        masterKey: { accessKeyId: akid, secretKey: secret },
      }
    })
  }

  private async setMasterKey(a: AccountState, akid: string, secret: string): Promise<void> {
    if (akid !== a.row.masterAccessKeyId && this.keyIndex.has(akid)) {
      throw new IamError('conflict', 'That access key id is already in use')
    }
    const row: AccountRow = {
      ...a.row,
      masterAccessKeyId: akid,
      masterSecret: seal(this.sealKey, secret, aadMaster(a.row.id)),
      secretVersion: a.row.secretVersion + 1,
    }
    await this.store.resetMasterSecret(row)
    this.cacheAccount(row, secret)
    this.dropSessionsWhere((e) => e.originKeyId === a.row.masterAccessKeyId)
    this.emit({ kind: 'account', id: a.row.id })
  }

  /**
   * New master secret (same access key id); the old secret and every session acting as the
   * account's root die now: those the key minted, and those a reseller minted for the account
   * (RSAssumeCustomerRole), whose liveness check names the secret version. The latter are also
   * revoked in the store here, which frees their slots in the reseller's quota at once.
   */
  async resetMasterKey(accountId: string): Promise<NewKey> {
    return this.exclusive(async () => {
      const a = this.mustAccount(accountId)
      const secret = this.ids.alnum(40)
      await this.setMasterKey(a, a.row.masterAccessKeyId, secret)
      const rows = await this.store.listActiveSessions({ accountId }, this.clock.now())
      await this.revokeStored(rows.filter(actsAsRoot))
      return { accessKeyId: a.row.masterAccessKeyId, secretKey: secret }
    })
  }

  /** Replace the account's address allow-list (CIDRs, canonicalised); [] = any address. */
  async setAllowlist(accountId: string, cidrs: readonly string[]): Promise<readonly string[]> {
    return this.exclusive(async () => {
      const a = this.mustAccount(accountId)
      if (cidrs.length > MAX_ALLOWLIST) throw invalid(`At most ${MAX_ALLOWLIST} CIDRs`)
      let list: string[]
      try {
        list = [...new Set(cidrs.map(normalizeCidr))]
      } catch (e) {
        throw invalid((e as Error).message)
      }
      const row: AccountRow = { ...a.row, allowlist: list }
      await this.store.updateAccount(row)
      this.cacheAccount(row, a.secret)
      this.emit({ kind: 'account', id: accountId })
      return list
    })
  }

  // ---------------------------------------------------------------------------------------------
  // Users

  private userView(u: UserState): UserView {
    const r = u.row
    return {
      id: r.id,
      accountId: r.accountId,
      accountName: this.accounts.get(r.accountId)?.row.name ?? '',
      username: r.username,
      role: r.role,
      isActive: r.isActive,
      ...(r.email !== undefined ? { email: r.email } : {}),
      ...(r.firstname !== undefined ? { firstname: r.firstname } : {}),
      ...(r.lastname !== undefined ? { lastname: r.lastname } : {}),
      createdAt: r.createdAt,
      ...(r.lastAccess !== undefined ? { lastAccess: r.lastAccess } : {}),
      ...(u.key ? { accessKeyId: u.key.row.accessKeyId } : {}),
      totpEnabled: r.totpSecret !== undefined,
      hasPolicy: r.policy !== undefined,
    }
  }

  private mustUser(id: string): UserState {
    const u = this.users.get(id)
    if (!u) throw new IamError('not-found', `No such user: ${id}`)
    return u
  }

  getUser(id: string): UserView | undefined {
    const u = this.users.get(id)
    return u ? this.userView(u) : undefined
  }

  /** Users of the given accounts (all accounts when omitted), oldest first. */
  listUsers(accountIds?: readonly string[]): readonly UserView[] {
    const allowed = accountIds ? new Set(accountIds) : undefined
    const out: UserView[] = []
    for (const u of this.users.values())
      if (!allowed || allowed.has(u.row.accountId)) out.push(this.userView(u))
    return out
  }

  async createUser(input: CreateUserInput, now: number): Promise<UserView> {
    return this.exclusive(async () => {
      this.mustAccount(input.accountId)
      if (!USERNAME_RE.test(input.username))
        throw invalid('username must be 1-64 characters of [A-Za-z0-9_+=,.@-]')
      if (!ROLES.includes(input.role)) throw invalid(`role must be one of ${ROLES.join(', ')}`)
      checkPassword(input.password)
      checkProfile(input)
      if (this.usersByName.has(`${input.accountId}/${input.username.toLowerCase()}`)) {
        throw new IamError('conflict', `User ${input.username} already exists`)
      }
      const row: UserRow = {
        id: 'AIDA' + this.ids.upperAlnum(16),
        accountId: input.accountId,
        username: input.username,
        passwordHash: await hashPassword(input.password, this.scryptN),
        role: input.role,
        isActive: true,
        ...(input.email !== undefined ? { email: input.email } : {}),
        ...(input.firstname !== undefined ? { firstname: input.firstname } : {}),
        ...(input.lastname !== undefined ? { lastname: input.lastname } : {}),
        createdAt: now,
      }
      await this.store
        .insertUser(row)
        .catch(rethrowConflict(`User ${input.username} already exists`))
      const u: UserState = { row }
      this.cacheUser(u)
      this.emit({ kind: 'user', id: row.id })
      return this.userView(u)
    })
  }

  async updateUser(id: string, patch: UpdateUserInput): Promise<UserView> {
    this.mustUser(id)
    if (patch.role !== undefined && !ROLES.includes(patch.role))
      throw invalid(`role must be one of ${ROLES.join(', ')}`)
    if (patch.password !== undefined) checkPassword(patch.password)
    checkProfile(patch)
    // Hash outside the lock (it is the slow part); everything else reads the current state.
    const hash =
      patch.password !== undefined ? await hashPassword(patch.password, this.scryptN) : undefined
    return this.exclusive(async () => {
      const u = this.mustUser(id)
      const next: Record<string, unknown> = { ...u.row }
      if (patch.role !== undefined) next['role'] = patch.role
      if (patch.isActive !== undefined) next['isActive'] = patch.isActive
      if (hash !== undefined) next['passwordHash'] = hash
      for (const f of ['email', 'firstname', 'lastname'] as const) {
        const v = patch[f]
        if (v === null) delete next[f]
        else if (v !== undefined) next[f] = v
      }
      const row = next as unknown as UserRow
      const deactivated = u.row.isActive && !row.isActive
      const demoted = u.row.role === 'SuperUser' && row.role !== 'SuperUser'
      await this.store.updateUser(row)
      if (deactivated) await this.store.revokeUserSessions(id)
      this.cacheUser({ ...u, row })
      if (deactivated) this.dropSessionsWhere((e) => e.userId === id)
      else if (demoted) await this.revokeActingElsewhere(u.row)
      this.emit({ kind: 'user', id })
      return this.getUser(id) as UserView
    })
  }

  /**
   * A SuperUser lost its role: revoke, for good, the sessions it minted that act in another
   * account (RSAssumeCustomerRole and sessions chained from them), which only a SuperUser may
   * mint. Their liveness check already refuses them; revoking the rows keeps a later promotion
   * from reviving them and frees their quota slots. Its other sessions act as the user and follow
   * its current role on every request.
   */
  private async revokeActingElsewhere(user: UserRow): Promise<void> {
    const rows = await this.store.listActiveSessions({ userId: user.id }, this.clock.now())
    await this.revokeStored(rows.filter((r) => r.accountId !== user.accountId))
  }

  /** Revoke these sessions now: cache entries, quota slots and rows. */
  private async revokeStored(rows: readonly SessionRow[]): Promise<void> {
    for (const r of rows) {
      const cached = this.sessions.get(r.accessKeyId)
      if (cached) cached.revoked = true
      this.quota.release(r.accessKeyId)
      await this.store.revokeSession(r.accessKeyId)
    }
  }

  async deleteUser(id: string): Promise<void> {
    return this.exclusive(async () => {
      const u = this.mustUser(id)
      await this.store.deleteUser(id)
      this.users.delete(id)
      this.usersByName.delete(`${u.row.accountId}/${u.row.username.toLowerCase()}`)
      if (u.key) this.keyIndex.delete(u.key.row.accessKeyId)
      this.totpUsed.delete(id)
      this.dropSessionsWhere((e) => e.userId === id)
      this.emit({ kind: 'user', id })
    })
  }

  /** A new access key for the user, replacing (and killing) any previous one. Secret shown once. */
  async generateKey(userId: string, now: number): Promise<NewKey> {
    return this.exclusive(async () => {
      const u = this.mustUser(userId)
      const accessKeyId = this.newLongTermKeyId()
      const secretKey = this.ids.alnum(40)
      const row: AccessKeyRow = {
        accessKeyId,
        userId,
        secret: seal(this.sealKey, secretKey, aadKey(accessKeyId)),
        createdAt: now,
      }
      const old = u.key?.row.accessKeyId
      await this.store.replaceAccessKey(userId, row)
      this.cacheUser({ ...u, key: { row, secret: secretKey } })
      if (old !== undefined) this.dropSessionsWhere((e) => e.originKeyId === old)
      this.emit({ kind: 'user', id: userId })
      return { accessKeyId, secretKey }
    })
  }

  /** Revoke the user's access key; false when it had none. */
  async revokeKey(userId: string): Promise<boolean> {
    return this.exclusive(async () => {
      const u = this.mustUser(userId)
      if (!u.key) return false
      const old = u.key.row.accessKeyId
      await this.store.replaceAccessKey(userId, undefined)
      const next: UserState = { row: u.row }
      this.cacheUser(next)
      this.keyIndex.delete(old)
      this.dropSessionsWhere((e) => e.originKeyId === old)
      this.emit({ kind: 'user', id: userId })
      return true
    })
  }

  /** Attach (replace) the user's extra IAM policy; IamError('invalid') naming the problem. */
  async putUserPolicy(userId: string, text: string): Promise<unknown> {
    return this.exclusive(async () => {
      const u = this.mustUser(userId)
      try {
        parsePolicy(text, { kind: 'identity', name: 'user-policy', source: 'identity' })
      } catch (e) {
        throw invalid(`MalformedPolicy: ${(e as Error).message}`)
      }
      const row: UserRow = { ...u.row, policy: text }
      await this.store.updateUser(row)
      this.cacheUser({ ...u, row })
      this.emit({ kind: 'user', id: userId })
      return JSON.parse(text) as unknown
    })
  }

  getUserPolicy(userId: string): string | undefined {
    return this.mustUser(userId).row.policy
  }

  async deleteUserPolicy(userId: string): Promise<boolean> {
    return this.exclusive(async () => {
      const u = this.mustUser(userId)
      if (u.row.policy === undefined) return false
      const { policy: _drop, ...rest } = u.row
      void _drop
      await this.store.updateUser(rest)
      this.cacheUser({ ...u, row: rest })
      this.emit({ kind: 'user', id: userId })
      return true
    })
  }

  // ---------------------------------------------------------------------------------------------
  // TOTP

  /** Enrol (or re-enrol) TOTP; from now on logins need a code. The secret is shown once. */
  async enrollTotp(userId: string): Promise<{ secret: string; otpauthUrl: string }> {
    return this.exclusive(async () => {
      const u = this.mustUser(userId)
      const secret = generateSecret()
      const row: UserRow = { ...u.row, totpSecret: seal(this.sealKey, secret, aadTotp(userId)) }
      await this.store.updateUser(row)
      this.cacheUser({ ...u, row })
      this.totpUsed.delete(userId)
      this.emit({ kind: 'user', id: userId })
      const account = this.accounts.get(u.row.accountId)?.row.name ?? ''
      const otpauthUrl = generateURI({
        issuer: 'Latchkey',
        label: `${account}:${u.row.username}`,
        secret,
      })
      return { secret, otpauthUrl }
    })
  }

  async deleteTotp(userId: string): Promise<boolean> {
    return this.exclusive(async () => {
      const u = this.mustUser(userId)
      if (u.row.totpSecret === undefined) return false
      const { totpSecret: _drop, ...rest } = u.row
      void _drop
      await this.store.updateUser(rest)
      this.cacheUser({ ...u, row: rest })
      this.emit({ kind: 'user', id: userId })
      return true
    })
  }

  /** Check a TOTP code (±1 step); a code's time step is accepted once per user. */
  verifyTotp(userId: string, code: string, now: number): boolean {
    const u = this.users.get(userId)
    if (!u?.row.totpSecret || !/^\d{6}$/.test(code)) return false
    const secret = unseal(this.sealKey, u.row.totpSecret, aadTotp(userId))
    const r = verifySync({ secret, token: code, epoch: Math.floor(now / 1000), epochTolerance: 30 })
    if (!r.valid) return false
    const step =
      'timeStep' in r && typeof r.timeStep === 'number' ? r.timeStep : Math.floor(now / 30_000)
    const last = this.totpUsed.get(userId)
    if (last !== undefined && step <= last) return false
    this.totpUsed.set(userId, step)
    return true
  }

  // ---------------------------------------------------------------------------------------------
  // Password logins

  /**
   * Reserve a login attempt on every throttle key before anything slow runs (throttle.ts): at the
   * limit this throws IamError('throttled') and nothing is checked.
   */
  private reserveLogin(keys: readonly string[], now: number): LoginAttempt {
    const r = this.throttle.reserve(keys, now)
    if (typeof r === 'number')
      throw new IamError('throttled', 'Too many failed logins; try again later', r)
    return r
  }

  /**
   * Run a login check under a reserved attempt: `check` answers whether the credentials are
   * right (throwing counts as a failure too). A success releases the reservation and forgets the
   * first key's (the user's) failures; a failure stays counted and answers the generic refusal.
   */
  private async throttledLogin(
    keys: readonly string[],
    now: number,
    check: () => Promise<boolean>,
  ): Promise<void> {
    const attempt = this.reserveLogin(keys, now)
    let ok = false
    try {
      ok = await check()
    } finally {
      if (ok) {
        attempt.succeed()
        this.throttle.reset(keys[0] as string)
      } else {
        attempt.fail(now)
      }
    }
    if (!ok) throw new IamError('unauthorized', 'Invalid credentials')
  }

  /**
   * A user's password (+ OTP) login, for RSLogin and the admin API. Every failure is the same
   * IamError('unauthorized', 'Invalid credentials'); 10 failures in 15 minutes per user or per
   * address → IamError('throttled', …, retryAfter), attempts still being checked included, so
   * parallel attempts cannot outrun the count. The principal has accessKeyId ''.
   */
  async authenticatePassword(input: LoginInput, now: number): Promise<UserPrincipal> {
    const customer = input.customer ?? 'default'
    const keys = [`u:${customer}/${input.username.toLowerCase()}`, `a:${input.address}`]
    let found: { u: UserState; account: AccountState } | undefined
    await this.throttledLogin(keys, now, async () => {
      const accountId = this.accountsByName.get(customer)
      const userId =
        accountId === undefined
          ? undefined
          : this.usersByName.get(`${accountId}/${input.username.toLowerCase()}`)
      const u = userId === undefined ? undefined : this.users.get(userId)
      const account = accountId === undefined ? undefined : this.accounts.get(accountId)
      if (!u || !account || input.password.length > MAX_PASSWORD_LENGTH) {
        await verifyAgainstDummy(input.password, this.scryptN)
        return false
      }
      if (!(await verifyPassword(input.password, u.row.passwordHash)) || !u.row.isActive)
        return false
      if (u.row.totpSecret !== undefined && !this.verifyTotp(u.row.id, input.otp ?? '', now))
        return false
      found = { u, account }
      return true
    })
    if (!found) throw new IamError('unauthorized', 'Invalid credentials')
    const { u, account } = found
    const row: UserRow = { ...u.row, lastAccess: now }
    await this.store.touchUser(u.row.id, now)
    u.row = row
    return this.userPrincipal(row, account, '')
  }

  /** Admin API login: the operator's root (no customer, its username) or a user. */
  async authenticateAdmin(input: LoginInput, now: number): Promise<AdminIdentity> {
    const op = this.operator
    if (input.customer === undefined && op && input.username === op.username) {
      await this.throttledLogin(
        [`o:${op.username}`, `a:${input.address}`],
        now,
        async () =>
          input.password.length <= MAX_PASSWORD_LENGTH &&
          (await verifyPassword(input.password, op.passwordHash)),
      )
      return { kind: 'operator', username: op.username }
    }
    return { kind: 'user', principal: await this.authenticatePassword(input, now) }
  }

  /** The operator's root username (admin JWT subjects are checked against it). */
  operatorName(): string | undefined {
    return this.operator?.username
  }

  // ---------------------------------------------------------------------------------------------
  // CredentialProvider

  async resolve(accessKeyId: string): Promise<ResolvedCredential | undefined> {
    const ref = this.keyIndex.get(accessKeyId)
    if (ref) {
      if (ref.kind === 'master') {
        const a = this.accounts.get(ref.accountId)
        return a && a.row.masterAccessKeyId === accessKeyId ? a.cred : undefined
      }
      const u = this.users.get(ref.userId)
      if (!u || !u.row.isActive || u.key?.row.accessKeyId !== accessKeyId) return undefined
      return u.cred
    }
    if (!SESSION_KEY_RE.test(accessKeyId)) return undefined
    // Cached sessions (the common case) are checked without awaiting anything.
    const e = this.sessions.get(accessKeyId) ?? (await this.sessionEntry(accessKeyId))
    if (!e || e.revoked) return undefined
    const live = this.aliveFromMemory(e)
    if (live === false || (live === undefined && !(await this.alive(e)))) {
      await this.kill(e)
      return undefined
    }
    return e.cred
  }

  checkSessionToken(cred: ResolvedCredential, token: string | undefined, now: number): TokenCheck {
    const given = token ?? ''
    if (!cred.session) return given === '' ? 'ok' : 'invalid'
    const e = this.sessionOf.get(cred)
    if (!e || e.revoked) return 'invalid'
    if (e.tokenHmac) {
      if (given === '') return 'missing'
      if (!given.startsWith(TOKEN_PREFIX) || given.length > 256) return 'invalid'
      const bytes = Buffer.from(given)
      const known = e.verifiedToken
      if (known === undefined || known.length !== bytes.length || !timingSafeEqual(known, bytes)) {
        const mac = hmacSha256(this.tokenKey, bytes)
        if (!timingSafeEqual(mac, e.tokenHmac)) return 'invalid'
        e.verifiedToken = bytes
      }
    } else if (given !== '') {
      return 'invalid'
    }
    return now >= e.row.expiresAt ? 'expired' : 'ok'
  }

  // ---------------------------------------------------------------------------------------------
  // PolicyProvider

  // Answers are shared, never copied per request (they are read-only): cacheUser rebuilds a
  // user's whenever the user changes, and a session's is rebuilt when its parent's changes.
  private userPolicies(userId: string): PrincipalPolicies {
    return this.users.get(userId)?.policies ?? NO_POLICIES
  }

  private parentPolicies(parent: ParentRef): PrincipalPolicies {
    return parent.kind === 'account-root' ? MASTER_POLICIES : this.userPolicies(parent.userId)
  }

  async policiesFor(p: KnownPrincipal): Promise<PrincipalPolicies> {
    switch (p.kind) {
      case 'account-root':
        return MASTER_POLICIES
      case 'user':
        return this.userPolicies(p.userId)
      case 'session': {
        const e = this.sessions.get(p.accessKeyId) ?? (await this.sessionEntry(p.accessKeyId))
        if (!e) return NO_POLICIES
        const parent = this.parentPolicies(e.parent)
        if (e.layers.length === 0) return parent
        const identity = parent.identity
        if (e.policies?.identity !== identity)
          e.policies = { identity, session: e.flat, sessionLayers: e.layers }
        return e.policies
      }
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Sessions

  private async sessionEntry(accessKeyId: string): Promise<SessionEntry | undefined> {
    const hit = this.sessions.get(accessKeyId)
    if (hit) return hit
    const row = await this.store.getSession(accessKeyId)
    if (!row) return undefined
    const e = await this.entryFromRow(row)
    if (e) this.sessions.set(accessKeyId, e)
    return e
  }

  private compileStored(text: string, index: number): CompiledPolicy {
    const key = `${String(index)}\u0000${text}`
    let p = this.compiled.get(key)
    if (p === undefined) {
      p = compileSessionPolicy(text, index)
      this.compiled.set(key, p)
    }
    return p
  }

  /**
   * A cache entry from a stored row (decrypts the secret, recompiles its own layers). A chained
   * row's inherited layers are its parent session's, loaded first (at most MAX_CHAIN_DEPTH links)
   * and shared, not copied; when the parent is gone the session is refused (never widened).
   */
  private async entryFromRow(row: SessionRow): Promise<SessionEntry | undefined> {
    if (!this.accounts.has(row.accountId)) return undefined
    let stored: StoredParent
    let secret: string
    let own: Layers
    let after: string | undefined
    try {
      stored = JSON.parse(row.parent) as StoredParent
      const decoded = decodeStoredLayers(row.policies)
      after = decoded.after
      own = decoded.layers.map((texts) => texts.map((t, i) => this.compileStored(t, i)))
      secret = unseal(this.sealKey, row.secret, aadSession(row.accessKeyId))
    } catch (err) {
      this.log.error(
        { accessKeyId: row.accessKeyId, err: (err as Error).message },
        'unreadable session; refusing it',
      )
      return undefined
    }
    let layers = own
    if (after !== undefined) {
      const from = after
      // A reference may only name an ancestor the session's liveness already depends on.
      const isAncestor = stored.checks.some((c) => c.kind === 'session' && c.accessKeyId === from)
      const p = isAncestor ? await this.sessionEntry(from) : undefined
      if (!p) {
        this.log.warn(
          { accessKeyId: row.accessKeyId, parent: from },
          'chained session whose parent session is gone; refusing it',
        )
        return undefined
      }
      layers = own.length > 0 ? [...p.layers, ...own] : p.layers
    }
    return this.makeEntry(row, stored, layers, secret)
  }

  private makeEntry(
    row: SessionRow,
    stored: StoredParent,
    layers: Layers,
    secret: string,
  ): SessionEntry | undefined {
    const account = this.accounts.get(row.accountId)
    if (!account) return undefined
    const principal: SessionPrincipal = {
      kind: 'session',
      accountId: row.accountId,
      accountName: account.row.name,
      accessKeyId: row.accessKeyId,
      sessionName: row.sessionName,
      parent: stored.parent,
      expiresAt: row.expiresAt,
      roleName: row.roleName,
      roleId: row.roleId,
      issuedAt: row.issuedAt,
      ...(stored.asParent === true ? { asParent: true as const } : {}),
    }
    const cred: ResolvedCredential = {
      accessKeyId: row.accessKeyId,
      secretKey: secret,
      secretVersion: 's1',
      principal,
      session: { expiresAt: row.expiresAt, requiresToken: row.tokenHmac !== undefined },
    }
    const e: SessionEntry = {
      row,
      parent: stored.parent,
      checks: stored.checks,
      ...(row.tokenHmac !== undefined ? { tokenHmac: Buffer.from(row.tokenHmac, 'hex') } : {}),
      layers,
      flat: layers.length === 1 ? (layers[0] as readonly CompiledPolicy[]) : layers.flat(),
      cred,
      revoked: row.revoked,
    }
    this.sessionOf.set(cred, e)
    return e
  }

  /**
   * `alive` without awaiting: the answer when every check can be made from memory, undefined when
   * a parent session of a role chain has to be loaded first.
   */
  private aliveFromMemory(e: SessionEntry, sessionsChecked = false): boolean | undefined {
    if (!this.accounts.has(e.row.accountId)) return false
    for (const c of e.checks) {
      switch (c.kind) {
        case 'root': {
          const a = this.accounts.get(c.accountId)
          if (!a || a.row.secretVersion !== c.version) return false
          break
        }
        case 'user': {
          const u = this.users.get(c.userId)
          if (!u || !u.row.isActive) return false
          if (c.accessKeyId !== undefined && u.key?.row.accessKeyId !== c.accessKeyId) return false
          if (c.role !== undefined && u.row.role !== c.role) return false
          break
        }
        case 'session': {
          if (sessionsChecked) break
          const p = this.sessions.get(c.accessKeyId)
          if (p === undefined) return undefined
          if (p.revoked) return false
          break
        }
      }
    }
    return true
  }

  /** Whether the session may still be used: every parent it depends on is still as it was. */
  private async alive(e: SessionEntry): Promise<boolean> {
    const live = this.aliveFromMemory(e)
    if (live !== undefined) return live
    for (const c of e.checks) {
      if (c.kind !== 'session') continue
      const p = await this.sessionEntry(c.accessKeyId)
      if (!p || p.revoked) return false
    }
    return this.aliveFromMemory(e, true) === true
  }

  private async kill(e: SessionEntry): Promise<void> {
    e.revoked = true
    this.quota.release(e.row.accessKeyId)
    try {
      await this.store.revokeSession(e.row.accessKeyId)
    } catch (err) {
      this.log.warn(
        { accessKeyId: e.row.accessKeyId, err: (err as Error).message },
        'could not persist session death',
      )
    }
  }

  /**
   * Mark matching sessions revoked in memory (cache entries and quota slots) after the store has
   * revoked their rows with the same predicate (by root user or by origin key).
   */
  private dropSessionsWhere(
    pred: (s: { readonly userId?: string; readonly originKeyId?: string }) => boolean,
  ): void {
    for (const e of this.sessions.values()) if (pred(e.row)) e.revoked = true
    this.quota.releaseWhere(pred)
  }

  async issue(req: SessionRequest, now: number): Promise<IssuedSession> {
    if (!Number.isInteger(req.durationSeconds) || req.durationSeconds <= 0) {
      throw invalid('DurationSeconds must be a positive integer')
    }
    if (req.sessionName === '') throw invalid('RoleSessionName must not be empty')
    const origin = await this.issuerContext(req.caller, now)
    let accountId = req.caller.accountId
    let parent = origin.parent
    const checks = [...origin.checks]
    if (req.actAs) {
      const target = this.accounts.get(req.actAs.accountId)
      if (!target) throw new IamError('not-found', `No such customer: ${req.actAs.accountId}`)
      accountId = target.row.id
      if (req.actAs.kind === 'account-root') {
        checks.push(...this.actAsRootChecks(req.caller, target))
        parent = {
          kind: 'account-root',
          accountId: target.row.id,
          accessKeyId: target.row.masterAccessKeyId,
        }
      } else {
        const u = this.users.get(req.actAs.userId)
        if (!u || u.row.accountId !== target.row.id)
          throw new IamError('not-found', `No such user: ${req.actAs.userId}`)
        parent = req.actAs
        checks.push({ kind: 'user', userId: u.row.id })
      }
    }
    // From here to the insert nothing awaits: the slot is reserved before any other issue runs.
    let accessKeyId = 'ASIA' + this.ids.upperAlnum(16)
    while (
      this.keyIndex.has(accessKeyId) ||
      this.quota.has(accessKeyId) ||
      this.sessions.get(accessKeyId)
    ) {
      accessKeyId = 'ASIA' + this.ids.upperAlnum(16)
    }
    const expiresAt = Math.min(now + req.durationSeconds * 1000, origin.maxExpiresAt)
    const slot: SlotInfo = {
      accessKeyId,
      quotaKey: origin.quotaKey,
      expiresAt,
      ...(origin.userId !== undefined ? { userId: origin.userId } : {}),
      ...(origin.originKeyId !== undefined ? { originKeyId: origin.originKeyId } : {}),
    }
    if (!this.quota.tryReserve(slot, now, this.maxSessionsPerParent)) {
      throw new IamError(
        'throttled',
        `Too many active sessions (limit ${this.maxSessionsPerParent}); revoke some or wait`,
        60,
      )
    }
    let e: SessionEntry | undefined
    let secretAccessKey: string
    let sessionToken: string
    try {
      secretAccessKey = this.ids.alnum(40)
      sessionToken = req.withToken ? TOKEN_PREFIX + this.random.base64url(32) : ''
      // Role chaining: the new policies become one more layer, intersected with the inherited
      // ones. In memory the inherited layers are the parent's own objects; the row stores only
      // the new layer and names the parent session (session-layers.ts).
      const own: Layers = req.policies.length > 0 ? [req.policies] : []
      const layers: Layers = own.length > 0 ? [...origin.layers, ...own] : origin.layers
      const stored: StoredParent =
        req.asCaller === true ? { parent, checks, asParent: true } : { parent, checks }
      const row: SessionRow = {
        accessKeyId,
        accountId,
        quotaKey: origin.quotaKey,
        ...(origin.userId !== undefined ? { userId: origin.userId } : {}),
        ...(origin.originKeyId !== undefined ? { originKeyId: origin.originKeyId } : {}),
        parent: JSON.stringify(stored),
        secret: seal(this.sealKey, secretAccessKey, aadSession(accessKeyId)),
        ...(req.withToken
          ? { tokenHmac: hmacSha256(this.tokenKey, sessionToken).toString('hex') }
          : {}),
        sessionName: req.sessionName,
        policies:
          origin.layersFrom !== undefined && origin.layers.length > 0
            ? encodeChainedLayers(origin.layersFrom, own)
            : encodeLayers(own),
        roleName: req.roleName,
        roleId: req.roleId,
        issuedAt: now,
        expiresAt,
        revoked: false,
      }
      e = this.makeEntry(row, stored, layers, secretAccessKey)
      if (!e) throw new Error('session could not be cached')
      await this.store.insertSession(row)
    } catch (err) {
      this.quota.release(accessKeyId)
      throw err
    }
    this.sessions.set(accessKeyId, e)
    this.emit({ kind: 'session', id: accessKeyId })
    return {
      accessKeyId,
      secretAccessKey,
      sessionToken,
      expiresAt,
      principal: e.cred.principal as SessionPrincipal,
    }
  }

  /**
   * RSAssumeCustomerRole: what a session acting as a customer's root depends on beyond its
   * caller's own chain. It dies with the customer's master key (a reset ends every session acting
   * as that root, not only those the key itself minted) and with the right to act that minted it:
   * a user caller must keep the role it had (SuperUser: a demotion kills the session; updateUser
   * also revokes it for good, so a promotion back does not revive it). The minting key or user
   * dying is already covered by the caller's checks.
   */
  private actAsRootChecks(caller: KnownPrincipal, target: AccountState): LivenessCheck[] {
    const own = this.accounts.get(caller.accountId)
    const mayAct =
      caller.kind === 'account-root' || (caller.kind === 'user' && caller.role === 'SuperUser')
    if (!mayAct || own?.row.type !== 'reseller' || target.row.resellerId !== own.row.id)
      throw new IamError('forbidden', 'Only a reseller account may act for its customers')
    const checks: LivenessCheck[] = [
      { kind: 'root', accountId: target.row.id, version: target.row.secretVersion },
    ]
    if (caller.kind === 'user') {
      const u = this.users.get(caller.userId)
      if (!u || u.row.role !== 'SuperUser') throw new IamError('unauthorized', 'Unknown caller')
      checks.push({ kind: 'user', userId: u.row.id, role: u.row.role })
    }
    return checks
  }

  /** Who pays for, and what bounds, a session the caller asks for. */
  private async issuerContext(
    caller: KnownPrincipal,
    now: number,
  ): Promise<{
    parent: ParentRef
    checks: LivenessCheck[]
    quotaKey: string
    userId?: string
    originKeyId?: string
    layers: Layers
    /** Role chaining: the calling session, whose layers `layers` are. */
    layersFrom?: string
    maxExpiresAt: number
  }> {
    switch (caller.kind) {
      case 'account-root': {
        const a = this.accounts.get(caller.accountId)
        if (!a || a.row.masterAccessKeyId !== caller.accessKeyId)
          throw new IamError('unauthorized', 'Unknown caller')
        return {
          parent: {
            kind: 'account-root',
            accountId: a.row.id,
            accessKeyId: a.row.masterAccessKeyId,
          },
          checks: [{ kind: 'root', accountId: a.row.id, version: a.row.secretVersion }],
          quotaKey: `root:${a.row.id}`,
          originKeyId: a.row.masterAccessKeyId,
          layers: [],
          maxExpiresAt: Number.POSITIVE_INFINITY,
        }
      }
      case 'user': {
        const u = this.users.get(caller.userId)
        if (!u || !u.row.isActive) throw new IamError('unauthorized', 'Unknown caller')
        const viaKey = caller.accessKeyId !== ''
        if (viaKey && u.key?.row.accessKeyId !== caller.accessKeyId)
          throw new IamError('unauthorized', 'Unknown caller')
        return {
          parent: {
            kind: 'user',
            accountId: u.row.accountId,
            userId: u.row.id,
            username: u.row.username,
            ...(viaKey ? { accessKeyId: caller.accessKeyId } : {}),
          },
          checks: [
            {
              kind: 'user',
              userId: u.row.id,
              ...(viaKey ? { accessKeyId: caller.accessKeyId } : {}),
            },
          ],
          quotaKey: `user:${u.row.id}`,
          userId: u.row.id,
          ...(viaKey ? { originKeyId: caller.accessKeyId } : {}),
          layers: [],
          maxExpiresAt: Number.POSITIVE_INFINITY,
        }
      }
      case 'session': {
        const e = await this.sessionEntry(caller.accessKeyId)
        if (!e || e.revoked || !(await this.alive(e)) || now >= e.row.expiresAt) {
          throw new IamError('unauthorized', 'Unknown or expired caller session')
        }
        const depth = chainDepth(e.checks)
        if (depth >= MAX_CHAIN_DEPTH) {
          throw new IamError(
            'forbidden',
            `User: ${principalArn(caller)} is not authorized to perform: sts:AssumeRole because its role chain is already ${depth} sessions long, the limit (${MAX_CHAIN_DEPTH}); assume from a session nearer the long-term key`,
          )
        }
        // Role chaining: the new session inherits every restriction and cannot outlive this one.
        return {
          parent: e.parent,
          checks: [...e.checks, { kind: 'session', accessKeyId: e.row.accessKeyId }],
          quotaKey: e.row.quotaKey,
          ...(e.row.userId !== undefined ? { userId: e.row.userId } : {}),
          ...(e.row.originKeyId !== undefined ? { originKeyId: e.row.originKeyId } : {}),
          layers: e.layers,
          layersFrom: e.row.accessKeyId,
          maxExpiresAt: e.row.expiresAt,
        }
      }
    }
  }

  async revoke(accessKeyId: string): Promise<boolean> {
    const cached = this.sessions.get(accessKeyId)
    if (cached) cached.revoked = true
    this.quota.release(accessKeyId)
    const ok = await this.store.revokeSession(accessKeyId)
    this.emit({ kind: 'session', id: accessKeyId })
    return ok
  }

  private sessionInfo(e: SessionEntry): SessionInfo {
    return {
      accessKeyId: e.row.accessKeyId,
      accountId: e.row.accountId,
      parent: e.parent,
      sessionName: e.row.sessionName,
      issuedAt: e.row.issuedAt,
      expiresAt: e.row.expiresAt,
      hasPolicy: e.layers.length > 0,
    }
  }

  /** One live session's listing entry (admin revoke checks visibility with it). */
  async getSession(accessKeyId: string, now: number): Promise<SessionInfo | undefined> {
    if (!SESSION_KEY_RE.test(accessKeyId)) return undefined
    const e = await this.sessionEntry(accessKeyId)
    if (!e || e.revoked || now >= e.row.expiresAt || !(await this.alive(e))) return undefined
    return this.sessionInfo(e)
  }

  async list(
    filter: { readonly accountId?: string; readonly userId?: string },
    now: number,
  ): Promise<readonly SessionInfo[]> {
    const rows = await this.store.listActiveSessions(filter, now)
    const out: SessionInfo[] = []
    for (const row of rows) {
      const e = this.sessions.get(row.accessKeyId) ?? (await this.entryFromRow(row))
      if (!e || e.revoked || !(await this.alive(e))) continue
      out.push(this.sessionInfo(e))
    }
    return out
  }

  /** Delete sessions expired more than the grace period ago; the number deleted. */
  async sweepExpiredSessions(now: number): Promise<number> {
    const before = now - EXPIRED_SESSION_GRACE_MS
    const n = await this.store.deleteExpiredSessions(before)
    for (const e of [...this.sessions.values()])
      if (e.row.expiresAt < before) this.sessions.delete(e.row.accessKeyId)
    this.quota.sweep(now)
    return n
  }

  /** Sweep periodically (timer unref'd); close() stops it. */
  startSweeper(intervalMs = 5 * 60_000): void {
    this.stopSweeper()
    this.sweeper = setInterval(() => {
      this.sweepExpiredSessions(this.clock.now()).catch((e: unknown) => {
        this.log.warn({ err: (e as Error).message }, 'session sweep failed')
      })
    }, intervalMs)
    this.sweeper.unref()
  }

  private stopSweeper(): void {
    if (this.sweeper) clearInterval(this.sweeper)
    this.sweeper = undefined
  }

  close(): void {
    this.stopSweeper()
    this.listeners.clear()
  }
}

const DENY_ALL = JSON.stringify({
  Version: '2012-10-17',
  Statement: [{ Sid: 'StoredPolicyUnreadable', Effect: 'Deny', Action: '*', Resource: '*' }],
})

/**
 * How many sessions long a session's chain is (1 = made from a long-term key or a login): each
 * chained link adds its parent session to the checks it inherits.
 */
function chainDepth(checks: readonly LivenessCheck[]): number {
  let n = 1
  for (const c of checks) if (c.kind === 'session') n++
  return n
}

/** Whether a stored session acts as its account's root (unreadable rows count as yes). */
function actsAsRoot(row: SessionRow): boolean {
  try {
    return (JSON.parse(row.parent) as StoredParent).parent.kind === 'account-root'
  } catch {
    return true
  }
}

function rethrowConflict(message: string): (e: unknown) => never {
  return (e: unknown) => {
    if (e instanceof StorageError && e.kind === 'conflict') throw new IamError('conflict', message)
    throw e
  }
}

function checkPassword(p: string): void {
  if (p.length < MIN_PASSWORD_LENGTH || p.length > MAX_PASSWORD_LENGTH) {
    throw invalid(`password must be ${MIN_PASSWORD_LENGTH}-${MAX_PASSWORD_LENGTH} characters`)
  }
}

function checkProfile(p: {
  email?: string | null
  firstname?: string | null
  lastname?: string | null
}): void {
  if (typeof p.email === 'string' && (p.email.length > 254 || !/^[^\s@]+@[^\s@]+$/.test(p.email))) {
    throw invalid('email is not a valid address')
  }
  for (const f of ['firstname', 'lastname'] as const) {
    const v = p[f]
    if (typeof v === 'string' && (v.length > 64 || /[\u0000-\u001f]/.test(v)))
      throw invalid(`${f} must be at most 64 printable characters`)
  }
}

function validateRootAccessKey(k: string): void {
  if (!/^[A-Za-z0-9_.+=-]{3,128}$/.test(k) || SESSION_KEY_RE.test(k)) {
    throw new Error(
      'LATCHKEY_ROOT_ACCESS_KEY: must be 3-128 characters of [A-Za-z0-9_.+=-] (not an ASIA… session id)',
    )
  }
}

function validateRootSecret(s: string): void {
  if (!/^[\x21-\x7e]{8,128}$/.test(s)) {
    throw new Error(
      'LATCHKEY_ROOT_SECRET_KEY: must be 8-128 printable ASCII characters without spaces',
    )
  }
}
