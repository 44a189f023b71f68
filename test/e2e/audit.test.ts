/**
 * The audit trail end to end (issue 14 item 1): one browser-upload credential followed from its
 * minting to each object it wrote. A user mints temporary credentials with AssumeRole and an
 * upload-only session policy (the browser-upload example's: PutObject under a prefix), PUTs two
 * objects with them and is refused one outside its prefix; the audit API, and
 * `latchkey admin audit --json`, then show the issuance (parent = the user, the policy's hash,
 * the duration), each PUT (the session, its chain up to the user, s3:PutObject, the object,
 * allow), the refused PUT (deny, AccessDenied), the admin changes of the setup (user created,
 * key generated: no secret), and a failed login (no password). Nothing any row or answer holds
 * is a secret, token or password the test used.
 */
import { spawn } from 'node:child_process'
import { createHash } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { CreateBucketCommand, PutObjectCommand } from '@aws-sdk/client-s3'
import { AssumeRoleCommand } from '@aws-sdk/client-sts'
import { MAIN, ROOT_PASSWORD, ROOT_SECRET_KEY, startServer, type TestServer } from './harness.js'
import { adminLogin, type AdminClient } from './admin-client.js'
import { outcome, sessionKeys } from './harness.js'

const BUCKET = 'audit-uploads'
const PREFIX = 'uploads/alice/'
const USER_PASSWORD = 'alice-uploader-password-1'
const WRONG_PASSWORD = 'not-alices-password-zz9'

/** The browser-upload example's session policy (examples/browser-upload/server.mjs). */
const POLICY = JSON.stringify({
  Version: '2012-10-17',
  Statement: [
    {
      Effect: 'Allow',
      Action: ['s3:PutObject', 's3:AbortMultipartUpload'],
      Resource: [`arn:aws:s3:::${BUCKET}/${PREFIX}*`],
    },
  ],
})

let server: TestServer
let admin: AdminClient
let config: string
let user: { id: string; accessKeyId: string; secretAccessKey: string }
let session: { accessKeyId: string; secretAccessKey: string; sessionToken: string }
const secrets: string[] = []

function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, [MAIN, 'admin', ...args], {
      env: { ...process.env, XDG_CONFIG_HOME: config },
      stdio: ['pipe', 'pipe', 'pipe'],
    })
    let stdout = ''
    let stderr = ''
    p.stdout.on('data', (c: Buffer) => (stdout += c.toString()))
    p.stderr.on('data', (c: Buffer) => (stderr += c.toString()))
    p.on('error', reject)
    p.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }))
    p.stdin.end(args.includes('--password-stdin') ? `${ROOT_PASSWORD}\n` : '')
  })
}

async function audit(query: Record<string, string>): Promise<{ rows: any[]; headers: Headers }> {
  const r = await admin.call('GET', `/api/admin/audit?${new URLSearchParams(query)}`)
  expect(r.status, JSON.stringify(r.json)).toBe(200)
  return { rows: r.json as any[], headers: r.headers }
}

