/**
 * The admin REST API (contract §5): JSON over the shared port, `Authorization: Bearer <JWT>`.
 *
 * Request flow, once for every route: 1. match (method, path) in the route table; 2. except for
 * login, verify the JWT and re-read the caller from IAM (operator, or an active SuperUser);
 * 3. read and validate the body with zod; 4. check the target account is visible to the caller
 * (operator: all; SuperUser: its account, plus the accounts under it when it is a reseller) —
 * another account's customer or user is Forbidden; 5. call IamService; 6. render JSON.
 *
 * Lists are paginated with `?limit=` (1-1000, default 100) and `?offset=` (default 0); the answer
 * is a JSON array, with the total in `x-total-count` and `x-next-offset` when more remain.
 * Secrets appear only in the answers that create them (credentials, master-key reset, customer
 * creation, TOTP enrolment), never in logs.
 * @module
 */
import type { Clock } from '../lib/clock.js'
import type { Logger } from '../lib/logger.js'
import type { RawRequest, RequestContext } from '../http/raw-request.js'
import { parseQuery } from '../http/raw-request.js'
import { isoMillis } from '../lib/time-format.js'
import { decodePlusLiteralOrKeep } from '../http/percent.js'
import { jsonResponse, type HttpResponse } from '../http/http-response.js'
import type { IamService, AccountView, UserView } from '../iam/service.js'
import type { SessionInfo } from '../iam/types.js'
import type { SimulateInput, SimulateResult } from '../policy/simulate.js'
import { PolicyError } from '../policy/types.js'
import { AdminError, renderAdminError, toAdminError } from './errors.js'
import { parseJson, readBodyText } from './body.js'
import { signAdminToken, verifyAdminToken } from './jwt.js'
import {
  allowlistBody,
  createCustomerBody,
  createUserBody,
  loginBody,
  parseBody,
  patchUserBody,
  simulateBody,
} from './schemas.js'

export interface AdminDeps {
  readonly iam: IamService
  readonly clock: Clock
  readonly log: Logger
  /** HS256 key for admin JWTs (derive it from the master key). */
  readonly jwtKey: Buffer
  readonly simulate: (input: SimulateInput, now: number) => SimulateResult
}

export type AdminHandler = (raw: RawRequest, ctx: RequestContext) => Promise<HttpResponse>

/** Who is calling, re-read from IAM on every request. */
export type Actor =
  | { readonly kind: 'operator'; readonly name: string }
  | { readonly kind: 'user'; readonly user: UserView; readonly account: AccountView }

interface Call {
  readonly raw: RawRequest
  readonly ctx: RequestContext
  readonly params: readonly string[]
  readonly query: ReadonlyMap<string, string>
  readonly actor: Actor
  readonly now: number
}

type Route = (d: AdminDeps, c: Call) => Promise<HttpResponse>
type PublicRoute = (d: AdminDeps, raw: RawRequest, ctx: RequestContext) => Promise<HttpResponse>

export const ADMIN_PREFIX = '/api/admin'

// ---------------------------------------------------------------------------------------------
// Rendering

const iso = (ms: number | undefined): string | null => (ms === undefined ? null : isoMillis(ms))

function userJson(u: UserView): Record<string, unknown> {
  return {
    id: u.id,
    username: u.username,
    role: u.role,
    is_active: u.isActive,
    customer: u.accountName,
    customer_id: u.accountId,
    email: u.email ?? null,
    firstname: u.firstname ?? null,
    lastname: u.lastname ?? null,
    created_at: iso(u.createdAt),
    last_access: iso(u.lastAccess),
    access_key: u.accessKeyId ?? null,
    totp_enabled: u.totpEnabled,
    has_policy: u.hasPolicy,
  }
}

function customerJson(iam: IamService, a: AccountView): Record<string, unknown> {
  return {
    id: a.id,
    name: a.name,
    type: a.type,
    reseller: a.resellerId !== undefined ? (iam.byId(a.resellerId)?.name ?? null) : null,
    reseller_id: a.resellerId ?? null,
    canonical_id: a.canonicalId,
    created_at: iso(a.createdAt),
    allowlist: a.allowlist,
    master_access_key: a.masterAccessKeyId,
  }
}

