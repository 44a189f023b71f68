/**
 * Test doubles for the STS unit tests: an in-memory StsIam that records what it was asked to
 * issue, a fake authenticate that maps access key ids to principals (or throws a given AuthError),
 * and a RawRequest builder. Not part of the build (*.case.ts).
 * @module
 */
import { Readable } from 'node:stream'
import type { Principal } from '../auth/principal.js'
import {
  IamError,
  type AccountInfo,
  type IssuedSession,
  type PrincipalPolicies,
  type SessionRequest,
} from '../iam/types.js'
import { ManualClock } from '../lib/clock.js'
import { silentLogger } from '../lib/logger.js'
import type { CompiledPolicy } from '../policy/document.js'
import { MASTER_KEY_POLICY, rolePolicy } from '../policy/presets.js'
import type { RawRequest, RequestContext } from '../http/raw-request.js'
import type { AuthError } from '../auth/errors.js'
import { createStsCore, type StsHandler } from './router.js'
import type {
  KnownPrincipal,
  PasswordLogin,
  StsIam,
  StsUserDetails,
  UserPrincipal,
} from './deps.js'

export const ACCT = '111122223333'
export const RESELLER = '444455556666'
export const CUSTOMER = '777788889999'

export const ROOT: KnownPrincipal = {
  kind: 'account-root',
  accountId: ACCT,
  accountName: 'default',
  accessKeyId: 'ROOTKEY',
}
export const ALICE: UserPrincipal = {
  kind: 'user',
  accountId: ACCT,
  accountName: 'default',
  userId: 'u-alice',
  username: 'alice',
  role: 'Writer',
  accessKeyId: 'S4AKALICE',
}
export const RESELLER_ROOT: KnownPrincipal = {
  kind: 'account-root',
  accountId: RESELLER,
  accountName: 'resell',
  accessKeyId: 'RESELLERKEY',
}

function account(
  id: string,
  name: string,
  type: 'customer' | 'reseller',
  resellerId?: string,
): AccountInfo {
  return {
    id,
    name,
    type,
    canonicalId: id.padEnd(64, '0'),
    allowlist: [],
    ...(resellerId !== undefined ? { resellerId } : {}),
  }
}

export class FakeIam implements StsIam {
  readonly issued: SessionRequest[] = []
  readonly accounts: AccountInfo[] = [
    account(ACCT, 'default', 'customer'),
    account(RESELLER, 'resell', 'reseller'),
    account(CUSTOMER, 'newcorp', 'customer', RESELLER),
  ]
  /** accountId → addresses allowed (absent = all). */
  readonly allow = new Map<string, readonly string[]>()
  readonly extraPolicies = new Map<string, CompiledPolicy[]>()
  readonly sessionPolicies = new Map<string, CompiledPolicy[]>()
  throttle = false
  /** username → password (user ALICE in the default account). */
  passwords = new Map<string, string>([['alice', 'correct horse']])
  otpRequired = false