beforeAll(async () => {
  config = mkdtempSync(join(tmpdir(), 'latchkey-audit-cli-'))
  server = await startServer()
  admin = await adminLogin(server)
  // Setup through the admin API: these are the admin changes the trail must show.
  const u = await admin.call('POST', '/api/admin/users', {
    username: 'alice',
    password: USER_PASSWORD,
    role: 'Writer',
  })
  expect(u.status).toBe(201)
  const k = await admin.call('POST', `/api/admin/users/${u.json.id}/credentials`)
  expect(k.status).toBe(201)
  user = {
    id: String(u.json.id),
    accessKeyId: k.json.access_key,
    secretAccessKey: k.json.secret_key,
  }
  await server.s3().send(new CreateBucketCommand({ Bucket: BUCKET }))
  const out = await server.sts(user).send(
    // As the example does: no RoleArn (the session acts for its caller).
    new AssumeRoleCommand({
      RoleSessionName: 'upload-alice',
      DurationSeconds: 3600,
      Policy: POLICY,
    } as never),
  )
  session = sessionKeys(out.Credentials)
  const s3 = server.s3(session)
  for (const key of [`${PREFIX}a.txt`, `${PREFIX}b.txt`])
    await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: `body of ${key}` }))
  expect(
    await outcome(s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'other/x.txt', Body: 'x' }))),
  ).toBe('AccessDenied')
  const bad = await fetch(`${server.endpoint}/api/admin/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username: 'alice', password: WRONG_PASSWORD }),
  })
  expect(bad.status).toBe(401)
  secrets.push(
    USER_PASSWORD,
    WRONG_PASSWORD,
    ROOT_PASSWORD,
    ROOT_SECRET_KEY,
    user.secretAccessKey,
    session.secretAccessKey,
    session.sessionToken,
    admin.token,
  )
}, 60_000)

afterAll(async () => {
  await server?.stop()
  rmSync(config, { recursive: true, force: true })
})

describe('the audit trail follows one upload credential from its minting to each object', () => {
  it('records the issuance: parent = the user, the policy hash, the duration', async () => {
    const { rows } = await audit({ session: session.accessKeyId, action: 'sts:AssumeRole' })
    expect(rows).toHaveLength(1)
    const e = rows[0]
    expect(e).toMatchObject({
      kind: 'issuance',
      principal: 'alice',
      session: session.accessKeyId,
      decision: 'allow',
      source: '127.0.0.1',
    })
    expect(e.resource).toMatch(/^arn:aws:sts::\d{12}:assumed-role\/.+\/upload-alice$/)
    expect(e.detail).toMatchObject({
      parent: `user:alice (${user.accessKeyId})`,
      caller: 'user:alice',
      durationSeconds: 3600,
      policyHash: createHash('sha256').update(POLICY).digest('hex'),
    })
  })

  it('records each PUT (allow) and the refused one (deny, reason) with the chain to the user', async () => {
    const { rows, headers } = await audit({ session: session.accessKeyId, action: 's3:PutObject' })
    expect(headers.get('x-total-count')).toBe('3')
    const byResource = new Map(rows.map((r) => [r.resource, r]))
    for (const key of [`${PREFIX}a.txt`, `${PREFIX}b.txt`])
      expect(byResource.get(`arn:aws:s3:::${BUCKET}/${key}`)).toMatchObject({
        kind: 'request',
        principal: 'alice',
        decision: 'allow',
        reason: null,
        detail: {
          chain: [`session:${session.accessKeyId}`, `user:alice (${user.accessKeyId})`],
          sessionName: 'upload-alice',
          status: 200,
        },
      })
    expect(byResource.get(`arn:aws:s3:::${BUCKET}/other/x.txt`)).toMatchObject({
      decision: 'deny',
      reason: 'AccessDenied',
      detail: { status: 403 },
    })
    // Filters and pagination: by principal, one per page.
    const page = await audit({ principal: 'alice', action: 's3:PutObject', limit: '1' })
    expect(page.rows).toHaveLength(1)
    expect(page.headers.get('x-next-offset')).toBe('1')
  })

  it('records no request made with long-term keys', async () => {
    const { rows } = await audit({ principal: user.accessKeyId })
    expect(rows.filter((r) => r.kind === 'request')).toEqual([])
  })

  it('records the admin changes of the setup, without the secrets', async () => {
    const created = (await audit({ action: 'iam:CreateUser' })).rows
    expect(created).toHaveLength(1)
    expect(created[0]).toMatchObject({
      kind: 'admin',
      principal: 'root',
      resource: 'POST /api/admin/users',
      detail: { request: { username: 'alice', role: 'Writer', password: '[removed]' } },
    })
    const key = (await audit({ action: 'iam:CreateAccessKey' })).rows
    expect(key).toHaveLength(1)
    expect(key[0].resource).toBe(`POST /api/admin/users/${user.id}/credentials`)
    expect(key[0].detail.created).toEqual({ access_key: user.accessKeyId })
  })

  it('records an admin change as before → after', async () => {
    const bob = await admin.call('POST', '/api/admin/users', {
      username: 'bob',
      password: 'bob-password-12345',
      role: 'Writer',
    })
    secrets.push('bob-password-12345')
    expect(
      (await admin.call('PATCH', `/api/admin/users/${bob.json.id}`, { role: 'Reader' })).status,
    ).toBe(200)
    const [e] = (await audit({ action: 'iam:UpdateUser' })).rows
    expect(e.detail.before).toMatchObject({ username: 'bob', role: 'Writer' })
    expect(e.detail.after).toMatchObject({ username: 'bob', role: 'Reader' })
    expect(e.detail.request).toEqual({ role: 'Reader' })
    expect((await admin.call('DELETE', `/api/admin/users/${bob.json.id}`)).status).toBe(204)
    const [d] = (await audit({ action: 'iam:DeleteUser' })).rows
    expect(d.detail.before).toMatchObject({ username: 'bob', role: 'Reader' })
    expect(d.detail.after).toBeNull()
  })

  it('records the failed login without the password', async () => {
    const { rows } = await audit({ action: 'admin:Login', principal: 'alice' })
    expect(rows).toHaveLength(1)
    expect(rows[0]).toMatchObject({ kind: 'login', decision: 'deny', reason: 'unauthorized' })
    const ok = (await audit({ action: 'admin:Login', principal: 'root' })).rows
    expect(ok[0]).toMatchObject({ decision: 'allow' })
  })

  it('answers the same through `latchkey admin audit --json`, and as a table', async () => {
    const login = await cli(['login', '--endpoint', server.endpoint, '--password-stdin'])
    expect(login.code, login.stderr).toBe(0)
    const r = await cli(['audit', '--session', session.accessKeyId, '--json'])
    expect(r.code, r.stderr).toBe(0)
    const rows = JSON.parse(r.stdout) as any[]
    expect(rows.map((x) => x.action).sort()).toEqual([
      's3:PutObject',
      's3:PutObject',
      's3:PutObject',
      'sts:AssumeRole',
    ])
    const table = await cli(['audit', '--principal', 'alice', '--since', '2000-01-01T00:00:00Z'])
    expect(table.code, table.stderr).toBe(0)
    expect(table.stdout).toMatch(/TIME\s+KIND\s+ACTION/)
    expect(table.stdout).toContain('sts:AssumeRole')
    expect((await cli(['audit', '--since', 'yesterday-ish'])).code).toBe(1)
  })

  it("is tenancy-scoped: a customer SuperUser sees only its own account's events", async () => {
    const c = await admin.call('POST', '/api/admin/customers', { name: 'acme', type: 'customer' })
    expect(c.status, JSON.stringify(c.json)).toBe(201)
    secrets.push(c.json.master_key.secret_key)
    const u = await admin.call('POST', '/api/admin/users', {
      username: 'boss',
      password: 'boss-password-1',
      role: 'SuperUser',
      customer: 'acme',
    })
    expect(u.status, JSON.stringify(u.json)).toBe(201)
    secrets.push('boss-password-1')
    const boss = await adminLogin(server, 'boss', 'boss-password-1', { customer: 'acme' })
    secrets.push(boss.token)
    const r = await boss.call('GET', '/api/admin/audit?limit=1000')
    expect(r.status).toBe(200)
    const rows = r.json as any[]
    expect(rows.length).toBeGreaterThan(0)
    const aliceAccount = (await audit({ session: session.accessKeyId })).rows[0].account_id
    const accounts = new Set(rows.map((x) => x.account_id))
    expect(accounts.size).toBe(1)
    expect(accounts.has(aliceAccount)).toBe(false)
    expect(accounts.has(null)).toBe(false)
    expect(rows.map((x) => x.principal)).not.toContain('alice')
    expect(rows.map((x) => x.action)).toContain('iam:CreateUser') // boss's own creation
    // Another account's session is not for it to read.
    const other = await boss.call('GET', `/api/admin/audit?session=${session.accessKeyId}`)
    expect(other.json).toEqual([])
    // The operator sees both accounts.
    const principals = (await audit({ limit: '1000' })).rows.map((x) => x.principal)
    expect(principals).toContain('alice')
    expect(principals).toContain('boss')
  })

  it('follows a chained session up through the session that minted it to the user', async () => {
    const first = (
      await server
        .sts(user)
        .send(new AssumeRoleCommand({ RoleSessionName: 'outer', DurationSeconds: 3600 } as never))
    ).Credentials!
    const outer = {
      accessKeyId: first.AccessKeyId!,
      secretAccessKey: first.SecretAccessKey!,
      sessionToken: first.SessionToken!,
    }
    const second = (
      await server.sts(outer).send(
        new AssumeRoleCommand({
          RoleSessionName: 'inner',
          DurationSeconds: 900,
          Policy: POLICY,
        } as never),
      )
    ).Credentials!
    const inner = {
      accessKeyId: second.AccessKeyId!,
      secretAccessKey: second.SecretAccessKey!,
      sessionToken: second.SessionToken!,
    }
    secrets.push(
      outer.secretAccessKey,
      outer.sessionToken,
      inner.secretAccessKey,
      inner.sessionToken,
    )
    await server
      .s3(inner)
      .send(new PutObjectCommand({ Bucket: BUCKET, Key: `${PREFIX}c.txt`, Body: 'c' }))
    const rows = (await audit({ session: inner.accessKeyId })).rows
    const put = rows.find((r) => r.kind === 'request')
    expect(put.detail.chain).toEqual([
      `session:${inner.accessKeyId}`,
      `session:${outer.accessKeyId}`,
      `user:alice (${user.accessKeyId})`,
    ])
    const minted = rows.find((r) => r.kind === 'issuance')
    // Made from the outer session (the chain's second link); the human behind both is alice.
    expect(minted.detail).toMatchObject({
      caller: `session:${outer.accessKeyId}`,
      parent: `session:${outer.accessKeyId}`,
    })
    expect(minted.principal).toBe('alice')
    const outerMinted = (await audit({ session: outer.accessKeyId, action: 'sts:AssumeRole' })).rows
    expect(outerMinted.find((r) => r.kind === 'issuance')?.detail).toMatchObject({
      parent: `user:alice (${user.accessKeyId})`,
    })
    // The outer session's own call to STS is a request event of that session.
    const call = (await audit({ session: outer.accessKeyId, action: 'sts:AssumeRole' })).rows
    expect(call.map((r) => r.kind).sort()).toEqual(['issuance', 'request'])
  })

  it('nothing any row, answer or CLI output holds is a secret, token or password used', async () => {
    const all = await audit({ limit: '1000' })
    const text = JSON.stringify(all.rows)
    for (const s of secrets) expect(text).not.toContain(s)
    const r = await cli(['audit', '--all', '--json'])
    for (const s of secrets) expect(r.stdout).not.toContain(s)
  })
})
