/**
 * The directory: the read model of accounts, users, long-term keys and the operator, in memory.
 * `resolve(accessKeyId)` and `policiesFor` run on every request, so their answers come from here
 * without a store round trip, with secrets unsealed and policies compiled once per change.
 *
 * Why it is kept fresh only by the change feed: it loads everything at open, and afterwards
 * changes only when the feed says a row changed ({kind:'account'|'user'|'operator'}); it then
 * re-reads that row from the IdentityStore. No mutation writes here. So a change made by this
 * process, by another node sharing the store, or through the store behind the service's back
 * reaches the cache the same way; `resync` (the feed may have missed changes) reloads it all.
 * Reloads of one row may overlap: only the newest change's read is applied.
 * @module
 */
import type { Logger } from '../lib/logger.js'
import type { IdSource } from '../lib/clock.js'
import { unseal } from '../crypto/seal.js'
import { parsePolicy, type CompiledPolicy } from '../policy/document.js'
import { rolePolicy } from '../policy/presets.js'
import type { Change, ChangeFeed } from '../storage/change-feed.js'
import type {
  AccessKeyRow,
  AccountRow,
  IdentityStore,
  OperatorRow,
  UserRow,
} from '../storage/identity-store.js'
import { AddressAllowlist } from './allowlist.js'
import { aadKey, aadMaster, canonicalIdOf } from './labels.js'
import type {
  AccountState,
  AccountView,
  KeyRef,
  UserPrincipal,
  UserState,
  UserView,
} from './model.js'
import type { AccountDirectory, AccountInfo, ResolvedCredential } from './types.js'

const DENY_ALL = JSON.stringify({
  Version: '2012-10-17',
  Statement: [{ Sid: 'StoredPolicyUnreadable', Effect: 'Deny', Action: '*', Resource: '*' }],
})

function decryptError(e: unknown): Error {
  return new Error(
    `cannot decrypt stored secrets (${(e as Error).message}): is LATCHKEY_MASTER_KEY / master.key the one this data dir was created with?`,
  )
}

const nameKey = (accountId: string, username: string) => `${accountId}/${username.toLowerCase()}`

export class Directory implements AccountDirectory {
  private accounts = new Map<string, AccountState>()
  private accountsByName = new Map<string, string>()
  /** Canonical user id (S3 Owner ID, ACL grantee) → account id. */
  private accountsByCanonicalId = new Map<string, string>()
  private users = new Map<string, UserState>()
  /** `${accountId}/${lower(username)}` → user id */
  private usersByName = new Map<string, string>()
  private keyIndex = new Map<string, KeyRef>()
  private op: OperatorRow | undefined
  /** Row → sequence number of the newest change being applied to it. */
  private readonly newest = new Map<string, number>()

  private readonly store: IdentityStore
  private readonly sealKey: Buffer
  private readonly log: Logger

  constructor(store: IdentityStore, sealKey: Buffer, log: Logger) {
    this.store = store
    this.sealKey = sealKey
    this.log = log
  }

  /** Apply the feed's changes from now on; returns unsubscribe. */
  follow(changes: ChangeFeed): () => void {
    return changes.subscribe({
      change: (c, seq) => this.apply(c, seq),
      resync: () => this.load(),
    })
  }

  private apply(c: Change, seq: number): Promise<void> | undefined {
    switch (c.kind) {
      case 'account':
        return this.reload(`a:${c.id}`, seq, () => this.reloadAccount(c.id))
      case 'user':
        return this.reload(`u:${c.id}`, seq, () => this.reloadUser(c.id))
      case 'operator':
        return this.reload('operator', seq, async () => {
          const op = await this.store.getOperator()
          return () => void (this.op = op)
        })
      default:
        return undefined
    }
  }

  /** Read, then apply unless a newer change of the same row started reading meanwhile. */
  private async reload(key: string, seq: number, read: () => Promise<() => void>): Promise<void> {
    this.newest.set(key, seq)
    const applyIt = await read()
    if (this.newest.get(key) !== seq) return
    this.newest.delete(key)
    applyIt()
  }

