/**
 * The admin REST API (contract §5): JSON over the shared port, `Authorization: Bearer <JWT>`.
 *
 * Request flow, once for every route: 1. match (method, path) in the route table (router.ts);
 * 2. except for login, verify the JWT and re-read the caller from IAM (the operator, or an active
 * user allowed some iam:* action; session.ts); 3. resolve the resource the route acts on: its
 * target must be visible to the caller (operator: all; a user: its account, plus the accounts
 * under it when it is a reseller; iam/tenancy.ts) — unknown is NotFound, another account's
 * customer or user is Forbidden; 4. ask the policy engine for the route's iam:* action on that
 * resource with the caller's policies (authorization.ts; the operator has every right);
 * 5. the route reads and validates its body with zod, calls IAM and renders JSON (render.ts).
 *
 * Secrets appear only in the answers that create them (credentials, master-key reset, customer
 * creation, TOTP enrolment), never in logs.
 * @module
 */
import type { RawRequest, RequestContext } from '../http/raw-request.js'
import { parseQuery } from '../http/raw-request.js'
import type { HttpResponse } from '../http/http-response.js'
import { authorizeRoute } from './authorization.js'
import { onceText } from './call.js'
import type { AdminDeps } from './deps.js'
import { AdminError, renderAdminError, toAdminError } from './errors.js'
import { match, segmentsOf } from './router.js'
import { authenticate, login } from './session.js'
import type { Call, Route } from './call.js'
import type { AuditSink } from '../storage/audit-log.js'
import { accountOfIamArn } from '../policy/admin-authorize.js'

export type { Actor, AdminDeps, AdminIam } from './deps.js'
export { ADMIN_PREFIX } from './router.js'
export { visibleAccountIds } from './call.js'

export type AdminHandler = (raw: RawRequest, ctx: RequestContext) => Promise<HttpResponse>

/** The admin surface as one function, for the dispatcher (and for tests, called directly). */
export function createAdminHandler(deps: AdminDeps): AdminHandler {
  return async (raw, ctx) => {
    const access = ctx.access
    try {
      const segs = segmentsOf(raw.rawPath)
      if (!segs) throw new AdminError('NotFound', 'No such admin resource')
      const method = raw.method.toUpperCase()
      if (segs.length === 1 && segs[0] === 'login') {
        if (access !== undefined) access.operation = `${method} /login`
        if (method !== 'POST') throw new AdminError('MethodNotAllowed', 'Use POST /api/admin/login')
        return await login(deps, raw, ctx)
      }
      const route = match(segs)
      if (!route) throw new AdminError('NotFound', 'No such admin resource')
      // The route's pattern, not its path: ids stay out of the operation (a metrics label).
      if (access !== undefined)
        access.operation = `${method} /${route.pattern.map((p) => (p === ':' ? '{id}' : p)).join('/')}`
      const now = deps.clock.now()
      const actor = await authenticate(deps, raw, now)
      if (access !== undefined)
        access.principal =
          actor.kind === 'operator'
            ? { kind: 'operator', user: actor.name }
            : {
                kind: 'user',
                account: actor.account.name,
                user: actor.user.username,
              }
      const fn = route.methods[method]
      if (!fn)
        throw new AdminError(
          'MethodNotAllowed',
          `${method} is not allowed here (allowed: ${Object.keys(route.methods).join(', ')})`,
        )
      const call = {
        raw,
        ctx,
        params: route.params,
        query: parseQuery(raw.rawQuery),
        actor,
        now,
        text: onceText(raw),
      }
      await authorizeRoute(deps, fn, call)
      // An audited change's body is read (once, shared with the route) before it runs: after
      // the route, an unread body has been discarded.
      const audit = deps.auditSink !== undefined && audited(method, fn.action)
      const bodyText = audit ? await call.text().catch(() => '') : ''
      // The target's account, while it still exists (a DELETE removes it).
      const target = audit
        ? await Promise.resolve()
            .then(() => fn.resource(deps, call))
            .then(accountOfIamArn, () => undefined)
        : undefined
      const res = await fn.run(deps, call)
      raw.body.resume() // discard any body a route did not read
      if (audit && deps.auditSink !== undefined)
        recordAdminChange(deps.auditSink, fn, call, method, res, bodyText, target)
      return res
    } catch (e) {
      raw.body.resume()
      const err = toAdminError(e)
      if (access !== undefined) access.errorCode = err?.code ?? 'InternalError'
      if (err) return renderAdminError(err, ctx.requestId)
      ctx.log.error({ err: (e as Error).message, path: raw.rawPath }, 'admin: internal error')
      return renderAdminError(new AdminError('InternalError'), ctx.requestId)
    }
  }
}

