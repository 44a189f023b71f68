/**
 * Password logins (RSLogin, the admin API) and the operator's admin login, throttled through
 * SharedLimits so the limit holds across nodes: 10 failures in 15 minutes per user or per client
 * address lock further attempts. An attempt is reserved on every throttle key before anything
 * slow runs (storage/shared-limits.ts says why: parallel attempts must not outrun the count);
 * every failure answers the same IamError('unauthorized', 'Invalid credentials').
 * @module
 */
import { settle, type IamContext } from './common.js'
import type { AdminIdentity, LoginInput, UserPrincipal } from './model.js'
import { MAX_PASSWORD_LENGTH, verifyAgainstDummy, verifyPassword } from './password.js'
import type { Totp } from './totp.js'
import { IamError } from './types.js'

/** The message of the IamError a login with `otpPrompt` answers when a code is needed. */
export const OTP_REQUIRED = 'A one-time code is required for this user'

export class Logins {
  private readonly ctx: IamContext
  private readonly totp: Totp

  constructor(ctx: IamContext, totp: Totp) {
    this.ctx = ctx
    this.totp = totp
  }

  /**
   * Run a login check under a reserved attempt: `check` answers whether the credentials are
   * right (throwing counts as a failure too). At the limit this throws IamError('throttled') and
   * nothing is checked. A success releases the reservation and forgets the first key's (the
   * user's) failures; a failure stays counted and answers the generic refusal.
   */
  private async throttled(
    keys: readonly string[],
    now: number,
    check: () => Promise<boolean>,
  ): Promise<void> {
    const { limits } = this.ctx
    const r = limits.reserveAttempt(keys, now)
    const attempt = r instanceof Promise ? await r : r
    if (typeof attempt === 'number')
      throw new IamError('throttled', 'Too many failed logins; try again later', attempt)
    let ok = false
    try {
      ok = await check()
    } finally {
      if (ok) {
        await attempt.succeed()
        await limits.clearFailures(keys[0] as string)
      } else {
        await attempt.fail(now)
      }
    }
    if (!ok) throw new IamError('unauthorized', 'Invalid credentials')
  }

  /**
   * A user's password (+ OTP) login. Every failure is the same IamError('unauthorized',
   * 'Invalid credentials'); too many → IamError('throttled', …, retryAfter), attempts still being
   * checked included. The principal has accessKeyId ''.
   */
  async authenticatePassword(input: LoginInput, now: number): Promise<UserPrincipal> {
    const { dir, scryptN } = this.ctx
    const customer = input.customer ?? 'default'
    const keys = [`u:${customer}/${input.username.toLowerCase()}`, `a:${input.address}`]
    let found: UserPrincipal | undefined
    await this.throttled(keys, now, async () => {
      const accountId = dir.accountIdByName(customer)
      const account = accountId === undefined ? undefined : dir.account(accountId)
      const u = accountId === undefined ? undefined : dir.userByName(accountId, input.username)
      if (!u || !account || input.password.length > MAX_PASSWORD_LENGTH) {
        await verifyAgainstDummy(input.password, scryptN)
        return false
      }
      if (!(await verifyPassword(input.password, u.row.passwordHash)) || !u.row.isActive)
        return false
      if (u.row.totpSecret !== undefined && input.passwordOnly !== true) {
        // Thrown, so the attempt still counts as a failure: the password alone is not a login.
        if (input.otpPrompt === true && (input.otp ?? '') === '')
          throw new IamError('invalid', OTP_REQUIRED)
        if (!(await this.totp.verify(u.row.id, input.otp ?? '', now))) return false
      }
      found = dir.userPrincipal(u.row, account, '')
      return true
    })
    if (!found) throw new IamError('unauthorized', 'Invalid credentials')
    await this.ctx.store.touchUser(found.userId, now)
    await settle(this.ctx)
    return found
  }

  /** Admin API login: the operator's root (no customer, its username) or a user. */
  async authenticateAdmin(input: LoginInput, now: number): Promise<AdminIdentity> {
    const op = this.ctx.dir.operator
    if (input.customer === undefined && op && input.username === op.username) {
      await this.throttled(
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
}