  issue(req: SessionRequest, now: number): Promise<IssuedSession> {
    if (this.throttle)
      return Promise.reject(new IamError('throttled', 'Too many active sessions', 60))
    this.issued.push(req)
    const target = req.actAs ?? req.caller
    const n = this.issued.length
    const principal = {
      kind: 'session' as const,
      accountId: target.accountId,
      accountName: this.byId(target.accountId)?.name ?? '',
      accessKeyId: `ASIA${String(n).padStart(16, '0')}`,
      sessionName: req.sessionName,
      parent:
        req.caller.kind === 'session'
          ? req.caller.parent
          : req.caller.kind === 'user'
            ? {
                kind: 'user' as const,
                accountId: req.caller.accountId,
                userId: req.caller.userId,
                username: req.caller.username,
              }
            : {
                kind: 'account-root' as const,
                accountId: req.caller.accountId,
                accessKeyId: req.caller.accessKeyId,
              },
      expiresAt: now + req.durationSeconds * 1000,
      roleName: req.roleName,
      roleId: req.roleId,
      issuedAt: now,
    }
    return Promise.resolve({
      accessKeyId: principal.accessKeyId,
      secretAccessKey: 'S'.repeat(40),
      sessionToken: req.withToken ? `LK1.token${n}` : '',
      expiresAt: principal.expiresAt,
      principal,
    })
  }
  byId(id: string): AccountInfo | undefined {
    return this.accounts.find((a) => a.id === id)
  }
  byName(name: string): AccountInfo | undefined {
    return this.accounts.find((a) => a.name === name)
  }
  addressAllowed(accountId: string, address: string): boolean {
    const list = this.allow.get(accountId)
    return list === undefined || list.includes(address)
  }
  policiesFor(p: KnownPrincipal): Promise<PrincipalPolicies> {
    const identity =
      p.kind === 'account-root'
        ? [MASTER_KEY_POLICY]
        : p.kind === 'user'
          ? [rolePolicy(p.role), ...(this.extraPolicies.get(p.userId) ?? [])]
          : [MASTER_KEY_POLICY]
    const session = p.kind === 'session' ? this.sessionPolicies.get(p.accessKeyId) : undefined
    return Promise.resolve(
      session !== undefined && session.length > 0 ? { identity, session } : { identity },
    )
  }
  authenticatePassword(login: PasswordLogin): Promise<UserPrincipal> {
    if (this.throttle)
      return Promise.reject(new IamError('throttled', 'Too many failed logins', 30))
    const ok =
      (login.customer ?? 'default') === 'default' &&
      this.passwords.get(login.username) === login.password &&
      (!this.otpRequired || login.otp === '123456')
    if (!ok) return Promise.reject(new IamError('unauthorized', 'Invalid credentials'))
    return Promise.resolve({ ...ALICE, accessKeyId: '' })
  }
  userDetails(userId: string): StsUserDetails | undefined {
    if (userId !== ALICE.userId) return undefined
    return {
      id: userId,
      username: 'alice',
      email: 'alice@example.com',
      firstname: 'Alice',
      lastname: 'Liddell',
      createdAt: Date.UTC(2025, 0, 1),
      totpEnabled: this.otpRequired,
    }
  }
  masterAccessKeyId(accountId: string): string | undefined {
    return this.byId(accountId) !== undefined ? `MASTER${accountId}` : undefined
  }
}

export interface Harness {
  readonly iam: FakeIam
  readonly clock: ManualClock
  readonly handler: StsHandler
  /** access key id → principal (or an error to throw) the fake authenticate answers with. */
  readonly keys: Map<string, Principal | AuthError>
}

export function harness(config = { stsDefaultDuration: 3600, stsMaxDuration: 43200 }): Harness {
  const iam = new FakeIam()
  const clock = new ManualClock(Date.UTC(2026, 0, 1, 12, 0, 0))
  const keys = new Map<string, Principal | AuthError>([
    ['ROOTKEY', ROOT],
    ['S4AKALICE', ALICE],
    ['RESELLERKEY', RESELLER_ROOT],
  ])
  const handler = createStsCore({
    iam,
    clock,
    log: silentLogger,
    config,
    authenticate: (raw) => {
      const key = raw.headers['x-test-key']
      if (key === undefined) return Promise.resolve({ principal: { kind: 'anonymous' } })
      const p = keys.get(key)
      if (p === undefined) return Promise.reject(new Error(`test: unknown key ${key}`))
      if (p instanceof Error) return Promise.reject(p)
      return Promise.resolve({ principal: p })
    },
  })
  return { iam, clock, handler, keys }
}

export interface Sent {
  readonly status: number
  readonly headers: Readonly<Record<string, string | readonly string[]>>
  readonly text: string
}

/** POST a form to the handler as `key` (undefined = unsigned). */
export async function post(
  h: Harness,
  params: Record<string, string>,
  opts: {
    key?: string
    address?: string
    headers?: Record<string, string>
    method?: 'GET' | 'POST'
  } = {},
): Promise<Sent> {
  const form = new URLSearchParams(params).toString()
  const method = opts.method ?? 'POST'
  const raw: RawRequest = {
    method,
    rawPath: '/',
    rawQuery: method === 'GET' ? form : '',
    headers: {
      host: 'localhost',
      ...(method === 'POST'
        ? { 'content-type': 'application/x-www-form-urlencoded; charset=utf-8' }
        : {}),
      ...(opts.key !== undefined ? { 'x-test-key': opts.key } : {}),
      ...opts.headers,
    },
    body: Readable.from([]),
    remoteAddress: opts.address ?? '127.0.0.1',
    secure: false,
  }
  const ctx: RequestContext = {
    requestId: 'req-1',
    clock: h.clock,
    log: silentLogger,
    receivedAt: h.clock.now(),
  }
  const res = await h.handler(raw, ctx, method === 'POST' ? Buffer.from(form) : Buffer.alloc(0))
  const body = res.body
  const text = typeof body === 'string' ? body : Buffer.isBuffer(body) ? body.toString('utf8') : ''
  return { status: res.status, headers: res.headers ?? {}, text }
}