/**
 * Which admin calls the audit trail records: every change (any method but GET, except the policy
 * simulator, which changes nothing), and the one read that reveals a secret (a master key).
 */
function audited(method: string, action: string): boolean {
  if (action === 'iam:GetMasterKey') return true
  return method !== 'GET' && method !== 'HEAD' && action !== 'iam:SimulateCustomPolicy'
}

/** Field names whose values are never recorded (secrets, passwords, tokens, one-time codes). */
const SECRET_FIELD = /secret|password|passwd|token|otp|totp|signature|code|seed|private/i

/** `value` with every secret-named field removed, at any depth. */
export function withoutSecrets(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(withoutSecrets)
  if (value === null || typeof value !== 'object') return value
  const out: Record<string, unknown> = {}
  for (const [k, v] of Object.entries(value)) {
    if (SECRET_FIELD.test(k)) {
      out[k] = '[removed]'
      continue
    }
    out[k] = withoutSecrets(v)
  }
  return out
}

/** The identifiers of what a creation made (its id, name, access key id), from its JSON answer. */
function createdIds(res: { readonly body?: unknown }): Record<string, unknown> | undefined {
  if (typeof res.body !== 'string' && !Buffer.isBuffer(res.body)) return undefined
  try {
    const v = JSON.parse(res.body.toString()) as Record<string, unknown>
    if (v === null || typeof v !== 'object' || Array.isArray(v)) return undefined
    const out: Record<string, unknown> = {}
    for (const k of ['id', 'name', 'username', 'access_key', 'accessKeyId', 'accountId', 'role'])
      if (typeof v[k] === 'string') out[k] = v[k]
    return Object.keys(out).length > 0 ? out : undefined
  } catch {
    return undefined
  }
}

/**
 * One admin change in the audit trail: who (the operator or a user), what (the iam:* action and
 * the path it acted on), after (the request body, secrets removed; and the ids a creation made).
 * Best effort on the target's account: an unknown one (a deleted user) leaves it the actor's.
 */
function recordAdminChange(
  audit: AuditSink,
  fn: Route,
  c: Call,
  method: string,
  res: { readonly status: number; readonly body?: unknown },
  text: string,
  target: string | undefined,
): void {
  let accountId = target
  if (accountId === undefined && c.actor.kind === 'user') accountId = c.actor.account.id
  let after: unknown
  try {
    after = text === '' ? undefined : withoutSecrets(JSON.parse(text))
  } catch {
    after = undefined
  }
  const created = createdIds(res)
  audit.record({
    at: c.now,
    kind: 'admin',
    action: fn.action,
    ...(accountId !== undefined ? { accountId } : {}),
    principal: c.actor.kind === 'operator' ? c.actor.name : c.actor.user.username,
    resource: `${method} ${c.raw.rawPath}`,
    decision: 'allow',
    source: c.raw.remoteAddress,
    detail: {
      actor: c.actor.kind === 'operator' ? 'operator' : `user:${c.actor.user.username}`,
      status: res.status,
      ...(after !== undefined ? { after } : {}),
      ...(created !== undefined ? { created } : {}),
    },
  })
}