function sessionJson(iam: IamService, s: SessionInfo): Record<string, unknown> {
  const p = s.parent
  return {
    access_key: s.accessKeyId,
    customer: iam.byId(s.accountId)?.name ?? null,
    customer_id: s.accountId,
    session_name: s.sessionName,
    parent:
      p.kind === 'account-root'
        ? { kind: 'master-key', customer_id: p.accountId, access_key: p.accessKeyId }
        : {
            kind: 'user',
            customer_id: p.accountId,
            user_id: p.userId,
            username: p.username,
            access_key: p.accessKeyId ?? null,
          },
    issued_at: iso(s.issuedAt),
    expires_at: iso(s.expiresAt),
    has_policy: s.hasPolicy,
  }
}

const NO_STORE = { 'cache-control': 'no-store' }
const ok = (status: number, value: unknown, headers: Record<string, string> = {}) =>
  jsonResponse(status, value, { ...NO_STORE, ...headers })
const noContent = (): HttpResponse => ({ status: 204, headers: NO_STORE })

function paginate<T>(
  items: readonly T[],
  query: ReadonlyMap<string, string>,
  render: (t: T) => unknown,
): HttpResponse {
  const limit = intParam(query, 'limit', 100, 1, 1000)
  const offset = intParam(query, 'offset', 0, 0, Number.MAX_SAFE_INTEGER)
  const page = items.slice(offset, offset + limit)
  const headers: Record<string, string> = { 'x-total-count': String(items.length) }
  if (offset + page.length < items.length) headers['x-next-offset'] = String(offset + page.length)
  return ok(200, page.map(render), headers)
}

function intParam(
  q: ReadonlyMap<string, string>,
  name: string,
  def: number,
  min: number,
  max: number,
): number {
  const v = q.get(name)
  if (v === undefined || v === '') return def
  if (!/^\d{1,16}$/.test(v) || Number(v) < min || Number(v) > max) {
    throw new AdminError('ValidationError', `${name} must be an integer from ${min} to ${max}`)
  }
  return Number(v)
}

// ---------------------------------------------------------------------------------------------
// Visibility

/** The account ids the actor may see and change. */
export function visibleAccountIds(iam: IamService, actor: Actor): readonly string[] {
  if (actor.kind === 'operator') return iam.listAccounts().map((a) => a.id)
  const own = actor.account
  if (own.type !== 'reseller') return [own.id]
  return [
    own.id,
    ...iam
      .listAccounts()
      .filter((a) => a.resellerId === own.id)
      .map((a) => a.id),
  ]
}

function canSee(iam: IamService, actor: Actor, accountId: string): boolean {
  return visibleAccountIds(iam, actor).includes(accountId)
}

/** A customer by name that the actor may act on: 404 when unknown, 403 when another's. */
function visibleCustomer(d: AdminDeps, actor: Actor, name: string): AccountView {
  const info = d.iam.byName(name)
  const a = info ? d.iam.getAccount(info.id) : undefined
  if (!a) throw new AdminError('NotFound', `No such customer: ${name}`)
  if (!canSee(d.iam, actor, a.id))
    throw new AdminError('Forbidden', `Customer ${name} belongs to another account`)
  return a
}

/** A user by id that the actor may act on: 404 when unknown, 403 when in another account. */
function visibleUser(d: AdminDeps, actor: Actor, id: string): UserView {
  const u = d.iam.getUser(id)
  if (!u) throw new AdminError('NotFound', `No such user: ${id}`)
  if (!canSee(d.iam, actor, u.accountId))
    throw new AdminError('Forbidden', `User ${id} belongs to another account`)
  return u
}

function param(c: Call, i: number): string {
  return c.params[i] ?? ''
}

async function jsonBody(raw: RawRequest): Promise<unknown> {
  return parseJson(await readBodyText(raw.body))
}

// ---------------------------------------------------------------------------------------------
// Routes

const login: PublicRoute = async (d, raw, ctx) => {
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
  if (who.kind === 'user' && who.principal.role !== 'SuperUser') {
    throw new AdminError('Forbidden', 'Only SuperUsers may use the admin API')
  }
  const claims =
    who.kind === 'operator'
      ? { sub: who.username, kind: 'operator' as const, account: '' }
      : { sub: who.principal.userId, kind: 'user' as const, account: who.principal.accountId }
  const { token, expiresAt } = await signAdminToken(d.jwtKey, claims, now)
  ctx.log.info({ sub: claims.sub, kind: claims.kind }, 'admin login')
  return ok(200, { token, expires_at: iso(expiresAt) })
}

