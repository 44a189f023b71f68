/**
 * RSAssumeCustomerRole sessions die with every link of their chain, against the real server: the
 * customer account they act for (its master key reset), the reseller key or SuperUser that minted
 * them (master key reset, demotion from SuperUser, deactivation). Before the fix such a session
 * kept the customer's full rights after all of these. A refused session answers S3 as any revoked
 * session does: 403 InvalidAccessKeyId.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ListBucketsCommand, PutObjectCommand, CreateBucketCommand } from '@aws-sdk/client-s3'
import { startServer, type TestServer } from './harness.js'
import { adminLogin, userWithKey, type AdminClient } from './admin-client.js'
import { AssumeRoleCommand } from '@aws-sdk/client-sts'
import { signStsPost } from '../../src/cli/sts-assume-role.js'

interface Keys {
  readonly accessKeyId: string
  readonly secretAccessKey: string
}

let server: TestServer
let admin: AdminClient
let reseller: Keys

async function post(form: Record<string, string>, keys: Keys): Promise<Response> {
  const s = signStsPost(server.endpoint, form, keys, 'us-east-1', Date.now())
  const { host: _host, 'content-length': _len, ...headers } = s.headers
  void _host
  void _len
  return fetch(s.url, { method: 'POST', headers, body: s.body })
}

/** RSAssumeCustomerRole for `customer`, signed with `keys`. */
async function assumeCustomer(keys: Keys, customer: string): Promise<Keys> {
  const res = await post(
    {
      Action: 'RSAssumeCustomerRole',
      Version: '2011-06-15',
      Customer: customer,
      DurationSeconds: '3600',
    },
    keys,
  )
  const body = (await res.json()) as Record<string, unknown>
  expect(res.status, JSON.stringify(body)).toBe(200)
  return {
    accessKeyId: String(body['AccessKeyId']),
    secretAccessKey: String(body['SecretAccessKey']),
  }
}

async function works(keys: Keys): Promise<void> {
  await server.s3(keys).send(new ListBucketsCommand({}))
}

async function refused(keys: Keys): Promise<void> {
  let caught: { name?: string; $metadata?: { httpStatusCode?: number } } | undefined
  try {
    await server.s3(keys).send(new ListBucketsCommand({}))
  } catch (e) {
    caught = e as typeof caught
  }
  expect(caught?.name).toBe('InvalidAccessKeyId')
  expect(caught?.$metadata?.httpStatusCode).toBe(403)
  // Nor can it write (each refusal is a fresh resolve).
  await expect(
    server.s3(keys).send(new PutObjectCommand({ Bucket: 'custbucket', Key: 'x', Body: 'x' })),
  ).rejects.toMatchObject({ name: 'InvalidAccessKeyId' })
}

let n = 0
/** A fresh customer under the reseller, with a bucket. */
async function customer(): Promise<string> {
  const name = `cust-${++n}`
  const c = await admin.call('POST', '/api/admin/customers', {
    name,
    type: 'customer',
    reseller: 'rrev',
  })
  expect(c.status).toBe(201)
  return name
}

beforeAll(async () => {
  server = await startServer()
  admin = await adminLogin(server)
  const r = await admin.call('POST', '/api/admin/customers', { name: 'rrev', type: 'reseller' })
  expect(r.status).toBe(201)
  reseller = {
    accessKeyId: r.json.master_key.access_key,
    secretAccessKey: r.json.master_key.secret_key,
  }
  const c = await admin.call('POST', '/api/admin/customers', {
    name: 'custbucket-owner',
    type: 'customer',
    reseller: 'rrev',
  })
  expect(c.status).toBe(201)
  const s = await assumeCustomer(reseller, 'custbucket-owner')
  await server.s3(s).send(new CreateBucketCommand({ Bucket: 'custbucket' }))
})
afterAll(async () => {
  await server?.stop()
})

describe('RSAssumeCustomerRole sessions die with every link of their chain', () => {
  it("REGRESSION customer-role-outlives-revocation: a reset of the customer's master key kills the sessions acting in it", async () => {
    const name = await customer()
    const su = await userWithKey(admin, 'rrev-su-a', 'SuperUser', 'rrev')
    const viaUser = await assumeCustomer(su, name)
    const viaMaster = await assumeCustomer(reseller, name)
    await works(viaUser)
    await works(viaMaster)
    expect((await admin.call('POST', `/api/admin/customers/${name}/master-key/reset`)).status).toBe(
      200,
    )
    await refused(viaUser)
    await refused(viaMaster)
    // A session minted after the reset works: the reset killed what existed, not the feature.
    await works(await assumeCustomer(su, name))
  })

  it('REGRESSION customer-role-outlives-revocation: demoting the minting SuperUser to Reader kills its sessions', async () => {
    const name = await customer()
    const su = await userWithKey(admin, 'rrev-su-b', 'SuperUser', 'rrev')
    const s = await assumeCustomer(su, name)
    await works(s)
    expect(
      (await admin.call('PATCH', `/api/admin/users/${su.id}`, { role: 'Reader' })).status,
    ).toBe(200)
    await refused(s)
    // Promoting again does not bring the old session back.
    expect(
      (await admin.call('PATCH', `/api/admin/users/${su.id}`, { role: 'SuperUser' })).status,
    ).toBe(200)
    await refused(s)
  })

  it('REGRESSION customer-role-outlives-revocation: deactivating the minting SuperUser kills its sessions', async () => {
    const name = await customer()
    const su = await userWithKey(admin, 'rrev-su-c', 'SuperUser', 'rrev')
    const s = await assumeCustomer(su, name)
    await works(s)
    expect(
      (await admin.call('PATCH', `/api/admin/users/${su.id}`, { is_active: false })).status,
    ).toBe(200)
    await refused(s)
  })

  it("REGRESSION customer-role-outlives-revocation: a reset of the reseller's master key kills the sessions it minted", async () => {
    const name = await customer()
    const s = await assumeCustomer(reseller, name)
    await works(s)
    const reset = await admin.call('POST', '/api/admin/customers/rrev/master-key/reset')
    expect(reset.status).toBe(200)
    reseller = { accessKeyId: reset.json.access_key, secretAccessKey: reset.json.secret_key }
    await refused(s)
    await works(await assumeCustomer(reseller, name))
  })

  it("a user's own session follows the user's current role: a demoted Writer's session can no longer write", async () => {
    const w = await userWithKey(admin, 'rrev-writer', 'Writer', 'custbucket-owner')
    const out = await server
      .sts(w)
      .send(new AssumeRoleCommand({ RoleArn: 'Required1', RoleSessionName: 'writer' }))
    const s = {
      accessKeyId: out.Credentials?.AccessKeyId ?? '',
      secretAccessKey: out.Credentials?.SecretAccessKey ?? '',
      sessionToken: out.Credentials?.SessionToken ?? '',
    }
    const put = () =>
      server.s3(s).send(new PutObjectCommand({ Bucket: 'custbucket', Key: 'w.txt', Body: 'w' }))
    await put()
    expect((await admin.call('PATCH', `/api/admin/users/${w.id}`, { role: 'Reader' })).status).toBe(
      200,
    )
    await expect(put()).rejects.toMatchObject({ name: 'AccessDenied' })
    await server.s3(s).send(new ListBucketsCommand({}))
  })
})
