/**
 * Signing in to the admin API and recognising the caller on every later request: POST
 * /api/admin/login checks the password (and TOTP) through IAM and returns an HS256 JWT; every
 * other route verifies that token and re-reads the caller from IAM, so a deactivated user, a
 * demoted SuperUser or a renamed operator is refused at once, not when the token expires.
 * Who may use the admin API at all is decided by the policy engine, at login and on every request
 * (authorization.ts `requireAdminAccess`: at least one iam:* action in the caller's own account).
 * @module
 */
import type { RawRequest, RequestContext } from '../http/raw-request.js'
import type { HttpResponse } from '../http/http-response.js'
import { adminContext, requireAdminAccess } from './authorization.js'
import { jsonBody } from './call.js'
import type { Actor, AdminDeps } from './deps.js'
import { AdminError } from './errors.js'
import { consoleCaller, consoleCookie, type ConsoleSession } from './console-session.js'
import { signAdminToken, verifyAdminToken } from './jwt.js'
import { ok, tokenJson } from './render.js'
import { loginBody, parseBody } from './schemas.js'

export async function login(
  d: AdminDeps,
  raw: RawRequest,
  ctx: RequestContext,
): Promise<HttpResponse> {
  const body = parseBody(loginBody, await jsonBody(raw))
  const now = d.clock.now()
  const who = await d.iam.authenticateAdmin(
    {
      username: body.username,
      password: body.password,
      address: raw.remoteAddress,
      ...(body.otp !== undefined ? { otp: body.otp } : {}),
      ...(body.customer !== undefined ? { customer: body.customer } : {}),
    },
    now,
  )
  if (who.kind === 'user')
    await requireAdminAccess(d.iam, who.principal, adminContext(who.principal, raw, now))
  const claims =
    who.kind === 'operator'
      ? { sub: who.username, kind: 'operator' as const, account: '' }
      : { sub: who.principal.userId, kind: 'user' as const, account: who.principal.accountId }
  const { token, expiresAt } = await signAdminToken(d.jwtKey, claims, now)
  ctx.log.info({ sub: claims.sub, kind: claims.kind }, 'admin login')
  return ok(200, tokenJson(token, expiresAt))
}

/**
 * The caller of a request: its Bearer token verified, then re-read from IAM; without an
 * Authorization header, the console's cookie (console-session.ts). A Bearer caller must be
 * allowed some admin action; a console caller is checked per route (the console's own routes
 * are open to every signed-in user).
 */
export async function authenticate(
  d: AdminDeps,
  raw: RawRequest,
  now: number,
): Promise<{ actor: Actor; console?: ConsoleSession }> {
  if (raw.headers['authorization'] === undefined) {
    const cookie = consoleCookie(raw)
    if (cookie !== undefined) {
      const { actor, session } = await consoleCaller(d, cookie, now)
      return { actor, console: session }
    }
  }
  return { actor: await bearerCaller(d, raw, now) }
}

async function bearerCaller(d: AdminDeps, raw: RawRequest, now: number): Promise<Actor> {
  const h = raw.headers['authorization'] ?? ''
  const m = /^Bearer\s+([A-Za-z0-9_.-]+)$/i.exec(h.trim())
  if (!m?.[1])
    throw new AdminError('Unauthorized', 'Missing or malformed Authorization: Bearer token')
  const claims = await verifyAdminToken(d.jwtKey, m[1], now)
  if (!claims) throw new AdminError('Unauthorized', 'Invalid or expired token')
  if (claims.kind === 'operator') {
    if (claims.sub !== d.iam.operatorName())
      throw new AdminError('Unauthorized', 'Invalid or expired token')
    return { kind: 'operator', name: claims.sub }
  }
  const user = d.iam.getUser(claims.sub)
  const account = user ? d.iam.getAccount(user.accountId) : undefined
  if (!user || !account || !user.isActive || user.accountId !== claims.account) {
    throw new AdminError('Unauthorized', 'Invalid or expired token')
  }
  const principal = {
    kind: 'user' as const,
    accountId: account.id,
    accountName: account.name,
    userId: user.id,
    username: user.username,
    role: user.role,
    accessKeyId: user.accessKeyId ?? '',
  }
  await requireAdminAccess(d.iam, principal, adminContext(principal, raw, now))
  return { kind: 'user', user, account, principal }
}
