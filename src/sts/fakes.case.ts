/**
 * The STS unit tests' harness: the STS request flow over the real IamService on memory stores
 * (iam/fixtures.case.ts), so session policies, role chaining, quotas, logins and revocation are
 * the service's own behaviour, not a double's. Only two things stand in: authentication skips the
 * signature maths (it resolves the access key id and checks the session token through the real
 * service, as auth/authenticate.ts does after verifying a signature; the CLI test runs the real
 * verifier), and a test may make authentication fail with a given AuthError. `issued` records the
 * requests STS handed the service, so tests can see what STS asked for (the policies of the new
 * layer only, the duration, the role) as well as what the service made of it.
 * Not part of the build (*.case.ts).
 * @module
 */
import { Readable } from 'node:stream'
import { resolveCredential } from '../auth/authenticate.js'
import type { AuthError } from '../auth/errors.js'
import { SigningKeyCache } from '../auth/sigv4/signing-key.js'
import { makeIam } from '../iam/fixtures.case.js'
import type { IamService, UserView } from '../iam/service.js'
import type { SessionRequest } from '../iam/types.js'
import { randomIds, type IdSource, type ManualClock } from '../lib/clock.js'
import { silentLogger } from '../lib/logger.js'
import type { RawRequest, RequestContext } from '../http/raw-request.js'
import type { StsConfig, StsIam } from './deps.js'
import { stsIamFrom } from './index.js'
import { createStsCore, type StsHandler } from './router.js'

export const ACCT = '111122223333'
export const RESELLER = '444455556666'
export const CUSTOMER = '777788889999'
export const ROOT_SECRET = 'rootTestSecretKey/0123456789abcdefghijklm'
export const ALICE_PASSWORD = 'correct horse'

/** randomIds, except that accounts get these ids, in order of creation. */
export function idsWithAccounts(...accountIds: string[]): IdSource {
  const queue = [...accountIds]
  return { ...randomIds, accountId: () => queue.shift() ?? randomIds.accountId() }
}

/** `iam` whose issue() also records each request it is handed. */
export function recording(iam: StsIam, issued: SessionRequest[]): StsIam {
  return {
    ...iam,
    issue: (req, now) => {
      issued.push(req)
      return iam.issue(req, now)
    },
  }
}

/** What a test signs as: a long-term key, or session credentials (id + token). */
export interface Cred {
  readonly accessKeyId: string
  readonly sessionToken?: string
}

export interface Harness {
  readonly iam: IamService
  readonly clock: ManualClock
  readonly handler: StsHandler
  /** Every request STS handed the service's issue(), in order. */
  readonly issued: SessionRequest[]
  /**
   * Name a test signs as → the real credential it stands for, or the AuthError authentication
   * throws instead. Preset: ROOTKEY (the default account's master key), S4AKALICE (alice's key),
   * RESELLERKEY (the reseller account's master key).
   */
  readonly keys: Map<string, Cred | AuthError>
  /** alice: a Writer in the default account, password ALICE_PASSWORD, with an access key. */
  readonly alice: UserView
}

/**
 * The default account (ACCT, master key ROOTKEY), a reseller (RESELLER) with one customer
 * (CUSTOMER, "newcorp"), and alice; the clock at 2026-01-01T12:00:00Z.
 */
export async function harness(
  config: StsConfig = { stsDefaultDuration: 3600, stsMaxDuration: 43200 },
  opts: { maxSessionsPerParent?: number; stsIssueRate?: number; stsIssueBurst?: number } = {},
): Promise<Harness> {
  const f = await makeIam({
    bootstrap: {
      rootPassword: 'operator-pass-1',
      rootAccessKey: 'ROOTKEY',
      rootSecretKey: ROOT_SECRET,
    },
    ids: idsWithAccounts(ACCT, RESELLER, CUSTOMER),
    scryptN: 1024,
    ...(opts.maxSessionsPerParent !== undefined
      ? { maxSessionsPerParent: opts.maxSessionsPerParent }
      : {}),
    ...(opts.stsIssueRate !== undefined ? { stsIssueRate: opts.stsIssueRate } : {}),
    ...(opts.stsIssueBurst !== undefined ? { stsIssueBurst: opts.stsIssueBurst } : {}),
  })
  const { iam, clock } = f
  clock.set(Date.UTC(2026, 0, 1, 12, 0, 0))
  const reseller = await iam.createAccount({ name: 'resell', type: 'reseller' }, clock.now())
  await iam.createAccount(
    { name: 'newcorp', type: 'customer', resellerId: reseller.account.id },
    clock.now(),
  )
  const alice = await iam.createUser(
    {
      accountId: ACCT,
      username: 'alice',
      password: ALICE_PASSWORD,
      role: 'Writer',
      email: 'alice@example.com',
      firstname: 'Alice',
      lastname: 'Liddell',
    },
    clock.now(),
  )
  const aliceKey = await iam.generateKey(alice.id, clock.now())
  const keys = new Map<string, Cred | AuthError>([
    ['ROOTKEY', { accessKeyId: 'ROOTKEY' }],
    ['S4AKALICE', { accessKeyId: aliceKey.accessKeyId }],
    ['RESELLERKEY', { accessKeyId: reseller.masterKey.accessKeyId }],
  ])
  const issued: SessionRequest[] = []
  const authDeps = { credentials: iam, keyCache: new SigningKeyCache(), clock }
  const handler = createStsCore({
    iam: recording(stsIamFrom(iam), issued),
    clock,
    log: silentLogger,
    config,
    authenticate: async (raw) => {
      const key = raw.headers['x-test-key']
      if (key === undefined) return { principal: { kind: 'anonymous' } }
      const k = keys.get(key)
      if (k === undefined) throw new Error(`test: unknown key ${key}`)
      if (k instanceof Error) throw k
      const cred = await resolveCredential(authDeps, k.accessKeyId, k.sessionToken)
      return { principal: cred.principal, credential: cred }
    },
  })
  return { iam, clock, handler, issued, keys, alice: iam.getUser(alice.id) ?? alice }
}

/** The credentials in an AssumeRole / GetSessionToken answer. */
export function credOf(xml: string): Cred {
  const accessKeyId = /<AccessKeyId>([^<]+)</.exec(xml)?.[1]
  const sessionToken = /<SessionToken>([^<]+)</.exec(xml)?.[1]
  if (accessKeyId === undefined || sessionToken === undefined)
    throw new Error(`test: no credentials in ${xml}`)
  return { accessKeyId, sessionToken }
}

export interface Sent {
  readonly status: number
  readonly headers: Readonly<Record<string, string | readonly string[]>>
  readonly text: string
}

/** POST a form to the handler as `key` (a name in `h.keys`; undefined = unsigned). */
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
