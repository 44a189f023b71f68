/**
 * The admin API asks the policy engine, not the role name: a user's attached policy can grant
 * single iam:* actions to a Writer (policy-precise rights for the console) or take one away from
 * a SuperUser with an explicit Deny. Driven through the real handler over the real IAM service
 * on memory stores.
 */
import { Readable } from 'node:stream'
import { randomBytes } from 'node:crypto'
import { beforeEach, describe, expect, it } from 'vitest'
import { silentLogger } from '../lib/logger.js'
import type { RawRequest } from '../http/raw-request.js'
import { simulate } from '../policy/simulate.js'
import { makeIam, type Fixture } from '../iam/fixtures.case.js'
import { createAdminHandler, type AdminHandler } from './handler.js'
import { NO_ADMIN_ACCESS } from './authorization.js'

let f: Fixture
let handler: AdminHandler

function raw(method: string, path: string, body?: unknown, token?: string): RawRequest {
  const text = body === undefined ? '' : typeof body === 'string' ? body : JSON.stringify(body)
  return {
    method,
    rawPath: path,
    rawQuery: '',
    headers: {
      ...(token !== undefined ? { authorization: `Bearer ${token}` } : {}),
      'content-type': 'application/json',
    },
    body: Readable.from(text === '' ? [] : [Buffer.from(text)]),
    remoteAddress: '127.0.0.1',
    secure: false,
  }
}

async function call(
  method: string,
  path: string,
  o: { body?: unknown; token?: string } = {},
): Promise<{ status: number; json: any }> {
  const res = await handler(raw(method, path, o.body, o.token), {
    requestId: 'req-1',
    clock: f.clock,
    log: silentLogger,
    receivedAt: f.clock.now(),
  })
  const text = typeof res.body === 'string' ? res.body : ''
  return { status: res.status, json: text === '' ? undefined : JSON.parse(text) }
}

const login = (username: string) =>
  call('POST', '/api/admin/login', {
    body: { username, password: 'password-1', customer: 'acme' },
  })

const policy = (...Statement: Record<string, unknown>[]) =>
  JSON.stringify({ Version: '2012-10-17', Statement })

let root: string
let acme: string // account id
let ids: Record<'writer' | 'su' | 'reader' | 'otherSu', string>

beforeEach(async () => {
  f = await makeIam({ bootstrap: { rootPassword: 'operator-pass-1' } })
  const jwtKey = randomBytes(32)
  handler = createAdminHandler({ iam: f.iam, clock: f.clock, log: silentLogger, jwtKey, simulate })
  root = (
    await call('POST', '/api/admin/login', {
      body: { username: 'root', password: 'operator-pass-1' },
    })
  ).json.token
  const mk = async (name: string) =>
    (await call('POST', '/api/admin/customers', { token: root, body: { name, type: 'customer' } }))
      .json.id as string
  acme = await mk('acme')
  await mk('other')
  const user = async (customer: string, username: string, role: string) => {
    const r = await call('POST', '/api/admin/users', {
      token: root,
      body: { username, password: 'password-1', role, customer },
    })
    expect(r.status).toBe(201)
    return r.json.id as string
  }
  ids = {
    writer: await user('acme', 'writer', 'Writer'),
    su: await user('acme', 'su', 'SuperUser'),
    reader: await user('acme', 'reader', 'Reader'),
    otherSu: await user('other', 'osu', 'SuperUser'),
  }
})

const attach = async (userId: string, text: string) =>
  expect(
    (await call('PUT', `/api/admin/users/${userId}/policy`, { token: root, body: text })).status,
  ).toBe(200)

