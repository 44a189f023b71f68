/**
 * Temporary-credential sessions of the accounts the caller manages: list (by customer and/or
 * user; acts on that account, else the caller's own) and revoke one by its access key id (acts
 * on the session's account).
 * @module
 */
import type { SessionInfo } from '../../iam/types.js'
import { ADMIN_ROUTE_ACTIONS as A, iamAccountArn } from '../../policy/admin-authorize.js'
import type { Call, Route } from '../call.js'
import { canSee, param, queriedCustomer, visibleAccountIds } from '../call.js'
import { visibleCustomer, visibleUser } from '../call.js'
import type { AdminDeps } from '../deps.js'
import { AdminError } from '../errors.js'
import { intParam, noContent, ok, sessionJson } from '../render.js'

export const listSessions: Route = {
  action: A['GET sessions'],
  resource: queriedCustomer,
  run: async (d, c) => {
    const customer = c.query.get('customer')
    const userId = c.query.get('user')
    let accountIds: readonly string[]
    if (customer !== undefined && customer !== '')
      accountIds = [visibleCustomer(d, c.actor, customer).id]
    else accountIds = visibleAccountIds(d.iam, c.actor)
    if (userId !== undefined && userId !== '') {
      const u = visibleUser(d, c.actor, userId)
      accountIds = accountIds.includes(u.accountId) ? [u.accountId] : []
    }
    // The page is read in the store (index order) and the rest only counted: a million
    // sessions are never loaded to show a hundred.
    const everything = c.actor.kind === 'operator' && (customer === undefined || customer === '')
    const filter = {
      ...(everything ? {} : { accountIds }),
      ...(userId !== undefined && userId !== '' ? { userId } : {}),
    }
    const limit = intParam(c.query, 'limit', 100, 1, 1000)
    const offset = intParam(c.query, 'offset', 0, 0, Number.MAX_SAFE_INTEGER)
    const { items, total } = await d.iam.list(filter, c.now, { limit, offset })
    const headers: Record<string, string> = { 'x-total-count': String(total) }
    if (offset + limit < total) headers['x-next-offset'] = String(offset + limit)
    return ok(
      200,
      items.map((s) => sessionJson(d.iam, s)),
      headers,
    )
  },
}

/** The session named in the path, if the caller may act on it: 404 when unknown, 403 when another's. */
async function visibleSession(d: AdminDeps, c: Call): Promise<SessionInfo> {
  const akid = param(c, 0)
  const s = await d.iam.getSession(akid, c.now)
  if (!s) throw new AdminError('NotFound', `No such active session: ${akid}`)
  if (!canSee(d.iam, c.actor, s.accountId))
    throw new AdminError('Forbidden', `Session ${akid} belongs to another account`)
  return s
}

export const revokeSession: Route = {
  action: A['DELETE sessions/:'],
  resource: async (d, c) => iamAccountArn((await visibleSession(d, c)).accountId),
  run: async (d, c) => {
    await visibleSession(d, c)
    const akid = param(c, 0)
    await d.iam.revoke(akid)
    c.ctx.log.info({ accessKeyId: akid }, 'admin: session revoked')
    return noContent()
  },
}
