/**
 * IamService: the identity domain's facade. It builds the parts over an IdentityStore, a
 * ChangeFeed and SharedLimits, and exposes the API the surfaces use (CredentialProvider,
 * PolicyProvider, AccountDirectory, SessionService, plus the admin and STS operations).
 *
 * The parts, one per aggregate: directory.ts (read model of accounts, users, keys, operator),
 * accounts.ts, bootstrap.ts, users.ts, totp.ts, logins.ts (mutations and logins),
 * session-cache.ts + sessions.ts (temporary credentials), credentials.ts and policies.ts (the
 * per-request answers). The caches change only through the change feed the store publishes on
 * (common.ts says why); limits that must hold across nodes live in SharedLimits.
 * @module
 */
import { deriveKey, KEY_LABELS } from '../crypto/seal.js'
import type { Clock, IdSource } from '../lib/clock.js'
import type { Logger } from '../lib/logger.js'
import type { ChangeFeed } from '../storage/change-feed.js'
import type { IdentityStore } from '../storage/identity-store.js'
import type { SharedLimits } from '../storage/shared-limits.js'
import type { AuditSink } from '../storage/audit-log.js'
import { Accounts } from './accounts.js'
import { bootstrap, resetOperatorPassword } from './bootstrap.js'
import type { IamContext } from './common.js'
import { Credentials } from './credentials.js'
import { Directory } from './directory.js'
import { KeyUsage } from './key-usage.js'
import { Logins } from './logins.js'
import type {
  AdminIdentity,
  BootstrapOptions,
  BootstrapResult,
  KnownPrincipal,
  LoginInput,
  UserPrincipal,
} from './model.js'
import { DEFAULT_SCRYPT_N } from './password.js'
import { Policies } from './policies.js'
import { SessionCache } from './session-cache.js'
import { DEFAULT_ISSUE_RULE, Sessions } from './sessions.js'
import { Totp } from './totp.js'
import { IamError } from './types.js'
import type {
  AccountDirectory,
  AccountInfo,
  CredentialProvider,
  PolicyProvider,
  PrincipalPolicies,
  ResolvedCredential,
  SessionService,
  TokenCheck,
} from './types.js'
import { Users } from './users.js'

export { ROLES } from '../policy/roles.js'
export {
  ACCOUNT_NAME_RE,
  EXPIRED_SESSION_GRACE_MS,
  MAX_CHAIN_DEPTH,
  MIN_PASSWORD_LENGTH,
  SESSION_KEY_RE,
  USERNAME_RE,
} from './common.js'
export type * from './model.js'

export interface IamServiceOptions {
  /** Where identities live; it publishes every change on `changes`. */
  readonly store: IdentityStore
  /** The feed `store` publishes on: the only way the caches learn of changes. */
  readonly changes: ChangeFeed
  /** Session quota, login throttle and TOTP replay, shared by every node. */
  readonly limits: SharedLimits
  /** The 32-byte master encryption key (crypto/master-key.ts). */
  readonly masterKey: Buffer
  readonly clock: Clock
  readonly ids: IdSource
  readonly log: Logger
  readonly bootstrap?: BootstrapOptions
  /** Ceiling on sessions held per parent (default 1,000,000). */
  readonly maxSessionsPerParent?: number
  /** Sessions issued per second per parent (token bucket refill; default 600). */
  readonly stsIssueRate?: number
  /** Issuance token bucket size per parent (default 1200). */
  readonly stsIssueBurst?: number
  /** Sessions kept in memory (default 100,000). */
  readonly sessionCacheSize?: number
  /** scrypt N for new password hashes (default 16384). Only tests should lower it. */
  readonly scryptN?: number
  /** Where login successes and failures are recorded (the audit trail); none by default. */
  readonly audit?: AuditSink
}

