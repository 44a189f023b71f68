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
import { noContent, ok, paginate, sessionJson } from '../render.js'

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
    const parent = c.query.get('parent')
    const shown = parent !== undefined && parent !== '' ? out.filter(childOf(parent)) : out
    return paginate(shown, c.query, (s) => sessionJson(d.iam, s))
  },
}

/** Sessions made from `parent`: a user id, or an access key id (a user's key, a master key). */
function childOf(parent: string): (s: SessionInfo) => boolean {
  return (s) =>
    s.parent.accessKeyId === parent || (s.parent.kind === 'user' && s.parent.userId === parent)
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
    const accountId = parentAccount(d, c)
    const parent = c.query.get('parent') ?? ''
    const live = (await d.iam.list({ accountId }, c.now)).filter(childOf(parent))
    let revoked = 0
    for (const s of live) if (await d.iam.revoke(s.accessKeyId)) revoked++
    c.ctx.log.info({ parent, revoked }, 'admin: sessions of a parent revoked')
    return ok(200, { revoked })
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