  /** (Re)load everything from the store (at open, and on resync). */
  async load(): Promise<void> {
    const snap = await this.store.loadAll()
    const fresh = new Directory(this.store, this.sealKey, this.log)
    try {
      for (const a of snap.accounts)
        fresh.cacheAccount(a, unseal(this.sealKey, a.masterSecret, aadMaster(a.id)))
      const keys = new Map(snap.keys.map((k) => [k.userId, k]))
      for (const u of snap.users) fresh.cacheUser(u, fresh.openKey(keys.get(u.id), undefined))
    } catch (e) {
      throw decryptError(e)
    }
    this.accounts = fresh.accounts
    this.accountsByName = fresh.accountsByName
    this.accountsByCanonicalId = fresh.accountsByCanonicalId
    this.users = fresh.users
    this.usersByName = fresh.usersByName
    this.keyIndex = fresh.keyIndex
    this.op = snap.operator
  }

  private async reloadAccount(id: string): Promise<() => void> {
    const row = await this.store.getAccount(id)
    return () => {
      const old = this.accounts.get(id)
      if (row === undefined) {
        if (old) this.dropAccount(old)
        return
      }
      const secret =
        old?.row.masterSecret === row.masterSecret
          ? old.secret
          : unseal(this.sealKey, row.masterSecret, aadMaster(row.id))
      this.cacheAccount(row, secret)
    }
  }

  private async reloadUser(id: string): Promise<() => void> {
    const row = await this.store.getUser(id)
    const key = row === undefined ? undefined : await this.store.getAccessKey(id)
    return () => {
      const old = this.users.get(id)
      if (row === undefined) {
        if (old) this.dropUser(old)
        return
      }
      this.cacheUser(row, this.openKey(key, old))
    }
  }

  private openKey(
    key: AccessKeyRow | undefined,
    old: UserState | undefined,
  ): UserState['key'] | undefined {
    if (key === undefined) return undefined
    if (
      old?.key &&
      old.key.row.accessKeyId === key.accessKeyId &&
      old.key.row.secret === key.secret
    )
      return old.key
    return { row: key, secret: unseal(this.sealKey, key.secret, aadKey(key.accessKeyId)) }
  }

  private dropAccount(a: AccountState): void {
    this.accounts.delete(a.row.id)
    this.accountsByName.delete(a.row.name)
    this.accountsByCanonicalId.delete(a.info.canonicalId)
    this.keyIndex.delete(a.row.masterAccessKeyId)
  }

  private dropUser(u: UserState): void {
    this.users.delete(u.row.id)
    this.usersByName.delete(nameKey(u.row.accountId, u.row.username))
    if (u.key) this.keyIndex.delete(u.key.row.accessKeyId)
  }

  private cacheAccount(row: AccountRow, secret: string): void {
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
    this.accounts.set(row.id, {
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
    })
    this.accountsByName.set(row.name, row.id)
    this.accountsByCanonicalId.set(info.canonicalId, row.id)
    this.keyIndex.set(row.masterAccessKeyId, { kind: 'master', accountId: row.id })
  }

  /** (Re)build a user's cached credential and compiled policies. */
  private cacheUser(row: UserRow, key: UserState['key'] | undefined): void {
    const old = this.users.get(row.id)
    if (old?.key && old.key.row.accessKeyId !== key?.row.accessKeyId)
      this.keyIndex.delete(old.key.row.accessKeyId)
    if (old && old.row.username !== row.username)
      this.usersByName.delete(nameKey(old.row.accountId, old.row.username))
    const account = this.accounts.get(row.accountId)
    const policy = row.policy === undefined ? undefined : this.compileUserPolicy(row)
    const state: UserState = {
      row,
      ...(key ? { key } : {}),
      ...(key && account
        ? {
            cred: {
              accessKeyId: key.row.accessKeyId,
              secretKey: key.secret,
              secretVersion: 'k1',
              principal: this.userPrincipal(row, account, key.row.accessKeyId),
            },
          }
        : {}),
      policies: { identity: policy ? [rolePolicy(row.role), policy] : [rolePolicy(row.role)] },
    }
    if (key && account) this.keyIndex.set(key.row.accessKeyId, { kind: 'user', userId: row.id })
    this.users.set(row.id, state)
    this.usersByName.set(nameKey(row.accountId, row.username), row.id)
  }

