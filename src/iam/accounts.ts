/**
 * Accounts: creating customers and resellers, setting and resetting master keys, allow-lists.
 * Every change is written to the store (compare-and-set on the account row's version) and
 * reaches the directory through the change feed (common.ts `settle`); nothing here edits a cache.
 * @module
 */
import { seal } from '../crypto/seal.js'
import type { AccountRow } from '../storage/identity-store.js'
import { normalizeCidr } from './allowlist.js'
import {
  aadMaster,
  ACCOUNT_NAME_RE,
  invalid,
  MAX_ALLOWLIST,
  patchAccount,
  rethrowConflict,
  revokeWhere,
  settle,
  type IamContext,
} from './common.js'
import type { AccountView, NewKey } from './model.js'
import { IamError } from './types.js'

/** Whether a stored session acts as its account's root (unreadable rows count as yes). */
function actsAsRoot(parent: string): boolean {
  try {
    return (JSON.parse(parent) as { parent: { kind: string } }).parent.kind === 'account-root'
  } catch {
    return true
  }
}

export class Accounts {
  private readonly ctx: IamContext

  constructor(ctx: IamContext) {
    this.ctx = ctx
  }

  private mustExist(id: string): void {
    if (!this.ctx.dir.account(id)) throw new IamError('not-found', `No such customer: ${id}`)
  }

  /** Insert an account with this master key; the directory has it when this returns. */
  async insert(
    input: { name: string; type: 'customer' | 'reseller'; resellerId?: string },
    now: number,
    akid: string,
    secret: string,
  ): Promise<AccountView> {
    const { ctx } = this
    let id = ctx.ids.accountId()
    while (ctx.dir.account(id)) id = ctx.ids.accountId()
    const row: AccountRow = {
      id,
      name: input.name,
      type: input.type,
      ...(input.resellerId !== undefined ? { resellerId: input.resellerId } : {}),
      createdAt: now,
      allowlist: [],
      masterAccessKeyId: akid,
      masterSecret: seal(ctx.sealKey, secret, aadMaster(id)),
      secretVersion: 1,
      version: 0,
    }
    await ctx.store
      .insertAccount(row)
      .catch(rethrowConflict(`Customer ${input.name} already exists`))
    await settle(ctx)
    const state = ctx.dir.account(id)
    if (!state) throw new Error(`account ${id} not visible after insert`)
    return ctx.dir.accountView(state)
  }

  /** Create a customer or reseller account; the answer carries the new master key's secret once. */
  async create(
    input: {
      readonly name: string
      readonly type: 'customer' | 'reseller'
      readonly resellerId?: string
    },
    now: number,
  ): Promise<{ account: AccountView; masterKey: NewKey }> {
    const { dir } = this.ctx
    if (!ACCOUNT_NAME_RE.test(input.name)) {
      throw invalid(
        `Customer name must be 1-63 characters of [A-Za-z0-9._-], starting with a letter or digit`,
      )
    }
    if (dir.accountIdByName(input.name) !== undefined)
      throw new IamError('conflict', `Customer ${input.name} already exists`)
    if (input.resellerId !== undefined) {
      const r = dir.account(input.resellerId)
      if (!r) throw new IamError('not-found', `No such reseller: ${input.resellerId}`)
      if (r.row.type !== 'reseller') throw invalid(`Customer ${r.row.name} is not a reseller`)
      if (input.type === 'reseller') throw invalid('A reseller cannot own another reseller')
    }
    const akid = dir.newLongTermKeyId(this.ctx.ids)
    const secret = this.ctx.ids.alnum(40)
    const account = await this.insert({ ...input }, now, akid, secret)
    return { account, masterKey: { accessKeyId: akid, secretKey: secret } }
  }

  /**
   * Replace the master key (id and secret); the store revokes the sessions the previous key made,
   * atomically, and the feed kills them in every cache. `akid` undefined keeps the current id.
   */
  async setMasterKey(accountId: string, akid: string | undefined, secret: string): Promise<string> {
    const { ctx } = this
    const done = await patchAccount(
      ctx,
      accountId,
      (row, v) => ctx.store.resetMasterSecret(row, v),
      (cur) => {
        const id = akid ?? cur.masterAccessKeyId
        if (id !== cur.masterAccessKeyId && ctx.dir.keyRef(id) !== undefined)
          throw new IamError('conflict', 'That access key id is already in use')
        return Object.assign({}, cur, {
          masterAccessKeyId: id,
          masterSecret: seal(ctx.sealKey, secret, aadMaster(accountId)),
          secretVersion: cur.secretVersion + 1,
        })
      },
    )
    await settle(ctx)
    return (done?.after.masterAccessKeyId ?? akid) as string
  }

  /**
   * New master secret (same access key id); the old secret and every session acting as the
   * account's root die now: those the key minted, and those a reseller minted for the account
   * (RSAssumeCustomerRole), whose liveness check names the secret version. The latter are also
   * revoked in the store here, so the next sweep frees them from the reseller's held count.
   */
  /** A new master secret; `sessionsRevoked`: the live sessions acting as the root that died. */
  async resetMasterKey(accountId: string): Promise<NewKey & { readonly sessionsRevoked: number }> {
    this.mustExist(accountId)
    const secret = this.ctx.ids.alnum(40)
    // Counted before: the store revokes the old key's own sessions with the reset itself.
    const live = await this.ctx.store.listActiveSessions({ accountId }, this.ctx.clock.now())
    const sessionsRevoked = live.filter((r) => actsAsRoot(r.parent)).length
    const accessKeyId = await this.setMasterKey(accountId, undefined, secret)
    await revokeWhere(this.ctx, { accountId }, (r) => actsAsRoot(r.parent))
    await settle(this.ctx)
    return { accessKeyId, secretKey: secret, sessionsRevoked }
  }

  /** Replace the account's address allow-list (CIDRs, canonicalised); [] = any address. */
  async setAllowlist(accountId: string, cidrs: readonly string[]): Promise<readonly string[]> {
    this.mustExist(accountId)
    if (cidrs.length > MAX_ALLOWLIST) throw invalid(`At most ${MAX_ALLOWLIST} CIDRs`)
    let list: string[]
    try {
      list = [...new Set(cidrs.map(normalizeCidr))]
    } catch (e) {
      throw invalid((e as Error).message)
    }
    const { ctx } = this
    await patchAccount(
      ctx,
      accountId,
      (row, v) => ctx.store.updateAccount(row, v),
      (cur) => Object.assign({}, cur, { allowlist: list }),
    )
    await settle(ctx)
    return list
  }
}
