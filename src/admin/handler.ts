/**
 * The admin REST API (contract §5): JSON over the shared port, `Authorization: Bearer <JWT>`, or
 * the web console's cookie (console-session.ts).
 *
 * Request flow, once for every route: 1. match (method, path) in the route table (router.ts);
 * public routes (login, the console's sign-in, openapi.json) answer here; 2. verify the JWT or
 * the console cookie and re-read the caller from IAM (the operator, or an active user; session.ts);
 * with the cookie, a change must carry the CSRF token and no other site's Origin; 3. routes that
 * act only on the caller (access 'self': the console's session and `me`) run for any signed-in
 * user; every other route needs some iam:* action in the caller's account (a Reader's console
 * session gets 403, as a Reader's login always did), then 4. resolves the resource the route
 * acts on: its target must be visible to the caller (operator: all; a user: its account, plus the
 * accounts under it when it is a reseller; iam/tenancy.ts) — unknown is NotFound, another
 * account's customer or user is Forbidden; 5. asks the policy engine for the route's iam:* action
 * on that resource with the caller's policies (authorization.ts; the operator has every right);
 * 6. the route reads and validates its body with zod, calls IAM and renders JSON (render.ts).
 *
 * Secrets appear only in the answers that create them (credentials, master-key reset, customer
 * creation, TOTP enrolment), the console's own session credentials, and a master secret's
 * audited reveal after the caller re-entered its password; never in logs.
 * @module
 */
import type { RawRequest, RequestContext } from '../http/raw-request.js'
import { parseQuery } from '../http/raw-request.js'
import type { HttpResponse } from '../http/http-response.js'
import { adminContext, authorizeRoute, requireAdminAccess } from './authorization.js'
import { isPublic, onceText } from './call.js'
import { checkCsrf } from './console-session.js'
import type { AdminDeps } from './deps.js'
import { AdminError, renderAdminError, toAdminError } from './errors.js'
import { match, segmentsOf } from './router.js'
import { authenticate, login } from './session.js'
import { audited, beginAdminChange } from './audit-record.js'

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
      const fn = route.methods[method]
      if (fn !== undefined && isPublic(fn)) {
        const res = await fn.run(deps, raw, ctx, now)
        raw.body.resume()
        return res
      }
      const { actor, console } = await authenticate(deps, raw, now)
      if (access !== undefined)
        access.principal =
          actor.kind === 'operator'
            ? { kind: 'operator', user: actor.name }
            : {
                kind: 'user',
                account: actor.account.name,
                user: actor.user.username,
              }
      // With the cookie: the CSRF token on every change, and no other site's Origin.
      if (console !== undefined) checkCsrf(deps, raw, console)
      if (!fn)
        throw new AdminError(
          'MethodNotAllowed',
          `${method} is not allowed here (allowed: ${Object.keys(route.methods).join(', ')})`,
        )
      // A console session may belong to a Reader: the admin routes still need admin access.
      if (fn.access !== 'self' && console !== undefined && actor.kind === 'user')
        await requireAdminAccess(deps.iam, actor.principal, adminContext(actor.principal, raw, now))
      const call = {
        raw,
        ctx,
        params: route.params,
        query: parseQuery(raw.rawQuery),
        actor,
        now,
        text: onceText(raw),
        ...(console !== undefined ? { console } : {}),
      }
      if (fn.access !== 'self') await authorizeRoute(deps, fn, call)
      const change =
        deps.auditSink !== undefined && audited(method, fn.action)
          ? await beginAdminChange(deps, deps.auditSink, fn, call, route.pattern, method)
          : undefined
      const res = await fn.run(deps, call)
      raw.body.resume() // discard any body a route did not read
      await change?.done(res)
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
