/**
 * The admin API's JSON: users, customers and sessions in the contract's snake_case shapes (dates
 * as ISO-8601 with milliseconds, absent values as null), `Cache-Control: no-store` on every
 * answer (they carry secrets or account data), and list pagination: `?limit=` (1-1000, default
 * 100) and `?offset=` (default 0), the total in `x-total-count` and `x-next-offset` when more
 * remain.
 * @module
 */
import { jsonResponse, type HttpResponse } from '../http/http-response.js'
import type { AccountView, UserView } from '../iam/service.js'
import type { SessionInfo } from '../iam/types.js'
import { isoMillis } from '../lib/time-format.js'
import type { AdminIam } from './deps.js'
import { AdminError } from './errors.js'

const iso = (ms: number | undefined): string | null => (ms === undefined ? null : isoMillis(ms))

/**
 * A user as the admin API shows it; `lastUsed` (IamService.keysLastUsed) gives
 * access_key_last_used_at, null when the key was never used (or not asked).
 */
export function userJson(
  u: UserView,
  lastUsed?: ReadonlyMap<string, number>,
): Record<string, unknown> {
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
    access_key_created_at: iso(u.accessKeyCreatedAt),
    access_key_last_used_at: iso(
      u.accessKeyId !== undefined ? lastUsed?.get(u.accessKeyId) : undefined,
    ),
    totp_enabled: u.totpEnabled,
    has_policy: u.hasPolicy,
  }
}

export function customerJson(iam: Pick<AdminIam, 'byId'>, a: AccountView): Record<string, unknown> {
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

export function sessionJson(iam: Pick<AdminIam, 'byId'>, s: SessionInfo): Record<string, unknown> {
  const p = s.parent
  return {
    access_key: s.accessKeyId,
    customer: iam.byId(s.accountId)?.name ?? null,
    customer_id: s.accountId,
    session_name: s.sessionName,
    name: s.sessionName,
    source: s.source,
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
    created_at: iso(s.issuedAt),
    expires_at: iso(s.expiresAt),
    has_policy: s.hasPolicy,
  }
}

/** The login answer: the token and when it expires. */
export function tokenJson(token: string, expiresAt: number): Record<string, unknown> {
  return { token, expires_at: iso(expiresAt) }
}

const NO_STORE = { 'cache-control': 'no-store' }

export const ok = (status: number, value: unknown, headers: Record<string, string> = {}) =>
  jsonResponse(status, value, Object.assign({}, NO_STORE, headers))

export const noContent = (): HttpResponse => ({ status: 204, headers: NO_STORE })

export function paginate<T>(
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

export function intParam(
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
