/**
 * GET /api/admin/audit: the audit trail, newest first, filtered by principal, session, action
 * and time (`since`/`until`: ISO 8601 or epoch milliseconds), paginated like every admin list
 * (`limit`, `offset`; x-total-count, x-next-offset). Tenancy-scoped: the operator sees every
 * event; a user sees only the events of the accounts it manages (its own, and a reseller's
 * customers); `customer=` narrows to one of those.
 * @module
 */
import type { AuditEvent, AuditFilter } from '../../lib/audit-events.js'
import { ADMIN_ROUTE_ACTIONS as A } from '../../policy/admin-authorize.js'
import type { Route } from '../call.js'
import { queriedCustomer, visibleAccountIds, visibleCustomer } from '../call.js'
import { AdminError } from '../errors.js'
import { intParam, ok } from '../render.js'

/** A time parameter: epoch milliseconds or an ISO 8601 date; ValidationError otherwise. */
function timeParam(q: ReadonlyMap<string, string>, name: string): number | undefined {
  const v = q.get(name)
  if (v === undefined || v === '') return undefined
  const t = /^\d{1,16}$/.test(v) ? Number(v) : Date.parse(v)
  if (!Number.isFinite(t))
    throw new AdminError(
      'ValidationError',
      `${name} must be an ISO 8601 time or epoch milliseconds`,
    )
  return t
}

function textParam(q: ReadonlyMap<string, string>, name: string): string | undefined {
  const v = q.get(name)
  if (v === undefined || v === '') return undefined
  if (v.length > 256) throw new AdminError('ValidationError', `${name} is too long`)
  return v
}

export const listAudit: Route = {
  action: A['GET audit'],
  resource: queriedCustomer,
  run: async (d, c) => {
    if (d.audit === undefined) throw new AdminError('NotImplemented', 'No audit trail on this node')
    const q = c.query
    const limit = intParam(q, 'limit', 100, 1, 1000)
    const offset = intParam(q, 'offset', 0, 0, Number.MAX_SAFE_INTEGER)
    const customer = textParam(q, 'customer')
    let accountIds: readonly string[] | undefined
    if (customer !== undefined) accountIds = [visibleCustomer(d, c.actor, customer).id]
    else if (c.actor.kind !== 'operator') accountIds = visibleAccountIds(d.iam, c.actor)
    const principal = textParam(q, 'principal')
    const session = textParam(q, 'session')
    const action = textParam(q, 'action')
    const since = timeParam(q, 'since')
    const until = timeParam(q, 'until')
    const filter: AuditFilter = Object.assign(
      {},
      principal !== undefined ? { principal } : {},
      session !== undefined ? { session } : {},
      action !== undefined ? { action } : {},
      since !== undefined ? { since } : {},
      until !== undefined ? { until } : {},
      accountIds !== undefined ? { accountIds } : {},
    )
    const page = await d.audit.query(filter, { limit, offset })
    const headers: Record<string, string> = { 'x-total-count': String(page.total) }
    if (offset + page.events.length < page.total)
      headers['x-next-offset'] = String(offset + page.events.length)
    return ok(200, page.events.map(auditJson), headers)
  },
}

/** One event as the admin API shows it (snake_case, as every admin answer; absent → null). */
function auditJson(e: AuditEvent): Record<string, unknown> {
  return {
    id: e.id,
    time: new Date(e.at).toISOString(),
    kind: e.kind,
    action: e.action,
    account_id: e.accountId ?? null,
    principal: e.principal ?? null,
    session: e.session ?? null,
    resource: e.resource ?? null,
    decision: e.decision ?? null,
    reason: e.reason ?? null,
    source: e.source ?? null,
    detail: e.detail ?? {},
  }
}