export class IamService
  implements CredentialProvider, PolicyProvider, AccountDirectory, SessionService
{
  readonly directory: Directory
  readonly accounts: Accounts
  readonly users: Users
  readonly totp: Totp
  readonly logins: Logins
  readonly sessions: Sessions
  readonly credentials: Credentials
  readonly policies: Policies
  /** When access keys were last used (key-usage.ts). */
  readonly keyUsage: KeyUsage
  private readonly ctx: IamContext
  private readonly unsubscribe: (() => void)[]
  private readonly auditSink: AuditSink | undefined

  private constructor(o: IamServiceOptions) {
    const { store, changes, limits, clock, ids, log } = o
    const sealKey = deriveKey(o.masterKey, KEY_LABELS.seal)
    const tokenKey = deriveKey(o.masterKey, KEY_LABELS.sessionToken)
    const sessionSecretKey = deriveKey(o.masterKey, KEY_LABELS.sessionSecret)
    const scryptN = o.scryptN ?? DEFAULT_SCRYPT_N
    const dir = new Directory(store, sealKey, log)
    const ctx: IamContext = {
      store,
      changes,
      limits,
      dir,
      sealKey,
      sessionSecretKey,
      tokenKey,
      clock,
      ids,
      log,
      scryptN,
    }
    const cache = new SessionCache(ctx, o.sessionCacheSize ?? 100_000)
    this.ctx = ctx
    this.auditSink = o.audit
    this.directory = dir
    this.accounts = new Accounts(ctx)
    this.users = new Users(ctx)
    this.totp = new Totp(ctx)
    this.logins = new Logins(ctx, this.totp)
    this.sessions = new Sessions(ctx, cache, {
      rate: o.stsIssueRate ?? DEFAULT_ISSUE_RULE.rate,
      burst: o.stsIssueBurst ?? DEFAULT_ISSUE_RULE.burst,
      maxActive: o.maxSessionsPerParent ?? DEFAULT_ISSUE_RULE.maxActive,
    })
    this.credentials = new Credentials(ctx, cache)
    this.policies = new Policies(dir, cache)
    this.keyUsage = new KeyUsage(store, log)
    this.unsubscribe = [
      dir.follow(o.changes),
      cache.follow(o.changes),
      this.sessions.follow(o.changes),
    ]
  }

  /**
   * Load the directory and, at first start, create the `default` account and the operator.
   * Returns what was generated and not yet shown, for the caller to show once the server is up
   * (then firstStartSecretsShown()). Throws a clear Error when stored secrets do not open with
   * this master key.
   */
  static async open(
    o: IamServiceOptions,
  ): Promise<{ iam: IamService; generated: BootstrapResult }> {
    const iam = new IamService(o)
    try {
      await iam.directory.load()
      await iam.sessions.loadLimits()
      const generated = await bootstrap(iam.ctx, iam.accounts, o.bootstrap ?? {})
      return { iam, generated }
    } catch (e) {
      iam.close()
      throw e
    }
  }

  /** Offline recovery (`latchkey admin reset-root-password`): see bootstrap.ts. */
  static resetOperatorPassword = resetOperatorPassword

  /** The first-start secrets open() returned have reached the operator: forget them. */
  firstStartSecretsShown = () => this.ctx.store.deletePendingSecrets()

  // Per-request answers: prototype methods, not arrow fields (measured: one inlinable call).
  resolve(
    accessKeyId: string,
  ): ResolvedCredential | undefined | Promise<ResolvedCredential | undefined> {
    return this.credentials.resolve(accessKeyId)
  }
  checkSessionToken(cred: ResolvedCredential, token: string | undefined, now: number): TokenCheck {
    return this.credentials.checkSessionToken(cred, token, now)
  }
  policiesFor(p: KnownPrincipal): PrincipalPolicies | Promise<PrincipalPolicies> {
    return this.policies.policiesFor(p)
  }
  byId(id: string): AccountInfo | undefined {
    return this.directory.byId(id)
  }
  byName(name: string): AccountInfo | undefined {
    return this.directory.byName(name)
  }
  byCanonicalId(canonicalId: string): AccountInfo | undefined {
    return this.directory.byCanonicalId(canonicalId)
  }
  addressAllowed(accountId: string, address: string): boolean {
    return this.directory.addressAllowed(accountId, address)
  }

  // Accounts.
  listAccounts: Directory['listAccounts'] = () => this.directory.listAccounts()
  getAccount: Directory['getAccount'] = (id) => this.directory.getAccount(id)
  createAccount: Accounts['create'] = (input, now) => this.accounts.create(input, now)
  resetMasterKey: Accounts['resetMasterKey'] = (id) => this.accounts.resetMasterKey(id)
  setAllowlist: Accounts['setAllowlist'] = (id, cidrs) => this.accounts.setAllowlist(id, cidrs)

  // Users, keys, policies, TOTP.
  getUser: Directory['getUser'] = (id) => this.directory.getUser(id)
  listUsers: Directory['listUsers'] = (ids) => this.directory.listUsers(ids)
  createUser: Users['create'] = (input, now) => this.users.create(input, now)
  updateUser: Users['update'] = (id, patch, opts) => this.users.update(id, patch, opts)
  deleteUser: Users['delete'] = (id) => this.users.delete(id)
  generateKey: Users['generateKey'] = (id, now) => this.users.generateKey(id, now)
  revokeKey: Users['revokeKey'] = (id) => this.users.revokeKey(id)
  putUserPolicy: Users['putPolicy'] = (id, text) => this.users.putPolicy(id, text)
  getUserPolicy: Users['getPolicy'] = (id) => this.users.getPolicy(id)
  deleteUserPolicy: Users['deletePolicy'] = (id) => this.users.deletePolicy(id)
  enrollTotp: Totp['enroll'] = (id) => this.totp.enroll(id)
  deleteTotp: Totp['remove'] = (id) => this.totp.remove(id)
  verifyTotp: Totp['verify'] = (id, code, now) => this.totp.verify(id, code, now)

  // Logins.
  authenticatePassword: Logins['authenticatePassword'] = (input, now) =>
    this.audited('sts', input, now, () => this.logins.authenticatePassword(input, now))
  authenticateAdmin: Logins['authenticateAdmin'] = (input, now) =>
    this.audited('admin', input, now, () => this.logins.authenticateAdmin(input, now))

  /**
   * A password login, recorded in the audit trail either way: who tried (customer and user
   * name), from where, and why it failed (the error's code: unauthorized, throttled, …). Never
   * the password or the one-time code.
   */
  private async audited<T extends UserPrincipal | AdminIdentity>(
    surface: 'sts' | 'admin',
    input: LoginInput,
    now: number,
    fn: () => Promise<T>,
  ): Promise<T> {
    const audit = this.auditSink
    if (audit === undefined) return fn()
    const customer = input.customer ?? 'default'
    const base = {
      at: now,
      kind: 'login' as const,
      action: surface === 'sts' ? 'sts:RSLogin' : 'admin:Login',
      principal: input.username,
      source: input.address,
    }
    try {
      const who = await fn()
      const p = 'kind' in who && who.kind === 'operator' ? undefined : principalOf(who)
      audit.record(
        Object.assign(
          {},
          base,
          p !== undefined ? { accountId: p.accountId, principal: p.username } : {},
          {
            decision: 'allow' as const,
            detail: { customer: p?.accountName ?? input.customer ?? 'operator' },
          },
        ),
      )
      return who
    } catch (e) {
      const accountId = this.directory.accountIdByName(customer)
      audit.record(
        Object.assign({}, base, accountId !== undefined ? { accountId } : {}, {
          decision: 'deny' as const,
          reason: e instanceof IamError ? e.code : 'error',
          detail: { customer },
        }),
      )
      throw e
    }
  }
  /**
   * Re-check a signed-in caller's own password (and one-time code) before a sensitive step (the
   * console's master-key reveal, a password change): throttled as logins are, throws the same
   * IamErrors; not recorded as a login (the step records itself).
   */
  async confirmPassword(
    who: { readonly kind: 'operator' } | { readonly kind: 'user'; readonly userId: string },
    input: {
      readonly password: string
      readonly otp?: string
      readonly address: string
      /** Do not ask for the code (a password change by a caller signed in with it). */
      readonly passwordOnly?: boolean
    },
    now: number,
  ): Promise<void> {
    const otp = input.otp !== undefined ? { otp: input.otp } : {}
    if (who.kind === 'operator') {
      const username = this.operatorName()
      if (username === undefined) throw new IamError('unauthorized', 'Invalid credentials')
      const r = await this.logins.authenticateAdmin({ username, ...input, ...otp }, now)
      if (r.kind !== 'operator') throw new IamError('unauthorized', 'Invalid credentials')
      return
    }
    const u = this.directory.getUser(who.userId)
    if (u === undefined) throw new IamError('unauthorized', 'Invalid credentials')
    const p = await this.logins.authenticatePassword(
      { customer: u.accountName, username: u.username, ...input, ...otp, otpPrompt: true },
      now,
    )
    if (p.userId !== u.id) throw new IamError('unauthorized', 'Invalid credentials')
  }

  /** A request signed with a long-term key was served (after the answer; key-usage.ts). */
  noteKeyUsed(accessKeyId: string, now: number): void {
    this.keyUsage.note(accessKeyId, now)
  }
  /** When each access key was last used, by access key id (never used: absent). */
  keysLastUsed(): Promise<ReadonlyMap<string, number>> {
    return this.keyUsage.lastUsed()
  }

  /** An account's master secret in clear (the console's audited reveal); undefined: no account. */
  masterSecret(accountId: string): string | undefined {
    return this.directory.account(accountId)?.secret
  }

  /** The operator's root username (admin JWT subjects are checked against it). */
  operatorName = (): string | undefined => this.directory.operator?.username

  // Sessions (SessionService).
  issue: Sessions['issue'] = (req, now) => this.sessions.issue(req, now)
  revoke: Sessions['revoke'] = (id) => this.sessions.revoke(id)
  revokeAll: Sessions['revokeAll'] = (filter) => this.sessions.revokeAll(filter)
  getSession: Sessions['get'] = (id, now) => this.sessions.get(id, now)
  list: Sessions['list'] = (filter, now, page) => this.sessions.list(filter, now, page)
  stsLimits: Sessions['limits'] = (accountId) => this.sessions.limits(accountId)
  setStsLimits: Sessions['setLimits'] = (accountId, o) => this.sessions.setLimits(accountId, o)
  sweepExpiredSessions: Sessions['sweep'] = (now) => this.sessions.sweep(now)

  /** Stop following the change feed (the stores are closed by their owner). */
  close(): void {
    for (const u of this.unsubscribe.splice(0)) u()
  }
}

/** The user principal behind a login's answer. */
function principalOf(who: UserPrincipal | AdminIdentity): UserPrincipal | undefined {
  if ('principal' in who) return who.principal
  return who.kind === 'user' ? who : undefined
}