  private compileUserPolicy(row: UserRow): CompiledPolicy {
    const as = { kind: 'identity', name: 'user-policy', source: 'identity' } as const
    try {
      return parsePolicy(row.policy as string, as)
    } catch (e) {
      // Stored policies were validated on the way in; if one no longer parses, fail closed.
      this.log.error(
        { userId: row.id, err: (e as Error).message },
        'stored user policy does not parse; denying',
      )
      return parsePolicy(DENY_ALL, as)
    }
  }

  userPrincipal(row: UserRow, account: AccountState, accessKeyId: string): UserPrincipal {
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

  // Lookups ---------------------------------------------------------------------------------

  account(id: string): AccountState | undefined {
    return this.accounts.get(id)
  }

  accountIdByName(name: string): string | undefined {
    return this.accountsByName.get(name)
  }

  user(id: string): UserState | undefined {
    return this.users.get(id)
  }

  userByName(accountId: string, username: string): UserState | undefined {
    const id = this.usersByName.get(nameKey(accountId, username))
    return id === undefined ? undefined : this.users.get(id)
  }

  /**
   * The live credential of a long-term key (master or user key): undefined when the key is known
   * but dead (inactive user, replaced), null when it is not a long-term key at all.
   */
  longTermCredential(accessKeyId: string): ResolvedCredential | undefined | null {
    const ref = this.keyIndex.get(accessKeyId)
    if (ref === undefined) return null
    if (ref.kind === 'master') {
      const a = this.accounts.get(ref.accountId)
      return a && a.row.masterAccessKeyId === accessKeyId ? a.cred : undefined
    }
    const u = this.users.get(ref.userId)
    if (!u || !u.row.isActive || u.key?.row.accessKeyId !== accessKeyId) return undefined
    return u.cred
  }

  keyRef(accessKeyId: string): KeyRef | undefined {
    return this.keyIndex.get(accessKeyId)
  }

  get operator(): OperatorRow | undefined {
    return this.op
  }

  /** A fresh long-term access key id (S4AK…), unused by any account or user. */
  newLongTermKeyId(ids: IdSource): string {
    for (;;) {
      const id = 'S4AK' + ids.alnum(20)
      if (!this.keyIndex.has(id)) return id
    }
  }

  // AccountDirectory and list views -----------------------------------------------------------

  byId(id: string): AccountInfo | undefined {
    return this.accounts.get(id)?.info
  }

  byName(name: string): AccountInfo | undefined {
    const id = this.accountsByName.get(name)
    return id === undefined ? undefined : this.accounts.get(id)?.info
  }

  byCanonicalId(canonicalId: string): AccountInfo | undefined {
    const id = this.accountsByCanonicalId.get(canonicalId)
    return id === undefined ? undefined : this.accounts.get(id)?.info
  }

  addressAllowed(accountId: string, address: string): boolean {
    const a = this.accounts.get(accountId)
    return a ? a.allow.allows(address) : false
  }

  accountView(a: AccountState): AccountView {
    return Object.assign({}, a.info, {
      createdAt: a.row.createdAt,
      masterAccessKeyId: a.row.masterAccessKeyId,
    })
  }

  listAccounts(): readonly AccountView[] {
    return [...this.accounts.values()].map((a) => this.accountView(a))
  }

  getAccount(id: string): AccountView | undefined {
    const a = this.accounts.get(id)
    return a ? this.accountView(a) : undefined
  }

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
      ...(u.key
        ? { accessKeyId: u.key.row.accessKeyId, accessKeyCreatedAt: u.key.row.createdAt }
        : {}),
      totpEnabled: r.totpSecret !== undefined,
      hasPolicy: r.policy !== undefined,
    }
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
}
