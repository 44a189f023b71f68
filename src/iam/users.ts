/**
 * Users: create, update (role, activity, password, profile), delete, their one access key, and
 * their extra IAM policy. Updates read the current row from the store and compare-and-set it
 * (common.ts patchUser), so two admins (or two nodes) editing one user never lose each other's
 * change; the directory and the session cache learn of every change from the feed, and each call
 * returns once they have applied it (a deactivated user or a replaced key is refused on the very
 * next request).
 * @module
 */
import { seal } from '../crypto/seal.js'
import { parsePolicy } from '../policy/document.js'
import { ROLES } from '../policy/roles.js'
import type { AccessKeyRow, UserRow } from '../storage/identity-store.js'
import {
  aadKey,
  checkPassword,
  checkProfile,
  invalid,
  patchUser,
  rethrowConflict,
  revokeWhere,
  settle,
  USERNAME_RE,
  type IamContext,
} from './common.js'
import type {
  CreateUserInput,
  NewKey,
  UpdateUserInput,
  UpdateUserOptions,
  UserView,
} from './model.js'
import { hashPassword } from './password.js'
import { storedSource } from './sessions.js'
import { IamError } from './types.js'

export class Users {
  private readonly ctx: IamContext

  constructor(ctx: IamContext) {
    this.ctx = ctx
  }

  private mustExist(id: string): void {
    if (!this.ctx.dir.user(id)) throw new IamError('not-found', `No such user: ${id}`)
  }

  /** The user's view once the feed has been applied (it exists: the caller just wrote it). */
  private view(id: string): UserView {
    const v = this.ctx.dir.getUser(id)
    if (!v) throw new IamError('not-found', `No such user: ${id}`)
    return v
  }

  async create(input: CreateUserInput, now: number): Promise<UserView> {
    const { ctx } = this
    if (!ctx.dir.account(input.accountId))
      throw new IamError('not-found', `No such customer: ${input.accountId}`)
    if (!USERNAME_RE.test(input.username))
      throw invalid('username must be 1-64 characters of [A-Za-z0-9_+=,.@-]')
    if (!ROLES.includes(input.role)) throw invalid(`role must be one of ${ROLES.join(', ')}`)
    checkPassword(input.password)
    checkProfile(input)
    if (ctx.dir.userByName(input.accountId, input.username))
      throw new IamError('conflict', `User ${input.username} already exists`)
    const row: UserRow = {
      id: 'AIDA' + ctx.ids.upperAlnum(16),
      accountId: input.accountId,
      username: input.username,
      passwordHash: await hashPassword(input.password, ctx.scryptN),
      role: input.role,
      isActive: true,
      ...(input.email !== undefined ? { email: input.email } : {}),
      ...(input.firstname !== undefined ? { firstname: input.firstname } : {}),
      ...(input.lastname !== undefined ? { lastname: input.lastname } : {}),
      createdAt: now,
      version: 0,
    }
    // The store's uniqueness constraint decides between two concurrent creates of one name.
    await ctx.store.insertUser(row).catch(rethrowConflict(`User ${input.username} already exists`))
    await settle(ctx)
    return this.view(row.id)
  }

  async update(
    id: string,
    patch: UpdateUserInput,
    opts: UpdateUserOptions = {},
  ): Promise<UserView> {
    this.mustExist(id)
    if (patch.role !== undefined && !ROLES.includes(patch.role))
      throw invalid(`role must be one of ${ROLES.join(', ')}`)
    if (patch.password !== undefined) checkPassword(patch.password)
    checkProfile(patch)
    const hash =
      patch.password !== undefined
        ? await hashPassword(patch.password, this.ctx.scryptN)
        : undefined
    const done = await patchUser(this.ctx, id, (cur) => {
      const next: Record<string, unknown> = { ...cur }
      if (patch.role !== undefined) next['role'] = patch.role
      if (patch.isActive !== undefined) next['isActive'] = patch.isActive
      if (hash !== undefined) next['passwordHash'] = hash
      for (const f of ['email', 'firstname', 'lastname'] as const) {
        const v = patch[f]
        if (v === null) delete next[f]
        else if (v !== undefined) next[f] = v
      }
      return next as unknown as UserRow
    })
    if (done) {
      const { before, after } = done
      if (before.isActive && !after.isActive) await this.ctx.store.revokeUserSessions(id)
      else if (before.role === 'SuperUser' && after.role !== 'SuperUser')
        await this.revokeActingElsewhere(before)
      if (hash !== undefined && after.isActive) await this.revokeSignIns(id, opts.keepSession)
    }
    await settle(this.ctx)
    return this.view(id)
  }