const listUsers: Route = async (d, c) => {
  const customer = c.query.get('customer')
  const ids =
    customer !== undefined && customer !== ''
      ? [visibleCustomer(d, c.actor, customer).id]
      : visibleAccountIds(d.iam, c.actor)
  return paginate(d.iam.listUsers(ids), c.query, userJson)
}

const createUser: Route = async (d, c) => {
  const b = parseBody(createUserBody, await jsonBody(c.raw))
  const account =
    b.customer !== undefined
      ? visibleCustomer(d, c.actor, b.customer)
      : c.actor.kind === 'user'
        ? c.actor.account
        : visibleCustomer(d, c.actor, 'default')
  const u = await d.iam.createUser(
    {
      accountId: account.id,
      username: b.username,
      password: b.password,
      role: b.role,
      ...(b.email !== undefined ? { email: b.email } : {}),
      ...(b.firstname !== undefined ? { firstname: b.firstname } : {}),
      ...(b.lastname !== undefined ? { lastname: b.lastname } : {}),
    },
    c.now,
  )
  c.ctx.log.info({ userId: u.id, accountId: u.accountId }, 'admin: user created')
  return ok(201, userJson(u))
}

const getUser: Route = async (d, c) => ok(200, userJson(visibleUser(d, c.actor, param(c, 0))))

const patchUser: Route = async (d, c) => {
  const u = visibleUser(d, c.actor, param(c, 0))
  const b = parseBody(patchUserBody, await jsonBody(c.raw))
  const updated = await d.iam.updateUser(u.id, {
    ...(b.role !== undefined ? { role: b.role } : {}),
    ...(b.is_active !== undefined ? { isActive: b.is_active } : {}),
    ...(b.password !== undefined ? { password: b.password } : {}),
    ...(b.email !== undefined ? { email: b.email } : {}),
    ...(b.firstname !== undefined ? { firstname: b.firstname } : {}),
    ...(b.lastname !== undefined ? { lastname: b.lastname } : {}),
  })
  return ok(200, userJson(updated))
}

const deleteUser: Route = async (d, c) => {
  const u = visibleUser(d, c.actor, param(c, 0))
  await d.iam.deleteUser(u.id)
  c.ctx.log.info({ userId: u.id }, 'admin: user deleted')
  return noContent()
}

const createCredentials: Route = async (d, c) => {
  const u = visibleUser(d, c.actor, param(c, 0))
  const k = await d.iam.generateKey(u.id, c.now)
  c.ctx.log.info({ userId: u.id, accessKeyId: k.accessKeyId }, 'admin: credentials generated')
  return ok(201, { access_key: k.accessKeyId, secret_key: k.secretKey })
}

const deleteCredentials: Route = async (d, c) => {
  const u = visibleUser(d, c.actor, param(c, 0))
  if (!(await d.iam.revokeKey(u.id)))
    throw new AdminError('NotFound', `User ${u.id} has no credentials`)
  c.ctx.log.info({ userId: u.id }, 'admin: credentials revoked')
  return noContent()
}

const putPolicy: Route = async (d, c) => {
  const u = visibleUser(d, c.actor, param(c, 0))
  const text = await readBodyText(c.raw.body)
  parseJson(text)
  const policy = await d.iam.putUserPolicy(u.id, text)
  return ok(200, policy)
}

const getPolicy: Route = async (d, c) => {
  const u = visibleUser(d, c.actor, param(c, 0))
  const text = d.iam.getUserPolicy(u.id)
  if (text === undefined) throw new AdminError('NotFound', `User ${u.id} has no policy`)
  return ok(200, JSON.parse(text) as unknown)
}

const deletePolicy: Route = async (d, c) => {
  const u = visibleUser(d, c.actor, param(c, 0))
  if (!(await d.iam.deleteUserPolicy(u.id)))
    throw new AdminError('NotFound', `User ${u.id} has no policy`)
  return noContent()
}

const enrollTotp: Route = async (d, c) => {
  const u = visibleUser(d, c.actor, param(c, 0))
  const t = await d.iam.enrollTotp(u.id)
  return ok(200, { secret: t.secret, otpauth_url: t.otpauthUrl })
}

const deleteTotp: Route = async (d, c) => {
  const u = visibleUser(d, c.actor, param(c, 0))
  if (!(await d.iam.deleteTotp(u.id)))
    throw new AdminError('NotFound', `User ${u.id} has no TOTP enrolment`)
  return noContent()
}

