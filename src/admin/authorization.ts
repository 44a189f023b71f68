/**
 * Who may do what on the admin API, asked of the policy engine (policy/admin-authorize.ts) with
 * the caller's own policies, as S3 and STS requests are: each route names an iam:* action and the
 * IAM resource it acts on, and the router asks before the route runs. A SuperUser passes because
 * its preset grants the iam:* actions; a Reader or Writer is refused unless a policy attached to
 * it grants some, and an explicit Deny in an attached policy takes a right away from anyone. The
 * operator is not an account principal and keeps every right.
 *
 * Using the admin API at all (logging in, and every later request) needs at least one iam:*
 * action allowed in the caller's own account: a user the policies give nothing to administer is
 * refused at the door with the same answer as before policies decided it.
 * @module
 */
import type { RawRequest } from '../http/raw-request.js'
import type { UserPrincipal } from '../iam/service.js'
import * as tenancy from '../iam/tenancy.js'
import { IAM_ACTIONS } from '../policy/actions.js'
import { authorizeAdmin, iamAccountArn, iamUserArn } from '../policy/admin-authorize.js'
import { RequestConditionKeys } from '../policy/request-context.js'
import type { ConditionContext } from '../policy/types.js'
import type { Call, Route } from './call.js'
import type { AdminDeps, AdminIam } from './deps.js'
import { AdminError } from './errors.js'

/** The refusal of a user that may administer nothing (status, code and wording kept). */
export const NO_ADMIN_ACCESS =
  'Only SuperUsers (or users granted iam:* actions) may use the admin API'

/** The aws:* keys of an admin request (aws:SourceIp, aws:CurrentTime, …), for conditions. */
export function adminContext(p: UserPrincipal, raw: RawRequest, now: number): ConditionContext {
  return new RequestConditionKeys({
    principal: p,
    remoteAddress: raw.remoteAddress,
    secure: raw.secure,
    headers: raw.headers,
    now: () => now,
  })
}

/**
 * Whether `p` may do at least one iam:* action in its own account: on the account itself, on
 * any of its users (`user/*`) or on itself. A policy that names only particular other users is
 * not seen here (their ARNs are not enumerated); grant `user/*` with a condition instead.
 */
export async function requireAdminAccess(
  iam: Pick<AdminIam, 'policiesFor'>,
  p: UserPrincipal,
  context: ConditionContext,
): Promise<void> {
  const policies = await iam.policiesFor(p)
  const resources = [
    iamAccountArn(p.accountId),
    iamUserArn(p.accountId, '*'),
    iamUserArn(p.accountId, p.username),
  ]
  for (const action of IAM_ACTIONS)
    for (const resource of resources)
      if (
        authorizeAdmin({ principal: p, policies, action, resource, context }).decision.effect ===
        'allow'
      )
        return
  throw new AdminError('Forbidden', NO_ADMIN_ACCESS)
}

/**
 * Before a route runs: resolve the resource it acts on (the route's own look-up, which answers
 * 404 for an unknown target and 403 for another tenant's, as tenancy decides), then ask the
 * engine for the route's action on it. A refusal is Forbidden with AWS's AccessDenied text. The
 * operator is not asked: it has every right, and the route makes the same look-ups itself.
 */
export async function authorizeRoute(d: AdminDeps, route: Route, c: Call): Promise<void> {
  const actor = c.actor
  if (actor.kind === 'operator') return
  const resource = await route.resource(d, c)
  const r = authorizeAdmin({
    principal: actor.principal,
    policies: await d.iam.policiesFor(actor.principal),
    action: route.action,
    resource,
    mayManage: (id) => tenancy.canManageAccount(actor, id, d.iam.listAccounts()),
    context: adminContext(actor.principal, c.raw, c.now),
  })
  if (r.decision.effect !== 'allow')
    throw new AdminError('Forbidden', r.denial ?? `Not allowed: ${route.action}`)
}