  /**
   * A SuperUser lost its role: revoke, for good, the sessions it minted that act in another
   * account (RSAssumeCustomerRole and sessions chained from them), which only a SuperUser may
   * mint. Their liveness check already refuses them; revoking the rows keeps a later promotion
   * from reviving them (and the sweep deletes them). Its other sessions act as the user and follow
   * its current role on every request.
   */
  private async revokeActingElsewhere(user: UserRow): Promise<void> {
    await revokeWhere(this.ctx, { userId: user.id }, (r) => r.accountId !== user.accountId)
  }

  /**
   * A new password ends the sessions the old one opened (console sign-ins and RSLogin; what they
   * chained dies with them by its liveness checks), so a leaked password's sessions do not outlive
   * the change; `keep` is the console session that made the change. Sessions minted with access
   * keys are not the password's and stay.
   */
  private async revokeSignIns(userId: string, keep: string | undefined): Promise<void> {
    await revokeWhere(this.ctx, { userId }, (r) => {
      if (r.accessKeyId === keep) return false
      const source = storedSource(r)
      return source === 'console' || source === 'RSLogin'
    })
  }

  async delete(id: string): Promise<void> {
    this.mustExist(id)
    await this.ctx.store.deleteUser(id).catch((e: unknown) => {
      if ((e as { kind?: unknown }).kind === 'not-found')
        throw new IamError('not-found', `No such user: ${id}`)
      throw e
    })
    await settle(this.ctx)
  }

  /** A new access key for the user, replacing (and killing) any previous one. Secret shown once. */
  async generateKey(userId: string, now: number): Promise<NewKey> {
    const { ctx } = this
    this.mustExist(userId)
    const accessKeyId = ctx.dir.newLongTermKeyId(ctx.ids)
    const secretKey = ctx.ids.alnum(40)
    const row: AccessKeyRow = {
      accessKeyId,
      userId,
      secret: seal(ctx.sealKey, secretKey, aadKey(accessKeyId)),
      createdAt: now,
    }
    await ctx.store.replaceAccessKey(userId, row).catch(async (e: unknown) => {
      // The user was deleted meanwhile (its key row can no longer reference it).
      if (!(await ctx.store.getUser(userId)))
        throw new IamError('not-found', `No such user: ${userId}`)
      throw e
    })
    await settle(ctx)
    return { accessKeyId, secretKey }
  }

  /** Revoke the user's access key; false when it had none. */
  async revokeKey(userId: string): Promise<boolean> {
    this.mustExist(userId)
    if ((await this.ctx.store.getAccessKey(userId)) === undefined) return false
    await this.ctx.store.replaceAccessKey(userId, undefined)
    await settle(this.ctx)
    return true
  }

  /** Attach (replace) the user's extra IAM policy; IamError('invalid') naming the problem. */
  async putPolicy(userId: string, text: string): Promise<unknown> {
    this.mustExist(userId)
    try {
      parsePolicy(text, { kind: 'identity', name: 'user-policy', source: 'identity' })
    } catch (e) {
      throw invalid(`MalformedPolicy: ${(e as Error).message}`)
    }
    await patchUser(this.ctx, userId, (cur) => Object.assign({}, cur, { policy: text }))
    await settle(this.ctx)
    return JSON.parse(text) as unknown
  }

  getPolicy(userId: string): string | undefined {
    const u = this.ctx.dir.user(userId)
    if (!u) throw new IamError('not-found', `No such user: ${userId}`)
    return u.row.policy
  }

  async deletePolicy(userId: string): Promise<boolean> {
    this.mustExist(userId)
    const done = await patchUser(this.ctx, userId, (cur) => {
      if (cur.policy === undefined) return undefined
      const { policy: _drop, ...rest } = cur
      void _drop
      return rest
    })
    await settle(this.ctx)
    return done !== undefined
  }
}