const listCustomers: Route = async (d, c) => {
  const ids = new Set(visibleAccountIds(d.iam, c.actor))
  return paginate(
    d.iam.listAccounts().filter((a) => ids.has(a.id)),
    c.query,
    (a) => customerJson(d.iam, a),
  )
}

const createCustomer: Route = async (d, c) => {
  const b = parseBody(createCustomerBody, await jsonBody(c.raw))
  let resellerId: string | undefined
  if (c.actor.kind === 'user') {
    const own = c.actor.account
    if (own.type !== 'reseller')
      throw new AdminError('Forbidden', 'Only the operator or a reseller may create customers')
    if (b.type !== 'customer')
      throw new AdminError('Forbidden', 'A reseller may only create customer accounts')
    if (b.reseller !== undefined && b.reseller !== own.name) {
      throw new AdminError('Forbidden', `Customer ${b.reseller} belongs to another account`)
    }
    resellerId = own.id
  } else if (b.reseller !== undefined) {
    const r = d.iam.byName(b.reseller)
    if (!r) throw new AdminError('NotFound', `No such reseller: ${b.reseller}`)
    resellerId = r.id
  }
  const { account, masterKey } = await d.iam.createAccount(
    { name: b.name, type: b.type, ...(resellerId !== undefined ? { resellerId } : {}) },
    c.now,
  )
  c.ctx.log.info({ accountId: account.id, type: account.type }, 'admin: customer created')
  return ok(201, {
    ...customerJson(d.iam, account),
    master_key: { access_key: masterKey.accessKeyId, secret_key: masterKey.secretKey },
  })
}

const getCustomer: Route = async (d, c) =>
  ok(200, customerJson(d.iam, visibleCustomer(d, c.actor, param(c, 0))))

const getMasterKey: Route = async (d, c) =>
  ok(200, { access_key: visibleCustomer(d, c.actor, param(c, 0)).masterAccessKeyId })

const resetMasterKey: Route = async (d, c) => {
  const a = visibleCustomer(d, c.actor, param(c, 0))
  const k = await d.iam.resetMasterKey(a.id)
  c.ctx.log.info({ accountId: a.id }, 'admin: master key secret reset')
  return ok(200, { access_key: k.accessKeyId, secret_key: k.secretKey })
}

const getAllowlist: Route = async (d, c) =>
  ok(200, { cidrs: visibleCustomer(d, c.actor, param(c, 0)).allowlist })

const putAllowlist: Route = async (d, c) => {
  const a = visibleCustomer(d, c.actor, param(c, 0))
  const b = parseBody(allowlistBody, await jsonBody(c.raw))
  return ok(200, { cidrs: await d.iam.setAllowlist(a.id, b.cidrs) })
}

const listSessions: Route = async (d, c) => {
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
  return paginate(out, c.query, (s) => sessionJson(d.iam, s))
}

const revokeSession: Route = async (d, c) => {
  const akid = param(c, 0)
  const s = await d.iam.getSession(akid, c.now)
  if (!s) throw new AdminError('NotFound', `No such active session: ${akid}`)
  if (!canSee(d.iam, c.actor, s.accountId))
    throw new AdminError('Forbidden', `Session ${akid} belongs to another account`)
  await d.iam.revoke(akid)
  c.ctx.log.info({ accessKeyId: akid }, 'admin: session revoked')
  return noContent()
}

const simulatePolicy: Route = async (d, c) => {
  const b = parseBody(simulateBody, await jsonBody(c.raw))
  const input: SimulateInput = {
    policies: b.policies,
    action: b.action,
    resource: b.resource,
    ...(b.bucket_policy !== undefined ? { bucket_policy: b.bucket_policy } : {}),
    ...(b.session_policy !== undefined ? { session_policy: b.session_policy } : {}),
    ...(b.principal !== undefined ? { principal: b.principal } : {}),
    ...(b.context !== undefined ? { context: b.context } : {}),
  }
  try {
    return ok(200, d.simulate(input, c.now))
  } catch (e) {
    if (e instanceof PolicyError) throw new AdminError('ValidationError', e.message)
    throw e
  }
}

