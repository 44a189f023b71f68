/**
 * Temporary-credential sessions of the accounts the caller manages: list (by customer and/or
 * user; acts on that account, else the caller's own) and revoke one by its access key id (acts
 * on the session's account). A session with upload caps shows them with their usage (`caps`).
 * @module
 */
import type { SessionInfo } from '../../iam/types.js'
import { ADMIN_ROUTE_ACTIONS as A, iamAccountArn } from '../../policy/admin-authorize.js'
import type { Call, Route } from '../call.js'
import { canSee, param, queriedCustomer, visibleAccountIds } from '../call.js'
import { visibleCustomer, visibleUser } from '../call.js'
import type { AdminDeps } from '../deps.js'
import { AdminError } from '../errors.js'
import { noContent, paginate, sessionJson } from '../render.js'

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
    const out: SessionInfo[] = []
    const everything = c.actor.kind === 'operator' && (customer === undefined || customer === '')
    const filters: { accountId?: string; userId?: string }[] = everything
      ? [{}]
      : accountIds.map((accountId) => ({ accountId }))
    for (const f of filters) {
      const withUser = userId !== undefined && userId !== '' ? { ...f, userId } : f
      out.push(...(await d.iam.list(withUser, c.now)))
    }
    return paginate(out, c.query, (s) => ({ ...sessionJson(d.iam, s), ...capsJson(s) }))
  },
}

/**
 * A session's upload caps and what its chain has used of them (absent: no caps). Chained sessions
 * count into one total, so bytes_used and objects_used are the chain's.
 */
export function capsJson(s: SessionInfo): Record<string, unknown> {
  const c = s.caps
  if (c === undefined) return {}
  return {
    caps: {
      max_bytes: c.maxBytes ?? null,
      max_objects: c.maxObjects ?? null,
      max_object_size: c.maxObjectSize ?? null,
      content_types: c.contentTypes ?? null,
      bytes_used: c.bytesUsed,
      objects_used: c.objectsUsed,
    },
  }
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
