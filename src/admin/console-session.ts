/**
 * The web console's sign-in: a cookie instead of a Bearer token, because a token the page's
 * script holds is one XSS away from leaving the browser, while an HttpOnly, SameSite=Strict
 * cookie is not readable by script and is not sent by other sites.
 *
 * Why the console session is an STS session (source `console`, one hour) and not a signed token:
 * it then dies like every temporary credential — logout revokes it, expiry, deactivation, a key
 * reset or an admin's revocation end it on every node through the session store and its change
 * feed — it shows in the Sessions listing, and its own S3 credentials are what the page signs its
 * S3 calls with. The cookie names the session (access key id and session token) and carries an
 * HMAC under a key derived from the master key, so only a sign-in can make one: the credentials
 * the page is given (GET console/credentials) are not enough to forge a cookie elsewhere.
 *
 * CSRF: every state-changing call made with the cookie must carry `X-CSRF-Token`, an HMAC of the
 * session's access key id (stateless, the same on every node), and a present `Origin` must name
 * this host. Bearer tokens are not ambient and need neither.
 * @module
 */
import { createHmac, timingSafeEqual } from 'node:crypto'
import { roleFor, sessionNameFrom } from '../iam/role-identity.js'
import type { RawRequest } from '../http/raw-request.js'
import type { HttpResponse } from '../http/http-response.js'
import { OTP_REQUIRED } from '../iam/logins.js'
import type { KnownPrincipal } from '../iam/service.js'
import { IamError } from '../iam/types.js'
import { isoMillis } from '../lib/time-format.js'
import type { IamAction } from '../policy/actions.js'
import { authorizeAdmin, iamAccountArn } from '../policy/admin-authorize.js'
import { adminContext } from './authorization.js'
import type { Actor, AdminDeps, ConsoleSession } from './deps.js'

export type { ConsoleSession } from './deps.js'
import { AdminError } from './errors.js'
import { ok } from './render.js'

export const CONSOLE_COOKIE = 'latchkey_console'
/** How long a console session lives (capped by --sts-max-duration). */
export const CONSOLE_SESSION_SECONDS = 3600
/** The account the operator's console session acts in (as its root). */
export const OPERATOR_ACCOUNT = 'default'

function consoleKey(d: Pick<AdminDeps, 'jwtKey'>): Buffer {
  return createHmac('sha256', d.jwtKey).update('latchkey console cookie v1').digest()
}

function mac(key: Buffer, ...parts: string[]): string {
  return createHmac('sha256', key).update(parts.join('\u0000')).digest('base64url')
}

function sameText(a: string, b: string): boolean {
  const x = Buffer.from(a)
  const y = Buffer.from(b)
  return x.length === y.length && timingSafeEqual(x, y)
}

/** The CSRF token of a console session: the same on every node, for the session's life. */
export function csrfTokenOf(d: Pick<AdminDeps, 'jwtKey'>, accessKeyId: string): string {
  return mac(consoleKey(d), 'csrf', accessKeyId)
}

function cookieValue(d: Pick<AdminDeps, 'jwtKey'>, s: ConsoleSession): string {
  const k = s.kind === 'operator' ? 'o' : 'u'
  return `${s.accessKeyId}~${k}~${s.sessionToken}~${mac(consoleKey(d), 'cookie', s.accessKeyId, k, s.sessionToken)}`
}

/**
 * Whether the browser reached us over HTTPS: our own TLS, or a TLS-terminating proxy in front
 * (the page's Origin, or X-Forwarded-Proto, says https). A spoofed header only makes the client's
 * own cookie HTTPS-only, so no trust is needed to honour it.
 */
function viaHttps(raw: RawRequest): boolean {
  return (
    raw.secure ||
    (raw.headers['origin'] ?? '').toLowerCase().startsWith('https://') ||
    (raw.headers['x-forwarded-proto'] ?? '').trim().toLowerCase() === 'https'
  )
}

/** `Set-Cookie` for a session (`maxAge` 0 clears it); Secure when the browser came over HTTPS. */
export function setCookie(raw: RawRequest, value: string, maxAge: number): string {
  const secure = viaHttps(raw) ? '; Secure' : ''
  return `${CONSOLE_COOKIE}=${value}; Path=/; HttpOnly; SameSite=Strict; Max-Age=${String(maxAge)}${secure}`
}

export function clearCookie(raw: RawRequest): string {
  return setCookie(raw, '', 0)
}