/** Path pattern (segments after /api/admin; ':' = parameter) → method → route. */
const ROUTES: readonly {
  readonly pattern: readonly string[]
  readonly methods: Readonly<Record<string, Route>>
}[] = [
  { pattern: ['users'], methods: { GET: listUsers, POST: createUser } },
  { pattern: ['users', ':'], methods: { GET: getUser, PATCH: patchUser, DELETE: deleteUser } },
  {
    pattern: ['users', ':', 'credentials'],
    methods: { POST: createCredentials, DELETE: deleteCredentials },
  },
  {
    pattern: ['users', ':', 'policy'],
    methods: { PUT: putPolicy, GET: getPolicy, DELETE: deletePolicy },
  },
  { pattern: ['users', ':', 'totp'], methods: { POST: enrollTotp, DELETE: deleteTotp } },
  { pattern: ['customers'], methods: { GET: listCustomers, POST: createCustomer } },
  { pattern: ['customers', ':'], methods: { GET: getCustomer } },
  { pattern: ['customers', ':', 'master-key'], methods: { GET: getMasterKey } },
  { pattern: ['customers', ':', 'master-key', 'reset'], methods: { POST: resetMasterKey } },
  { pattern: ['customers', ':', 'allowlist'], methods: { GET: getAllowlist, PUT: putAllowlist } },
  { pattern: ['sessions'], methods: { GET: listSessions } },
  { pattern: ['sessions', ':'], methods: { DELETE: revokeSession } },
  { pattern: ['policy', 'simulate'], methods: { POST: simulatePolicy } },
]

function match(
  segments: readonly string[],
): { methods: Readonly<Record<string, Route>>; params: string[] } | undefined {
  for (const r of ROUTES) {
    if (r.pattern.length !== segments.length) continue
    const params: string[] = []
    let hit = true
    for (let i = 0; i < segments.length; i++) {
      const p = r.pattern[i]
      const s = segments[i] ?? ''
      if (p === ':') params.push(s)
      else if (p !== s) {
        hit = false
        break
      }
    }
    if (hit) return { methods: r.methods, params }
  }
  return undefined
}

/** Split the path after /api/admin into decoded segments; undefined for tricks like `..`. */
function segmentsOf(rawPath: string): string[] | undefined {
  if (rawPath !== ADMIN_PREFIX && !rawPath.startsWith(ADMIN_PREFIX + '/')) return undefined
  const rest = rawPath.slice(ADMIN_PREFIX.length).replace(/^\/+/, '').replace(/\/+$/, '')
  if (rest === '') return []
  const segs = rest.split('/').map(decodePlusLiteralOrKeep)
  if (segs.some((s) => s === '' || s === '.' || s === '..' || s.includes('/') || s.length > 256))
    return undefined
  return segs
}

async function authenticate(d: AdminDeps, raw: RawRequest, now: number): Promise<Actor> {
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
  if (user.role !== 'SuperUser')
    throw new AdminError('Forbidden', 'Only SuperUsers may use the admin API')
  return { kind: 'user', user, account }
}

/** The admin surface as one function, for the dispatcher (and for tests, called directly). */
export function createAdminHandler(deps: AdminDeps): AdminHandler {
  return async (raw, ctx) => {
    try {
      const segs = segmentsOf(raw.rawPath)
      if (!segs) throw new AdminError('NotFound', 'No such admin resource')
      const method = raw.method.toUpperCase()
      if (segs.length === 1 && segs[0] === 'login') {
        if (method !== 'POST') throw new AdminError('MethodNotAllowed', 'Use POST /api/admin/login')
        return await login(deps, raw, ctx)
      }
      const route = match(segs)
      if (!route) throw new AdminError('NotFound', 'No such admin resource')
      const now = deps.clock.now()
      const actor = await authenticate(deps, raw, now)
      const fn = route.methods[method]
      if (!fn)
        throw new AdminError(
          'MethodNotAllowed',
          `${method} is not allowed here (allowed: ${Object.keys(route.methods).join(', ')})`,
        )
      const res = await fn(deps, {
        raw,
        ctx,
        params: route.params,
        query: parseQuery(raw.rawQuery),
        actor,
        now,
      })
      raw.body.resume() // discard any body a route did not read
      return res
    } catch (e) {
      raw.body.resume()
      const err = toAdminError(e)
      if (err) return renderAdminError(err, ctx.requestId)
      ctx.log.error({ err: (e as Error).message, path: raw.rawPath }, 'admin: internal error')
      return renderAdminError(new AdminError('InternalError'), ctx.requestId)
    }
  }
}
