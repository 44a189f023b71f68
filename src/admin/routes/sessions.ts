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
    const filter = Object.assign(
      {},
      everything ? {} : { accountIds },
      userId !== undefined && userId !== '' ? { userId } : {},
    )
    const parent = c.query.get('parent')
    if (parent !== undefined && parent !== '') Object.assign(filter, parentFilter(d, c, parent))
    const limit = intParam(c.query, 'limit', 100, 1, 1000)
    const offset = intParam(c.query, 'offset', 0, 0, Number.MAX_SAFE_INTEGER)
    const { items, total } = await d.iam.list(filter, c.now, { limit, offset })
    const headers: Record<string, string> = { 'x-total-count': String(total) }
    if (offset + limit < total) headers['x-next-offset'] = String(offset + limit)
    return ok(
      200,
      items.map((s) => Object.assign({}, sessionJson(d.iam, s), capsJson(s))),
      headers,
    )
  },
}

/**
 * The store filter for "sessions of `parent`": a user id (every session whose chain starts at
 * that user) or a long-term access key id (a user's key or a master key: sessions made from it).
 */
function parentFilter(
  d: AdminDeps,
  c: Call,
  parent: string,
): { accountId: string; userId?: string; originKeyId?: string } {
  const accountId = parentAccount(d, c)
  return d.iam.getUser(parent) !== undefined
    ? { accountId, userId: parent }
    : { accountId, originKeyId: parent }
}

/**
 * The account `?parent=` belongs to, if the caller may act on it: a user id, a user's access
 * key id or an account's master key id among the accounts it manages (404 when none).
 */
function parentAccount(d: AdminDeps, c: Call): string {
  const parent = c.query.get('parent') ?? ''
  if (parent === '') throw new AdminError('ValidationError', 'parent is required')
  const ids = visibleAccountIds(d.iam, c.actor)
  for (const u of d.iam.listUsers(ids))
    if (u.id === parent || u.accessKeyId === parent) return u.accountId
  for (const a of d.iam.listAccounts())
    if (a.masterAccessKeyId === parent && ids.includes(a.id)) return a.id
  // Another account's user is Forbidden (as elsewhere), anything else NotFound.
  if (d.iam.getUser(parent) !== undefined) visibleUser(d, c.actor, parent)
  throw new AdminError('NotFound', `No such parent (user id or access key id): ${parent}`)
}

/** DELETE sessions?parent=: revoke every live session of one parent; answers how many. */
export const revokeSessionsOf: Route = {
  action: A['DELETE sessions'],
  resource: (d, c) => iamAccountArn(parentAccount(d, c)),
  run: async (d, c) => {
    const parent = c.query.get('parent') ?? ''
    const filter = parentFilter(d, c, parent)
    // One pass in the store, page by page, and one wait for every node (not one per session).
    const revoked = await d.iam.revokeAll(filter)
    c.ctx.log.info({ parent, revoked }, 'admin: sessions of a parent revoked')
    return ok(200, { revoked })
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