/** The console cookie's value, if the request carries one. */
export function consoleCookie(raw: RawRequest): string | undefined {
  const header = raw.headers['cookie']
  if (header === undefined) return undefined
  for (const part of header.split(';')) {
    const eq = part.indexOf('=')
    if (eq < 0) continue
    if (part.slice(0, eq).trim() === CONSOLE_COOKIE) {
      const v = part.slice(eq + 1).trim()
      return v === '' ? undefined : v
    }
  }
  return undefined
}

const UNAUTHORIZED = 'The console session has ended; sign in again'

/**
 * The caller behind a console cookie: the cookie's HMAC checked, its session resolved (alive,
 * not revoked, not expired, token right), then the operator or the user re-read from IAM.
 */
export async function consoleCaller(
  d: AdminDeps,
  value: string,
  now: number,
): Promise<{ actor: Actor; session: ConsoleSession }> {
  const parts = value.split('~')
  const [akid, k, token, tag] = parts
  if (
    parts.length !== 4 ||
    akid === undefined ||
    token === undefined ||
    tag === undefined ||
    (k !== 'o' && k !== 'u') ||
    !sameText(tag, mac(consoleKey(d), 'cookie', akid, k, token))
  )
    throw new AdminError('Unauthorized', UNAUTHORIZED)
  const cred = await d.iam.resolve(akid)
  if (cred?.session === undefined || cred.principal.kind !== 'session')
    throw new AdminError('Unauthorized', UNAUTHORIZED)
  if (d.iam.checkSessionToken(cred, token, now) !== 'ok')
    throw new AdminError('Unauthorized', UNAUTHORIZED)
  const session: ConsoleSession = {
    accessKeyId: akid,
    secretKey: cred.secretKey,
    sessionToken: token,
    expiresAt: cred.session.expiresAt,
    kind: k === 'o' ? 'operator' : 'user',
  }
  const parent = cred.principal.parent
  if (k === 'o') {
    const name = d.iam.operatorName()
    if (parent.kind !== 'account-root' || name === undefined)
      throw new AdminError('Unauthorized', UNAUTHORIZED)
    return { actor: { kind: 'operator', name }, session }
  }
  if (parent.kind !== 'user') throw new AdminError('Unauthorized', UNAUTHORIZED)
  const user = d.iam.getUser(parent.userId)
  const account = user ? d.iam.getAccount(user.accountId) : undefined
  if (!user || !account || !user.isActive) throw new AdminError('Unauthorized', UNAUTHORIZED)
  const principal = {
    kind: 'user' as const,
    accountId: account.id,
    accountName: account.name,
    userId: user.id,
    username: user.username,
    role: user.role,
    accessKeyId: user.accessKeyId ?? '',
  }
  return { actor: { kind: 'user', user, account, principal }, session }
}

/**
 * Refuse a state-changing call made with the cookie unless it carries the session's CSRF token;
 * and any cookie call whose `Origin` is another host (a browser always sends it cross-site).
 */
export function checkCsrf(d: AdminDeps, raw: RawRequest, s: ConsoleSession): void {
  checkOrigin(raw)
  const method = raw.method.toUpperCase()
  if (method === 'GET' || method === 'HEAD') return
  const given = raw.headers['x-csrf-token'] ?? ''
  if (given === '' || !sameText(given, csrfTokenOf(d, s.accessKeyId)))
    throw new AdminError('InvalidCsrfToken', 'Missing or wrong X-CSRF-Token header')
}

/** A present Origin must be this host (scheme aside: a TLS-terminating proxy changes it). */
export function checkOrigin(raw: RawRequest): void {
  const origin = raw.headers['origin']
  if (origin === undefined) return
  let host: string | undefined
  try {
    host = origin === 'null' ? undefined : new URL(origin).host
  } catch {
    host = undefined
  }
  if (host === undefined || host.toLowerCase() !== (raw.headers['host'] ?? '').toLowerCase())
    throw new AdminError('InvalidCsrfToken', `Requests from origin ${origin} are not accepted`)
}

/**
 * Who a caller acts as when it mints credentials for itself: a user itself (no key: the
 * credential survives a key rotation but not a deactivation), the operator the default
 * account's root.
 */
export function principalOf(d: AdminDeps, actor: Actor): KnownPrincipal {
  if (actor.kind === 'user') return Object.assign({}, actor.principal, { accessKeyId: '' })
  const info = d.iam.byName(OPERATOR_ACCOUNT)
  const account = info ? d.iam.getAccount(info.id) : undefined
  if (!account) throw new AdminError('InternalError', 'The default account is missing')
  return {
    kind: 'account-root',
    accountId: account.id,
    accountName: account.name,
    accessKeyId: account.masterAccessKeyId,
  }
}