describe('admin authorization by iam:* actions', () => {
  it('a Writer without iam:* grants is refused at login exactly as before (403 Forbidden)', async () => {
    await attach(ids.writer, policy({ Effect: 'Allow', Action: 's3:*', Resource: '*' }))
    const r = await login('writer')
    expect(r.status).toBe(403)
    expect(r.json.error).toEqual({ code: 'Forbidden', message: NO_ADMIN_ACCESS })
  })

  it('a Writer granted iam:ListUsers logs in and may list users, and nothing else', async () => {
    await attach(ids.writer, policy({ Effect: 'Allow', Action: 'iam:ListUsers', Resource: '*' }))
    const l = await login('writer')
    expect(l.status).toBe(200)
    const token = l.json.token as string
    const list = await call('GET', '/api/admin/users', { token })
    expect(list.status).toBe(200)
    expect(list.json.map((u: any) => u.username).sort()).toEqual(['reader', 'su', 'writer'])
    const get = await call('GET', `/api/admin/users/${ids.su}`, { token })
    expect(get.status).toBe(403)
    expect(get.json.error).toEqual({
      code: 'Forbidden',
      message: `User: arn:aws:iam::${acme}:user/writer is not authorized to perform: iam:GetUser on resource: "arn:aws:iam::${acme}:user/su" because no identity-based policy allows the iam:GetUser action`,
    })
    expect((await call('DELETE', `/api/admin/users/${ids.reader}`, { token })).status).toBe(403)
    expect((await call('GET', '/api/admin/customers', { token })).status).toBe(403)
    // tenancy still answers first: another account's user is Forbidden, an unknown one NotFound
    const other = await call('GET', `/api/admin/users/${ids.otherSu}`, { token })
    expect(other.json.error.message).toBe(`User ${ids.otherSu} belongs to another account`)
    expect((await call('GET', '/api/admin/users/AIDANOPE', { token })).status).toBe(404)
  })

  it("the grant is re-read on every request: removing the policy ends the Writer's access", async () => {
    await attach(ids.writer, policy({ Effect: 'Allow', Action: 'iam:ListUsers', Resource: '*' }))
    const token = (await login('writer')).json.token as string
    expect((await call('GET', '/api/admin/users', { token })).status).toBe(200)
    await call('DELETE', `/api/admin/users/${ids.writer}/policy`, { token: root })
    const r = await call('GET', '/api/admin/users', { token })
    expect(r.status).toBe(403)
    expect(r.json.error).toEqual({ code: 'Forbidden', message: NO_ADMIN_ACCESS })
  })

  it('a grant on one resource only: iam:GetUser on the user ARNs of its account', async () => {
    await attach(
      ids.reader,
      policy({ Effect: 'Allow', Action: 'iam:GetUser', Resource: `arn:aws:iam::${acme}:user/*` }),
    )
    const token = (await login('reader')).json.token as string
    expect((await call('GET', `/api/admin/users/${ids.su}`, { token })).json.username).toBe('su')
    expect((await call('GET', '/api/admin/users', { token })).status).toBe(403)
  })

  it('an explicit Deny of iam:DeleteUser refuses a SuperUser that route alone', async () => {
    await attach(ids.su, policy({ Effect: 'Deny', Action: 'iam:DeleteUser', Resource: '*' }))
    const token = (await login('su')).json.token as string
    const del = await call('DELETE', `/api/admin/users/${ids.reader}`, { token })
    expect(del.status).toBe(403)
    expect(del.json.error).toEqual({
      code: 'Forbidden',
      message: `User: arn:aws:iam::${acme}:user/su is not authorized to perform: iam:DeleteUser on resource: "arn:aws:iam::${acme}:user/reader" with an explicit deny in an identity-based policy`,
    })
    expect((await call('GET', `/api/admin/users/${ids.reader}`, { token: root })).status).toBe(200)
    // every other route still works for it
    expect((await call('GET', '/api/admin/users', { token })).status).toBe(200)
    const patch = await call('PATCH', `/api/admin/users/${ids.reader}`, {
      token,
      body: { email: 'r@example.com' },
    })
    expect(patch.status).toBe(200)
    expect(
      (await call('POST', `/api/admin/users/${ids.reader}/credentials`, { token })).status,
    ).toBe(201)
    expect((await call('GET', '/api/admin/sessions', { token })).status).toBe(200)
    // the operator is no account principal: no policy applies to it
    expect((await call('DELETE', `/api/admin/users/${ids.reader}`, { token: root })).status).toBe(
      204,
    )
  })

  it("a reseller's grant reaches its customers' users (tenancy's mayManage), no one else's", async () => {
    const mk = (name: string, type: string, reseller?: string) =>
      call('POST', '/api/admin/customers', {
        token: root,
        body: { name, type, ...(reseller !== undefined ? { reseller } : {}) },
      })
    expect((await mk('resell', 'reseller')).status).toBe(201)
    expect((await mk('sub', 'customer', 'resell')).status).toBe(201)
    const user = async (customer: string, username: string) =>
      (
        await call('POST', '/api/admin/users', {
          token: root,
          body: { username, password: 'password-1', role: 'Writer', customer },
        })
      ).json.id as string
    const rw = await user('resell', 'rw')
    const subUser = await user('sub', 'subuser')
    await attach(rw, policy({ Effect: 'Allow', Action: 'iam:GetUser', Resource: '*' }))
    const token = (
      await call('POST', '/api/admin/login', {
        body: { username: 'rw', password: 'password-1', customer: 'resell' },
      })
    ).json.token as string
    expect((await call('GET', `/api/admin/users/${subUser}`, { token })).status).toBe(200)
    expect((await call('GET', `/api/admin/users/${ids.su}`, { token })).status).toBe(403)
  })

  it('a Deny of every iam:* action closes the admin API to a SuperUser, login included', async () => {
    await attach(ids.su, policy({ Effect: 'Deny', Action: 'iam:*', Resource: '*' }))
    const r = await login('su')
    expect(r.status).toBe(403)
    expect(r.json.error.code).toBe('Forbidden')
  })
})
