/**
 * Customer accounts: the operator sees and creates any; a reseller's SuperUser sees its own
 * account and creates customer accounts under it; any other SuperUser sees only its own. The
 * routes on one customer act on that account's ARN (theCustomer); listing and creating act on
 * the caller's own account. The master key's secret appears only in the answers that create or
 * reset it.
 *
 * STS limits: every SuperUser who sees an account may read its issuance limits, but only the
 * operator may change them: they are the server's abuse control, and an account raising its own
 * would defeat it.
 * @module
 */
import { ADMIN_ROUTE_ACTIONS as A } from '../../policy/admin-authorize.js'
import type { Route } from '../call.js'
import { callJson, ownAccountArn, param, theCustomer, visibleAccountIds } from '../call.js'
import { visibleCustomer } from '../call.js'
import { AdminError } from '../errors.js'
import { customerJson, ok, paginate } from '../render.js'
import {
  allowlistBody,
  createCustomerBody,
  parseBody,
  revealBody,
  stsLimitsBody,
} from '../schemas.js'
import { OTP_REQUIRED } from '../../iam/logins.js'
import { IamError } from '../../iam/types.js'

export const listCustomers: Route = {
  action: A['GET customers'],
  resource: (_d, c) => ownAccountArn(c),
  run: async (d, c) => {
    const ids = new Set(visibleAccountIds(d.iam, c.actor))
    return paginate(
      d.iam.listAccounts().filter((a) => ids.has(a.id)),
      c.query,
      (a) => customerJson(d.iam, a),
    )
  },
}

export const createCustomer: Route = {
  action: A['POST customers'],
  resource: (_d, c) => ownAccountArn(c),
  run: async (d, c) => {
    const b = parseBody(createCustomerBody, await callJson(c))
    let resellerId: string | undefined
    if (c.actor.kind === 'user') {
      const own = c.actor.account
      if (own.type !== 'reseller')
        throw new AdminError('Forbidden', 'Only the operator or a reseller may create customers')
      if (b.type !== 'customer')
        throw new AdminError('Forbidden', 'A reseller may only create customer accounts')
      if (b.reseller !== undefined && b.reseller !== own.name) {
        throw new AdminError('Forbidden', `Customer ${b.reseller} belongs to another account`)
      }
      resellerId = own.id
    } else if (b.reseller !== undefined) {
      const r = d.iam.byName(b.reseller)
      if (!r) throw new AdminError('NotFound', `No such reseller: ${b.reseller}`)
      resellerId = r.id
    }
    const { account, masterKey } = await d.iam.createAccount(
      { name: b.name, type: b.type, ...(resellerId !== undefined ? { resellerId } : {}) },
      c.now,
    )
    c.ctx.log.info({ accountId: account.id, type: account.type }, 'admin: customer created')
    return ok(
      201,
      Object.assign({}, customerJson(d.iam, account), {
        master_key: { access_key: masterKey.accessKeyId, secret_key: masterKey.secretKey },
      }),
    )
  },
}

export const getCustomer: Route = {
  action: A['GET customers/:'],
  resource: theCustomer,
  run: async (d, c) => ok(200, customerJson(d.iam, visibleCustomer(d, c.actor, param(c, 0)))),
}

export const getMasterKey: Route = {
  action: A['GET customers/:/master-key'],
  resource: theCustomer,
  run: async (d, c) =>
    ok(200, { access_key: visibleCustomer(d, c.actor, param(c, 0)).masterAccessKeyId }),
}

export const resetMasterKey: Route = {
  action: A['POST customers/:/master-key/reset'],
  resource: theCustomer,
  run: async (d, c) => {
    const a = visibleCustomer(d, c.actor, param(c, 0))
    const k = await d.iam.resetMasterKey(a.id)
    c.ctx.log.info({ accountId: a.id }, 'admin: master key secret reset')
    return ok(200, {
      access_key: k.accessKeyId,
      secret_key: k.secretKey,
      sessions_revoked: k.sessionsRevoked,
    })
  },
}

/**
 * The console's "reveal" of a master secret: only after the caller re-enters its own password
 * (and code), throttled as logins are, and recorded in the audit trail either way
 * (`admin:RevealMasterKey`, allow or deny), never with the secret.
 */