function maxDuration(d: AdminDeps): number {
  return d.console?.maxDurationSeconds ?? 43200
}

/** `me`: who is signed in and what the console's menu shows (the API decides anyway). */
export async function meOf(
  d: AdminDeps,
  actor: Actor,
  raw: RawRequest,
  now: number,
): Promise<Record<string, unknown>> {
  if (actor.kind === 'operator') {
    const info = d.iam.byName(OPERATOR_ACCOUNT)
    return {
      kind: 'operator',
      username: actor.name,
      customer: OPERATOR_ACCOUNT,
      account_id: info?.id ?? null,
      role: 'Root',
      totp_enabled: false,
      can: {
        buckets: true,
        users: true,
        sessions: true,
        customers: true,
        policies: true,
        audit: true,
        master_key: true,
      },
    }
  }
  const p = actor.principal
  const policies = await d.iam.policiesFor(p)
  const context = adminContext(p, raw, now)
  const own = iamAccountArn(p.accountId)
  const may = (action: IamAction, resource = own): boolean =>
    authorizeAdmin({ principal: p, policies, action, resource, context }).decision.effect ===
    'allow'
  return {
    kind: 'user',
    username: p.username,
    customer: p.accountName,
    account_id: p.accountId,
    role: p.role,
    totp_enabled: actor.user.totpEnabled,
    can: {
      buckets: true,
      users: may('iam:ListUsers'),
      sessions: may('iam:ListSessions'),
      customers: actor.account.type === 'reseller' && may('iam:ListAccounts'),
      policies: may('iam:SimulateCustomPolicy', '*'),
      audit: may('iam:ListAuditEvents'),
      master_key: may('iam:GetMasterKey'),
    },
  }
}

/** The session answer: the CSRF token, the expiry, who, and the limits the console shows. */
export async function sessionAnswer(
  d: AdminDeps,
  actor: Actor,
  s: ConsoleSession,
  raw: RawRequest,
  now: number,
): Promise<Record<string, unknown>> {
  return {
    csrf_token: csrfTokenOf(d, s.accessKeyId),
    expires_at: isoMillis(s.expiresAt),
    me: await meOf(d, actor, raw, now),
    limits: { max_duration_seconds: maxDuration(d) },
  }
}

/** POST console/session: sign in (password, code) and start a console session. */
export async function signIn(
  d: AdminDeps,
  raw: RawRequest,
  body: {
    readonly username: string
    readonly password: string
    readonly customer?: string | undefined
    readonly otp?: string | undefined
  },
  now: number,
): Promise<HttpResponse> {
  checkOrigin(raw)
  let who
  try {
    who = await d.iam.authenticateAdmin(
      {
        username: body.username,
        password: body.password,
        address: raw.remoteAddress,
        otpPrompt: true,
        ...(body.otp !== undefined && body.otp !== '' ? { otp: body.otp } : {}),
        ...(body.customer !== undefined && body.customer !== '' ? { customer: body.customer } : {}),
      },
      now,
    )
  } catch (e) {
    if (e instanceof IamError && e.code === 'invalid' && e.message === OTP_REQUIRED)
      throw new AdminError('OtpRequired', OTP_REQUIRED)
    throw e
  }
  let actor: Actor
  if (who.kind === 'operator') actor = { kind: 'operator', name: who.username }
  else {
    const user = d.iam.getUser(who.principal.userId)
    const account = d.iam.getAccount(who.principal.accountId)
    if (!user || !account) throw new AdminError('Unauthorized', 'Invalid credentials')
    actor = { kind: 'user', user, account, principal: who.principal }
  }
  const caller = principalOf(d, actor)
  const issued = await d.iam.issue(
    {
      caller,
      sessionName: sessionNameFrom(
        `console-${actor.kind === 'operator' ? actor.name : actor.user.username}`,
      ),
      durationSeconds: Math.min(CONSOLE_SESSION_SECONDS, maxDuration(d)),
      policies: [],
      ...roleFor(caller),
      withToken: true,
      source: 'console',
    },
    now,
  )
  const session: ConsoleSession = {
    accessKeyId: issued.accessKeyId,
    secretKey: issued.secretAccessKey,
    sessionToken: issued.sessionToken,
    expiresAt: issued.expiresAt,
    kind: actor.kind,
  }
  const maxAge = Math.max(0, Math.floor((issued.expiresAt - now) / 1000))
  return ok(200, await sessionAnswer(d, actor, session, raw, now), {
    'set-cookie': setCookie(raw, cookieValue(d, session), maxAge),
  })
}
