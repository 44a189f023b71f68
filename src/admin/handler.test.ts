import { Readable } from 'node:stream'
import { randomBytes } from 'node:crypto'
import { generateSync } from 'otplib'
import { beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { silentLogger } from '../lib/logger.js'
import type { RawRequest, RequestContext } from '../http/raw-request.js'
import type { HttpResponse } from '../http/http-response.js'
import { simulate } from '../policy/simulate.js'
import { makeIam, READ_ONLY_POLICY, sessionReq, type Fixture } from '../iam/fixtures.case.js'
import { createAdminHandler, type AdminHandler } from './handler.js'
import { signAdminToken } from './jwt.js'

interface Opts {
  body?: unknown
  rawBody?: string | Buffer
  token?: string
  query?: string
  address?: string
}

function raw(method: string, path: string, o: Opts = {}): RawRequest {
  const text = o.rawBody ?? (o.body === undefined ? '' : JSON.stringify(o.body))
  return {
    method,
    rawPath: path,
    rawQuery: o.query ?? '',
    headers: {
      ...(o.token !== undefined ? { authorization: `Bearer ${o.token}` } : {}),
      'content-type': 'application/json',
    },
    body: Readable.from(text === '' ? [] : [Buffer.from(text)]),
    remoteAddress: o.address ?? '127.0.0.1',
    secure: false,
  }
}

let f: Fixture
let handler: AdminHandler
let jwtKey: Buffer
const ctx = (): RequestContext => ({
  requestId: 'req-1',
  clock: f.clock,
  log: silentLogger,
  receivedAt: f.clock.now(),
})

async function call(
  method: string,
  path: string,
  o: Opts = {},
): Promise<{ status: number; json: any; res: HttpResponse }> {
  const res = await handler(raw(method, path, o), ctx())
  const text =
    typeof res.body === 'string' ? res.body : Buffer.isBuffer(res.body) ? res.body.toString() : ''
  return { status: res.status, json: text === '' ? undefined : JSON.parse(text), res }
}

async function loginToken(body: Record<string, unknown>): Promise<string> {
  const r = await call('POST', '/api/admin/login', { body })
  expect(r.status).toBe(200)
  return r.json.token as string
}

let root: string // operator token
let resellerSu: string // SuperUser of a reseller
let custSu: string // SuperUser of the reseller's customer
let otherSu: string // SuperUser of an unrelated customer
let reader: string // not a SuperUser (JWT forged with the right key)
let ids: {
  cust: string
  custReader: string
  custSu: string
  otherSu: string
  resellSu: string
  [k: string]: string
}

async function fresh(): Promise<void> {
  f = await makeIam({ bootstrap: { rootPassword: 'operator-pass-1' } })
  jwtKey = randomBytes(32)
  handler = createAdminHandler({ iam: f.iam, clock: f.clock, log: silentLogger, jwtKey, simulate })
  root = await loginToken({ username: 'root', password: 'operator-pass-1' })
  const mk = async (name: string, type: string, reseller?: string) => {
    const r = await call('POST', '/api/admin/customers', {
      token: root,
      body: { name, type, ...(reseller ? { reseller } : {}) },
    })
    expect(r.status).toBe(201)
    return r.json
  }
  const rs = await mk('resell', 'reseller')
  const cu = await mk('cust', 'customer', 'resell')
  const ot = await mk('other', 'customer')
  const mkUser = async (customer: string, username: string, role = 'SuperUser') => {
    const r = await call('POST', '/api/admin/users', {
      token: root,
      body: { username, password: 'password-1', role, customer },
    })
    expect(r.status).toBe(201)
    return r.json.id as string
  }
  ids = {
    resell: rs.id,
    cust: cu.id,
    other: ot.id,
    resellSu: await mkUser('resell', 'rsu'),
    custSu: await mkUser('cust', 'csu'),
    otherSu: await mkUser('other', 'osu'),
    custReader: await mkUser('cust', 'creader', 'Reader'),
  }
  resellerSu = await loginToken({ username: 'rsu', password: 'password-1', customer: 'resell' })
  custSu = await loginToken({ username: 'csu', password: 'password-1', customer: 'cust' })
  otherSu = await loginToken({ username: 'osu', password: 'password-1', customer: 'other' })
  reader = (
    await signAdminToken(
      jwtKey,
      { sub: ids.custReader!, kind: 'user', account: ids.cust! },
      f.clock.now(),
    )
  ).token
}

describe('admin API: status and error codes', () => {
  // The cases change nothing (the clock case puts the clock back), so they share one setup.
  beforeAll(fresh)
  const cases: {
    name: string
    run: () => Promise<{ status: number; json: any }>
    status: number
    code?: string
  }[] = [
    {
      name: 'no token',
      run: () => call('GET', '/api/admin/users'),
      status: 401,
      code: 'Unauthorized',
    },
    {
      name: 'garbage token',
      run: () => call('GET', '/api/admin/users', { token: 'abc.def.ghi' }),
      status: 401,
      code: 'Unauthorized',
    },
    {
      name: 'token signed with another key',
      run: async () =>
        call('GET', '/api/admin/users', {
          token: (
            await signAdminToken(
              randomBytes(32),
              { sub: 'root', kind: 'operator', account: '' },
              f.clock.now(),
            )
          ).token,
        }),
      status: 401,
      code: 'Unauthorized',
    },
    {
      name: 'expired token',
      run: async () => {
        f.clock.advance(3601_000)
        try {
          return await call('GET', '/api/admin/users', { token: root })
        } finally {
          f.clock.advance(-3601_000)
        }
      },
      status: 401,
      code: 'Unauthorized',
    },
    {
      name: 'non-SuperUser',
      run: () => call('GET', '/api/admin/users', { token: reader }),
      status: 403,
      code: 'Forbidden',
    },
    {
      name: 'non-SuperUser login',
      run: () =>
        call('POST', '/api/admin/login', {
          body: { username: 'creader', password: 'password-1', customer: 'cust' },
        }),
      status: 403,
      code: 'Forbidden',
    },
    {
      name: 'wrong password',
      run: () => call('POST', '/api/admin/login', { body: { username: 'root', password: 'nope' } }),
      status: 401,
      code: 'Unauthorized',
    },
    {
      name: 'login bad JSON',
      run: () => call('POST', '/api/admin/login', { rawBody: '{"username":' }),
      status: 400,
      code: 'ValidationError',
    },
    {
      name: 'login missing field',
      run: () => call('POST', '/api/admin/login', { body: { username: 'root' } }),
      status: 400,
      code: 'ValidationError',
    },
    {
      name: 'login GET',
      run: () => call('GET', '/api/admin/login'),
      status: 405,
      code: 'MethodNotAllowed',
    },
    {
      name: 'unknown route',
      run: () => call('GET', '/api/admin/nope', { token: root }),
      status: 404,
      code: 'NotFound',
    },
    {
      name: 'dot-dot path',
      run: () => call('GET', '/api/admin/users/%2e%2e', { token: root }),
      status: 404,
      code: 'NotFound',
    },
    {
      name: 'wrong method',
      run: () => call('PUT', '/api/admin/users', { token: root }),
      status: 405,
      code: 'MethodNotAllowed',
    },
    {
      name: 'unknown user',
      run: () => call('GET', '/api/admin/users/AIDANOPE', { token: root }),
      status: 404,
      code: 'NotFound',
    },
    {
      name: 'unknown customer',
      run: () => call('GET', '/api/admin/customers/nope', { token: root }),
      status: 404,
      code: 'NotFound',
    },
    {
      name: 'duplicate user',
      run: () =>
        call('POST', '/api/admin/users', {
          token: root,
          body: { username: 'CSU', password: 'password-1', role: 'Reader', customer: 'cust' },
        }),
      status: 409,
      code: 'Conflict',
    },
    {
      name: 'duplicate customer',
      run: () =>
        call('POST', '/api/admin/customers', {
          token: root,
          body: { name: 'cust', type: 'customer' },
        }),
      status: 409,
      code: 'Conflict',
    },
    {
      name: 'bad role',
      run: () =>
        call('POST', '/api/admin/users', {
          token: root,
          body: { username: 'x', password: 'password-1', role: 'God' },
        }),
      status: 400,
      code: 'ValidationError',
    },
    {
      name: 'unknown field',
      run: () =>
        call('POST', '/api/admin/users', {
          token: root,
          body: { username: 'x', password: 'password-1', role: 'Reader', admin: true },
        }),
      status: 400,
      code: 'ValidationError',
    },
    {
      name: 'short password',
      run: () =>
        call('POST', '/api/admin/users', {
          token: root,
          body: { username: 'x', password: 'short', role: 'Reader' },
        }),
      status: 400,
      code: 'ValidationError',
    },
    {
      name: 'oversize body',
      run: () =>
        call('POST', '/api/admin/users', {
          token: root,
          rawBody: '{"a":"' + 'x'.repeat(70_000) + '"}',
        }),
      status: 400,
      code: 'ValidationError',
    },
    {
      name: 'bad is_active type',
      run: () =>
        call('PATCH', `/api/admin/users/${ids.custSu}`, { token: root, body: { is_active: 'no' } }),
      status: 400,
      code: 'ValidationError',
    },
    {
      name: 'bad limit',
      run: () => call('GET', '/api/admin/users', { token: root, query: 'limit=0' }),
      status: 400,
      code: 'ValidationError',
    },
    {
      name: 'bad CIDR',
      run: () =>
        call('PUT', '/api/admin/customers/cust/allowlist', {
          token: root,
          body: { cidrs: ['1.2.3.4/40'] },
        }),
      status: 400,
      code: 'ValidationError',
    },
    {
      name: 'malformed user policy',
      run: () =>
        call('PUT', `/api/admin/users/${ids.custSu}/policy`, {
          token: root,
          rawBody: '{"Statement":"x"}',
        }),
      status: 400,
      code: 'ValidationError',
    },
    {
      name: 'policy not JSON',
      run: () =>
        call('PUT', `/api/admin/users/${ids.custSu}/policy`, { token: root, rawBody: 'nope' }),
      status: 400,
      code: 'ValidationError',
    },
    {
      name: 'no policy yet',
      run: () => call('GET', `/api/admin/users/${ids.custSu}/policy`, { token: root }),
      status: 404,
      code: 'NotFound',
    },
    {
      name: 'revoke missing credentials',
      run: () => call('DELETE', `/api/admin/users/${ids.custSu}/credentials`, { token: root }),
      status: 404,
      code: 'NotFound',
    },
    {
      name: 'unknown session',
      run: () => call('DELETE', '/api/admin/sessions/ASIA0000000000000000', { token: root }),
      status: 404,
      code: 'NotFound',
    },
    // visibility
    {
      name: 'customer SU reads other account user',
      run: () => call('GET', `/api/admin/users/${ids.otherSu}`, { token: custSu }),
      status: 403,
      code: 'Forbidden',
    },
    {
      name: 'customer SU reads reseller user',
      run: () => call('GET', `/api/admin/users/${ids.resellSu}`, { token: custSu }),
      status: 403,
      code: 'Forbidden',
    },
    {
      name: 'customer SU creates user elsewhere',
      run: () =>
        call('POST', '/api/admin/users', {
          token: custSu,
          body: { username: 'z', password: 'password-1', role: 'Reader', customer: 'other' },
        }),
      status: 403,
      code: 'Forbidden',
    },
    {
      name: 'customer SU resets other master key',
      run: () => call('POST', '/api/admin/customers/other/master-key/reset', { token: custSu }),
      status: 403,
      code: 'Forbidden',
    },
    {
      name: 'reseller SU reads unrelated customer',
      run: () => call('GET', '/api/admin/customers/other', { token: resellerSu }),
      status: 403,
      code: 'Forbidden',
    },
    {
      name: 'customer SU creates customer',
      run: () =>
        call('POST', '/api/admin/customers', {
          token: custSu,
          body: { name: 'n', type: 'customer' },
        }),
      status: 403,
      code: 'Forbidden',
    },
    {
      name: 'reseller SU creates reseller',
      run: () =>
        call('POST', '/api/admin/customers', {
          token: resellerSu,
          body: { name: 'n', type: 'reseller' },
        }),
      status: 403,
      code: 'Forbidden',
    },
    {
      name: 'simulate malformed policy',
      run: () =>
        call('POST', '/api/admin/policy/simulate', {
          token: root,
          body: {
            policies: [{ Statement: 5 }],
            action: 's3:GetObject',
            resource: 'arn:aws:s3:::b/k',
          },
        }),
      status: 400,
      code: 'ValidationError',
    },
    {
      name: 'simulate missing action',
      run: () =>
        call('POST', '/api/admin/policy/simulate', {
          token: root,
          body: { policies: [], resource: 'arn:aws:s3:::b/k' },
        }),
      status: 400,
      code: 'ValidationError',
    },
  ]
  for (const c of cases) {
    it(`${c.name} → ${c.status}${c.code ? ' ' + c.code : ''}`, async () => {
      const r = await c.run()
      expect(r.status).toBe(c.status)
      if (c.code) {
        expect(r.json.error.code).toBe(c.code)
        expect(typeof r.json.error.message).toBe('string')
      }
    })
  }
})

describe('admin API: flows', () => {
  beforeEach(fresh)
  it('S4 flow: create user, generate credentials (shown once), revoke', async () => {
    const u = await call('POST', '/api/admin/users', {
      token: root,
      body: { username: 'alice', password: 'alice123', role: 'Writer' },
    })
    expect(u.status).toBe(201)
    expect(u.json).toMatchObject({
      username: 'alice',
      role: 'Writer',
      is_active: true,
      customer: 'default',
      access_key: null,
    })
    expect(JSON.stringify(u.json)).not.toMatch(/alice123|scrypt/)
    const k = await call('POST', `/api/admin/users/${u.json.id}/credentials`, { token: root })
    expect(k.status).toBe(201)
    expect(k.json.access_key).toMatch(/^S4AK[A-Za-z0-9]{20}$/)
    expect(k.json.secret_key).toMatch(/^[A-Za-z0-9]{40}$/)
    expect((await f.iam.resolve(k.json.access_key))?.secretKey).toBe(k.json.secret_key)
    const g = await call('GET', `/api/admin/users/${u.json.id}`, { token: root })
    expect(g.json.access_key).toBe(k.json.access_key)
    expect(JSON.stringify(g.json)).not.toContain(k.json.secret_key)
    const del = await call('DELETE', `/api/admin/users/${u.json.id}/credentials`, { token: root })
    expect(del.status).toBe(204)
    expect(await f.iam.resolve(k.json.access_key)).toBeUndefined()
  })

  it('deactivating a user blocks its key at once; PATCH answers the user; DELETE removes it', async () => {
    const k = await call('POST', `/api/admin/users/${ids.custReader}/credentials`, {
      token: custSu,
    })
    expect(k.status).toBe(201)
    const p = await call('PATCH', `/api/admin/users/${ids.custReader}`, {
      token: custSu,
      body: { is_active: false, email: 'r@example.com' },
    })
    expect(p.status).toBe(200)
    expect(p.json).toMatchObject({ is_active: false, email: 'r@example.com' })
    expect(await f.iam.resolve(k.json.access_key)).toBeUndefined()
    expect(
      (await call('DELETE', `/api/admin/users/${ids.custReader}`, { token: custSu })).status,
    ).toBe(204)
    expect(
      (await call('GET', `/api/admin/users/${ids.custReader}`, { token: custSu })).status,
    ).toBe(404)
  })

  it('a deactivated or demoted SuperUser loses the API with its next request', async () => {
    expect((await call('GET', '/api/admin/users', { token: custSu })).status).toBe(200)
    await call('PATCH', `/api/admin/users/${ids.custSu}`, { token: root, body: { role: 'Writer' } })
    expect((await call('GET', '/api/admin/users', { token: custSu })).status).toBe(403)
    await call('PATCH', `/api/admin/users/${ids.custSu}`, {
      token: root,
      body: { role: 'SuperUser', is_active: false },
    })
    expect((await call('GET', '/api/admin/users', { token: custSu })).status).toBe(401)
  })

  it('lists only visible accounts and paginates', async () => {
    const mine = await call('GET', '/api/admin/users', { token: custSu })
    expect(mine.json.map((u: any) => u.username).sort()).toEqual(['creader', 'csu'])
    const theirs = await call('GET', '/api/admin/users', { token: resellerSu })
    expect(theirs.json.map((u: any) => u.username).sort()).toEqual(['creader', 'csu', 'rsu'])
    const custs = await call('GET', '/api/admin/customers', { token: resellerSu })
    expect(custs.json.map((c: any) => c.name).sort()).toEqual(['cust', 'resell'])
    const all = await call('GET', '/api/admin/users', { token: root, query: 'limit=2&offset=1' })
    expect(all.json).toHaveLength(2)
    expect(all.res.headers?.['x-total-count']).toBe('4')
    expect(all.res.headers?.['x-next-offset']).toBe('3')
    const byCustomer = await call('GET', '/api/admin/users', {
      token: root,
      query: 'customer=other',
    })
    expect(byCustomer.json.map((u: any) => u.username)).toEqual(['osu'])
  })

  it('customers: reseller creates a customer; master key shown, reset kills the old secret', async () => {
    const c = await call('POST', '/api/admin/customers', {
      token: resellerSu,
      body: { name: 'newco', type: 'customer' },
    })
    expect(c.status).toBe(201)
    expect(c.json).toMatchObject({ name: 'newco', type: 'customer', reseller: 'resell' })
    expect(c.json.id).toMatch(/^\d{12}$/)
    const old = c.json.master_key
    const mk = await call('GET', '/api/admin/customers/newco/master-key', { token: resellerSu })
    expect(mk.json).toEqual({ access_key: old.access_key })
    const reset = await call('POST', '/api/admin/customers/newco/master-key/reset', {
      token: resellerSu,
    })
    expect(reset.status).toBe(200)
    expect(reset.json.access_key).toBe(old.access_key)
    expect(reset.json.secret_key).not.toBe(old.secret_key)
    expect((await f.iam.resolve(old.access_key))?.secretKey).toBe(reset.json.secret_key)
    expect((await call('GET', '/api/admin/customers/newco', { token: otherSu })).status).toBe(403)
  })

  it('STS limits: any SuperUser of the account reads them, only the operator changes them', async () => {
    const got = await call('GET', '/api/admin/customers/cust/sts-limits', { token: custSu })
    expect([got.status, got.json]).toEqual([
      200,
      { issue_rate: 600, issue_burst: 1200, max_active_sessions: 1_000_000, overridden: false },
    ])
    const denied = await call('PUT', '/api/admin/customers/cust/sts-limits', {
      token: custSu,
      body: { issue_rate: 100000 },
    })
    expect([denied.status, denied.json.error.code]).toEqual([403, 'Forbidden'])
    const set = await call('PUT', '/api/admin/customers/cust/sts-limits', {
      token: root,
      body: { issue_rate: 5, issue_burst: null, max_active_sessions: 10 },
    })
    expect([set.status, set.json]).toEqual([
      200,
      { issue_rate: 5, issue_burst: 1200, max_active_sessions: 10, overridden: true },
    ])
    for (const body of [
      { issue_rate: 0 },
      { issue_burst: 1.5 },
      { max_active_sessions: -1 },
      { x: 1 },
    ])
      expect(
        (await call('PUT', '/api/admin/customers/cust/sts-limits', { token: root, body })).status,
      ).toBe(400)
    expect(f.iam.stsLimits(ids.cust!).issueRate).toBe(5)
    expect(
      (await call('GET', '/api/admin/customers/default/sts-limits', { token: custSu })).status,
    ).toBe(403)
  })

  it('allow-list, user policy and TOTP round trips', async () => {
    const a = await call('PUT', '/api/admin/customers/cust/allowlist', {
      token: custSu,
      body: { cidrs: ['10.0.0.0/8'] },
    })
    expect(a.json).toEqual({ cidrs: ['10.0.0.0/8'] })
    expect(f.iam.addressAllowed(ids.cust!, '192.168.0.1')).toBe(false)
    expect(
      (await call('GET', '/api/admin/customers/cust/allowlist', { token: custSu })).json,
    ).toEqual({ cidrs: ['10.0.0.0/8'] })

    const put = await call('PUT', `/api/admin/users/${ids.custReader}/policy`, {
      token: custSu,
      rawBody: READ_ONLY_POLICY,
    })
    expect(put.status).toBe(200)
    expect(put.json).toEqual(JSON.parse(READ_ONLY_POLICY))
    expect(
      (await call('GET', `/api/admin/users/${ids.custReader}/policy`, { token: custSu })).json,
    ).toEqual(JSON.parse(READ_ONLY_POLICY))
    expect(
      (await call('DELETE', `/api/admin/users/${ids.custReader}/policy`, { token: custSu })).status,
    ).toBe(204)

    const t = await call('POST', `/api/admin/users/${ids.custSu}/totp`, { token: custSu })
    expect(t.status).toBe(200)
    expect(t.json.otpauth_url).toMatch(/^otpauth:\/\/totp\//)
    const noOtp = await call('POST', '/api/admin/login', {
      body: { username: 'csu', password: 'password-1', customer: 'cust' },
    })
    expect(noOtp.status).toBe(401)
    const otp = generateSync({ secret: t.json.secret, epoch: Math.floor(f.clock.now() / 1000) })
    const withOtp = await call('POST', '/api/admin/login', {
      body: { username: 'csu', password: 'password-1', customer: 'cust', otp },
    })
    expect(withOtp.status).toBe(200)
    expect(withOtp.json.expires_at).toBe(new Date(f.clock.now() + 3600_000).toISOString())
    expect(
      (await call('DELETE', `/api/admin/users/${ids.custSu}/totp`, { token: custSu })).status,
    ).toBe(204)
  })

  it('sessions: list per customer/user and revoke', async () => {
    const key = await f.iam.generateKey(ids.custReader!, f.clock.now())
    const cred = await f.iam.resolve(key.accessKeyId)
    const s = await f.iam.issue(sessionReq(cred!.principal), f.clock.now())
    const other = await f.iam.generateKey(ids.otherSu!, f.clock.now())
    const oc = await f.iam.resolve(other.accessKeyId)
    await f.iam.issue(sessionReq(oc!.principal), f.clock.now())
    const mine = await call('GET', '/api/admin/sessions', { token: custSu })
    expect(mine.json.map((x: any) => x.access_key)).toEqual([s.accessKeyId])
    expect(mine.json[0]).toMatchObject({
      customer: 'cust',
      parent: { kind: 'user', user_id: ids.custReader },
    })
    expect(JSON.stringify(mine.json)).not.toContain(s.secretAccessKey)
    expect((await call('GET', '/api/admin/sessions', { token: root })).json).toHaveLength(2)
    expect(
      (await call('GET', '/api/admin/sessions', { token: root, query: `user=${ids.custReader}` }))
        .json,
    ).toHaveLength(1)
    expect(
      (await call('DELETE', `/api/admin/sessions/${s.accessKeyId}`, { token: otherSu })).status,
    ).toBe(403)
    expect(
      (await call('DELETE', `/api/admin/sessions/${s.accessKeyId}`, { token: custSu })).status,
    ).toBe(204)
    expect(await f.iam.resolve(s.accessKeyId)).toBeUndefined()
    expect((await call('GET', '/api/admin/sessions', { token: custSu })).json).toEqual([])
  })

  it('simulate answers a decision', async () => {
    const r = await call('POST', '/api/admin/policy/simulate', {
      token: custSu,
      body: {
        policies: [JSON.parse(READ_ONLY_POLICY)],
        action: 's3:GetObject',
        resource: 'arn:aws:s3:::b/k',
      },
    })
    expect(r.status).toBe(200)
    expect(r.json.decision).toBe('allow')
    const d = await call('POST', '/api/admin/policy/simulate', {
      token: custSu,
      body: {
        policies: [JSON.parse(READ_ONLY_POLICY)],
        action: 's3:PutObject',
        resource: 'arn:aws:s3:::b/k',
      },
    })
    expect(d.json.decision).toBe('implicit-deny')
  })

  it('login throttling answers 429 with Retry-After', async () => {
    for (let i = 0; i < 10; i++) {
      expect(
        (
          await call('POST', '/api/admin/login', {
            body: { username: 'root', password: 'wrong-one' },
            address: '5.5.5.5',
          })
        ).status,
      ).toBe(401)
    }
    const r = await call('POST', '/api/admin/login', {
      body: { username: 'root', password: 'operator-pass-1' },
      address: '5.5.5.6',
    })
    expect(r.status).toBe(429)
    expect(r.json.error.code).toBe('TooManyRequests')
    expect(Number(r.res.headers?.['retry-after'])).toBeGreaterThan(0)
  })
})