export const revealMasterKey: Route = {
  action: A['POST customers/:/master-key/reveal'],
  resource: theCustomer,
  run: async (d, c) => {
    const a = visibleCustomer(d, c.actor, param(c, 0))
    const b = parseBody(revealBody, await callJson(c))
    const actor = c.actor
    const record = (decision: 'allow' | 'deny', reason?: string): void =>
      d.auditSink?.record({
        at: c.now,
        kind: 'admin',
        action: 'admin:RevealMasterKey',
        accountId: a.id,
        principal: actor.kind === 'operator' ? actor.name : actor.user.username,
        resource: `POST ${c.raw.rawPath}`,
        decision,
        ...(reason !== undefined ? { reason } : {}),
        source: c.raw.remoteAddress,
        detail: {
          actor: actor.kind === 'operator' ? 'operator' : `user:${actor.user.username}`,
          customer: a.name,
          access_key: a.masterAccessKeyId,
        },
      })
    try {
      await d.iam.confirmPassword(
        actor.kind === 'operator' ? { kind: 'operator' } : { kind: 'user', userId: actor.user.id },
        {
          password: b.password,
          address: c.raw.remoteAddress,
          ...(b.otp !== undefined && b.otp !== '' ? { otp: b.otp } : {}),
        },
        c.now,
      )
    } catch (e) {
      record('deny', e instanceof IamError ? e.code : 'error')
      if (e instanceof IamError && e.code === 'invalid' && e.message === OTP_REQUIRED)
        throw new AdminError('OtpRequired', OTP_REQUIRED)
      throw e
    }
    const secret = d.iam.masterSecret(a.id)
    if (secret === undefined) throw new AdminError('NotFound', `No such customer: ${a.name}`)
    record('allow')
    c.ctx.log.info({ accountId: a.id }, 'admin: master key secret revealed')
    return ok(200, { access_key: a.masterAccessKeyId, secret_key: secret })
  },
}

export const getAllowlist: Route = {
  action: A['GET customers/:/allowlist'],
  resource: theCustomer,
  run: async (d, c) => ok(200, { cidrs: visibleCustomer(d, c.actor, param(c, 0)).allowlist }),
}

export const putAllowlist: Route = {
  action: A['PUT customers/:/allowlist'],
  resource: theCustomer,
  run: async (d, c) => {
    const a = visibleCustomer(d, c.actor, param(c, 0))
    const b = parseBody(allowlistBody, await callJson(c))
    return ok(200, { cidrs: await d.iam.setAllowlist(a.id, b.cidrs) })
  },
}

/** The account's issuance limits as the API shows them. */
function stsLimitsJson(l: {
  issueRate: number
  issueBurst: number
  maxActiveSessions: number
  overridden: boolean
}): unknown {
  return {
    issue_rate: l.issueRate,
    issue_burst: l.issueBurst,
    max_active_sessions: l.maxActiveSessions,
    overridden: l.overridden,
  }
}

export const getStsLimits: Route = {
  action: A['GET customers/:/sts-limits'],
  resource: theCustomer,
  run: async (d, c) =>
    ok(200, stsLimitsJson(d.iam.stsLimits(visibleCustomer(d, c.actor, param(c, 0)).id))),
}

export const putStsLimits: Route = {
  action: A['PUT customers/:/sts-limits'],
  resource: theCustomer,
  run: async (d, c) => {
    const a = visibleCustomer(d, c.actor, param(c, 0))
    if (c.actor.kind !== 'operator')
      throw new AdminError('Forbidden', 'Only the operator may change STS limits')
    const b = parseBody(stsLimitsBody, await callJson(c))
    const l = await d.iam.setStsLimits(
      a.id,
      Object.assign(
        {},
        b.issue_rate != null ? { issueRate: b.issue_rate } : {},
        b.issue_burst != null ? { issueBurst: b.issue_burst } : {},
        b.max_active_sessions != null ? { maxActiveSessions: b.max_active_sessions } : {},
      ),
    )
    c.ctx.log.info({ accountId: a.id, ...b }, 'admin: STS limits set')
    return ok(200, stsLimitsJson(l))
  },
}
