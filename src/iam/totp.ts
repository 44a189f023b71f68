/**
 * TOTP: enrol, remove, verify. A code's time step is accepted once per user and per enrolment,
 * on any node: the claim is made in SharedLimits (claimOnce), keyed by the user and a digest of
 * the sealed secret, so a re-enrolment starts afresh (as forgetting the last step did before)
 * and a code used on one node cannot be replayed on another.
 * @module
 */
import { generateSecret, generateURI, verifySync } from 'otplib'
import { sha256Hex } from '../crypto/hash.js'
import { seal, unseal } from '../crypto/seal.js'
import { aadTotp, patchUser, settle, type IamContext } from './common.js'
import { IamError } from './types.js'

/** A claimed step only has to be remembered while a code of it can still verify (±1 step). */
const CLAIM_TTL_MS = 3 * 30_000

export class Totp {
  private readonly ctx: IamContext

  constructor(ctx: IamContext) {
    this.ctx = ctx
  }

  private mustExist(id: string): void {
    if (!this.ctx.dir.user(id)) throw new IamError('not-found', `No such user: ${id}`)
  }

  /** Enrol (or re-enrol) TOTP; from now on logins need a code. The secret is shown once. */
  async enroll(userId: string): Promise<{ secret: string; otpauthUrl: string }> {
    const { ctx } = this
    this.mustExist(userId)
    const secret = generateSecret()
    const sealed = seal(ctx.sealKey, secret, aadTotp(userId))
    const done = await patchUser(ctx, userId, (cur) =>
      Object.assign({}, cur, { totpSecret: sealed }),
    )
    await settle(ctx)
    const user = done?.after
    const account = ctx.dir.account(user?.accountId ?? '')?.row.name ?? ''
    const otpauthUrl = generateURI({
      issuer: 'Latchkey',
      label: `${account}:${user?.username ?? ''}`,
      secret,
    })
    return { secret, otpauthUrl }
  }

  async remove(userId: string): Promise<boolean> {
    this.mustExist(userId)
    const done = await patchUser(this.ctx, userId, (cur) => {
      if (cur.totpSecret === undefined) return undefined
      const { totpSecret: _drop, ...rest } = cur
      void _drop
      return rest
    })
    await settle(this.ctx)
    return done !== undefined
  }

  /** Check a TOTP code (±1 step); a code's time step is accepted once per user. */
  async verify(userId: string, code: string, now: number): Promise<boolean> {
    const u = this.ctx.dir.user(userId)
    if (!u?.row.totpSecret || !/^\d{6}$/.test(code)) return false
    const secret = unseal(this.ctx.sealKey, u.row.totpSecret, aadTotp(userId))
    const r = verifySync({ secret, token: code, epoch: Math.floor(now / 1000), epochTolerance: 30 })
    if (!r.valid) return false
    const step =
      'timeStep' in r && typeof r.timeStep === 'number' ? r.timeStep : Math.floor(now / 30_000)
    const key = `totp:${userId}:${sha256Hex(u.row.totpSecret).slice(0, 16)}`
    return this.ctx.limits.claimOnce(key, step, CLAIM_TTL_MS, now)
  }
}
