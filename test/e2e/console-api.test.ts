/**
 * The web console's server side, end to end (issue 11): the cookie session (sign-in as the
 * operator, a SuperUser and a Reader; cookie attributes; CSRF and Origin; sign-out and
 * revocation ending the cookie and its S3 credentials), self-service, the master-key reveal,
 * searches and sessions, policy validation and the OpenAPI document, against a real server with
 * real fetch calls and real S3 clients.
 */
import {
  CreateBucketCommand,
  GetObjectCommand,
  ListBucketsCommand,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3'
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { GetSessionTokenCommand } from '@aws-sdk/client-sts'
import { generateSync } from 'otplib'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { adminLogin, userWithKey, type AdminClient } from './admin-client.js'
import { consoleBrowser, type ConsoleBrowser } from './console-client.js'
import { outcome, startServer, type TestServer } from './harness.js'
import { startCluster, type TestCluster } from '../support/cluster.js'
import { startPostgres, type TestPostgres } from '../support/postgres.js'

let server: TestServer
let consoleDir: string
let totpSecret = ''
let admin: AdminClient
let superId: string
let readerId: string

function s3With(b: ConsoleBrowser, creds: any): S3Client {
  void b
  return server.s3({
    accessKeyId: creds.access_key,
    secretAccessKey: creds.secret_key,
    sessionToken: creds.session_token,
  })
}

async function signedIn(body: Record<string, string>): Promise<ConsoleBrowser> {
  const b = consoleBrowser(server)
  const r = await b.signIn(body)
  expect(r.status, JSON.stringify(r.json)).toBe(200)
  return b
}

const asRoot = () => signedIn({ username: server.rootUser, password: server.rootPassword })
const asSuper = () => signedIn({ username: 'cs-super', password: 'cs-super-password-1' })
const asReader = () => signedIn({ username: 'cs-reader', password: 'cs-reader-password-1' })

beforeAll(async () => {
  // A tiny stand-in for the Vite build (the console-spa branch makes the real one).
  consoleDir = mkdtempSync(join(tmpdir(), 'latchkey-console-e2e-'))
  mkdirSync(join(consoleDir, 'assets'))
  writeFileSync(join(consoleDir, 'index.html'), '<!doctype html><title>Latchkey console</title>')
  writeFileSync(join(consoleDir, 'assets', 'index-abc123.js'), 'export {}')
  server = await startServer({ env: { LATCHKEY_CONSOLE_DIR: consoleDir } })
  admin = await adminLogin(server)
  superId = (await userWithKey(admin, 'cs-super', 'SuperUser')).id
  readerId = (await userWithKey(admin, 'cs-reader', 'Reader')).id
}, 60_000)

afterAll(async () => {
  await server?.stop()
  rmSync(consoleDir, { recursive: true, force: true })
})

describe('serving the console', () => {
  it('/console/ pages carry the CSP and the other security headers', async () => {
    for (const path of ['/console/', '/console/users/42', '/console/assets/index-abc123.js']) {
      const r = await fetch(`${server.endpoint}${path}`)
      expect(r.status, path).toBe(200)
      const csp = r.headers.get('content-security-policy') ?? ''
      expect(csp).toContain("default-src 'self'")
      expect(csp).toContain("script-src 'self';")
      expect(csp).toContain("frame-ancestors 'none'")
      expect(r.headers.get('x-frame-options')).toBe('DENY')
      expect(r.headers.get('x-content-type-options')).toBe('nosniff')
      expect(r.headers.get('referrer-policy')).toBe('no-referrer')
    }
    const page = await fetch(`${server.endpoint}/console/users/42`)
    expect(await page.text()).toContain('<title>Latchkey console</title>')
    const asset = await fetch(`${server.endpoint}/console/assets/index-abc123.js`)
    expect(asset.headers.get('cache-control')).toContain('immutable')
  })

  it('a browser’s GET / is redirected to /console/; a signed ListBuckets to / still works', async () => {
    const r = await fetch(`${server.endpoint}/`, {
      headers: { accept: 'text/html,application/xhtml+xml,*/*;q=0.8' },
      redirect: 'manual',
    })
    expect(r.status).toBe(302)
    expect(r.headers.get('location')).toBe('/console/')
    const s3 = server.s3()
    const out = await s3.send(new ListBucketsCommand({}))
    expect(Array.isArray(out.Buckets ?? [])).toBe(true)
    // Unsigned without text/html (an S3 tool's anonymous call): S3's own answer, not a redirect.
    const anon = await fetch(`${server.endpoint}/`, { redirect: 'manual' })
    expect(anon.status).toBe(403)
  })
})

describe('console session (cookie)', () => {
  it('the operator signs in: HttpOnly SameSite=Strict cookie, csrf token, me, limits', async () => {
    const b = await asRoot()
    const sc = b.setCookie ?? ''
    expect(sc).toMatch(/^latchkey_console=[^;]+; /)
    expect(sc).toContain('; Path=/')
    expect(sc).toContain('; HttpOnly')
    expect(sc).toContain('; SameSite=Strict')
    expect(sc).toContain('; Max-Age=3600')
    expect(sc).not.toContain('Secure') // plain HTTP here; the TLS case is below
    const s = await b.call('GET', '/api/admin/console/session')
    expect(s.status).toBe(200)
    expect(s.json.csrf_token).toBe(b.csrf)
    expect(s.json.me).toMatchObject({
      kind: 'operator',
      username: server.rootUser,
      customer: 'default',
      role: 'Root',
      can: { users: true, master_key: true, customers: true },
    })
    expect(s.json.limits.max_duration_seconds).toBe(43200)
    expect((await b.call('GET', '/api/admin/users')).status).toBe(200)
  })

  it('the console session is an STS session with source console, shown in Sessions', async () => {
    const b = await asSuper()
    const creds = (await b.call('GET', '/api/admin/console/credentials')).json
    expect(creds.access_key).toMatch(/^ASIA/)
    const list = await admin.call('GET', `/api/admin/sessions?user=${superId}`)
    const mine = list.json.find((x: any) => x.access_key === creds.access_key)
    expect(mine).toMatchObject({
      source: 'console',
      parent: { kind: 'user', user_id: superId, username: 'cs-super' },
    })
    expect(await outcome(s3With(b, creds).send(new ListBucketsCommand({})))).toBe('OK')
  })

  it('a SuperUser and a Reader sign in; the Reader is refused on admin routes (403)', async () => {
    const su = await asSuper()
    expect((await su.call('GET', '/api/admin/console/session')).json.me).toMatchObject({
      kind: 'user',
      role: 'SuperUser',
      can: { users: true, customers: false },
    })
    expect((await su.call('GET', '/api/admin/users')).status).toBe(200)
    const rd = await asReader()
    const me = (await rd.call('GET', '/api/admin/console/session')).json.me
    expect(me).toMatchObject({ kind: 'user', role: 'Reader', customer: 'default' })
    expect(me.can).toMatchObject({
      buckets: true,
      users: false,
      sessions: false,
      master_key: false,
    })
    const users = await rd.call('GET', '/api/admin/users')
    expect(users.status).toBe(403)
    expect(users.json.error.code).toBe('Forbidden')
    expect((await rd.call('GET', '/api/admin/customers/default/master-key')).status).toBe(403)
    const self = await rd.call('GET', '/api/admin/me')
    expect(self.status).toBe(200)
    expect(self.json).toMatchObject({ username: 'cs-reader', user_id: readerId, role: 'Reader' })
  })

  it('bad passwords answer 401 plainly; no cookie is set', async () => {
    const b = consoleBrowser(server)
    const r = await b.signIn({ username: 'cs-super', password: 'wrong-password-123' })
    expect(r.status).toBe(401)
    expect(r.json.error.code).toBe('Unauthorized')
    expect(b.cookie).toBeUndefined()
    expect((await b.call('GET', '/api/admin/console/session')).status).toBe(401)
  })

  it('REGRESSION console-csrf-missing: a change with the cookie but no X-CSRF-Token is 403 and changes nothing', async () => {
    const b = await asRoot()
    const r = await b.call(
      'POST',
      '/api/admin/users',
      { username: 'csrf-victim-1', password: 'csrf-victim-password-1', role: 'SuperUser' },
      { csrf: null },
    )
    expect(r.status).toBe(403)
    expect(r.json.error.code).toBe('InvalidCsrfToken')
    const list = await admin.call('GET', '/api/admin/users?limit=1000')
    expect(list.json.map((u: any) => u.username)).not.toContain('csrf-victim-1')
  })

  it('REGRESSION console-csrf-wrong: a wrong token, or another session’s, is 403 and changes nothing', async () => {
    const b = await asRoot()
    const other = await asSuper()
    for (const csrf of ['x'.repeat(43), other.csrf ?? '']) {
      const r = await b.call(
        'POST',
        '/api/admin/users',
        { username: 'csrf-victim-2', password: 'csrf-victim-password-1', role: 'Reader' },
        { csrf },
      )
      expect(r.status).toBe(403)
      expect(r.json.error.code).toBe('InvalidCsrfToken')
    }
    // The logout is a change too: without the token the session lives on.
    expect(
      (await b.call('DELETE', '/api/admin/console/session', undefined, { csrf: null })).status,
    ).toBe(403)
    expect((await b.call('GET', '/api/admin/console/session')).status).toBe(200)
    const list = await admin.call('GET', '/api/admin/users?limit=1000')
    expect(list.json.map((u: any) => u.username)).not.toContain('csrf-victim-2')
  })

  it('REGRESSION console-csrf-origin: another site’s Origin is refused even with the right token', async () => {
    const b = await asRoot()
    const r = await b.call(
      'POST',
      '/api/admin/users',
      { username: 'csrf-victim-3', password: 'csrf-victim-password-1', role: 'Reader' },
      { origin: 'https://evil.example' },
    )
    expect(r.status).toBe(403)
    expect(r.json.error.code).toBe('InvalidCsrfToken')
    const signIn = await fetch(`${server.endpoint}/api/admin/console/session`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', origin: 'https://evil.example' },
      body: JSON.stringify({ username: server.rootUser, password: server.rootPassword }),
    })
    expect(signIn.status).toBe(403)
    expect(signIn.headers.get('set-cookie')).toBeNull()
    // Same origin, right token: allowed.
    const good = await b.call(
      'POST',
      '/api/admin/users',
      { username: 'csrf-ok-3', password: 'csrf-ok-password-1', role: 'Reader' },
      { origin: server.endpoint },
    )
    expect(good.status).toBe(201)
  })

  it('SECURITY console-cookie-forged: a cookie made from the page’s S3 credentials is refused', async () => {
    const b = await asRoot()
    const creds = (await b.call('GET', '/api/admin/console/credentials')).json
    const forged = consoleBrowser(server)
    forged.cookie = `latchkey_console=${creds.access_key}~o~${creds.session_token}~AAAA`
    expect((await forged.call('GET', '/api/admin/users')).status).toBe(401)
  })

  it('sign-out revokes the session: the old cookie and its S3 credentials are refused next', async () => {
    const b = await asSuper()
    const creds = (await b.call('GET', '/api/admin/console/credentials')).json
    expect(creds).toMatchObject({ region: 'us-east-1' })
    expect(creds.session_token).toMatch(/^LK1\./)
    const s3 = s3With(b, creds)
    expect(await outcome(s3.send(new ListBucketsCommand({})))).toBe('OK')
    const out = await b.call('DELETE', '/api/admin/console/session')
    expect(out.status).toBe(204)
    expect(b.setCookie).toContain('Max-Age=0')
    const again = await b.call('GET', '/api/admin/console/session')
    expect(again.status).toBe(401)
    expect((await b.call('GET', '/api/admin/users')).status).toBe(401)
    expect(await outcome(s3.send(new ListBucketsCommand({})))).not.toBe('OK')
  })

  it('an admin revoking the console session ends the cookie on the next request', async () => {
    const b = await asSuper()
    const creds = (await b.call('GET', '/api/admin/console/credentials')).json
    expect((await admin.call('DELETE', `/api/admin/sessions/${creds.access_key}`)).status).toBe(204)
    expect((await b.call('GET', '/api/admin/console/session')).status).toBe(401)
  })

  it('deactivating the user ends its console session and the session’s S3 credentials', async () => {
    await admin.call('POST', '/api/admin/users', {
      username: 'cs-deact',
      password: 'cs-deact-password-1',
      role: 'Writer',
    })
    const b = await signedIn({ username: 'cs-deact', password: 'cs-deact-password-1' })
    const creds = (await b.call('GET', '/api/admin/console/credentials')).json
    const me = (await b.call('GET', '/api/admin/me')).json
    const s3 = s3With(b, creds)
    expect(await outcome(s3.send(new ListBucketsCommand({})))).toBe('OK')
    expect(
      (await admin.call('PATCH', `/api/admin/users/${me.user_id}`, { is_active: false })).status,
    ).toBe(200)
    expect((await b.call('GET', '/api/admin/console/session')).status).toBe(401)
    expect(await outcome(s3.send(new ListBucketsCommand({})))).not.toBe('OK')
  })

  it('a user with TOTP is asked for its code (400 OtpRequired) only after the right password', async () => {
    const u = await admin.call('POST', '/api/admin/users', {
      username: 'cs-totp',
      password: 'cs-totp-password-1',
      role: 'Reader',
    })
    const enrol = await admin.call('POST', `/api/admin/users/${u.json.id}/totp`)
    expect(enrol.status).toBe(200)
    totpSecret = enrol.json.secret
    const b = consoleBrowser(server)
    const need = await b.signIn({ username: 'cs-totp', password: 'cs-totp-password-1' })
    expect(need.status).toBe(400)
    expect(need.json.error.code).toBe('OtpRequired')
    const wrong = await b.signIn({ username: 'cs-totp', password: 'not-the-password-1' })
    expect(wrong.status).toBe(401)
    const badCode = await b.signIn({
      username: 'cs-totp',
      password: 'cs-totp-password-1',
      otp: '000000',
    })
    expect(badCode.status).toBe(401)
    // With the code: signed in; changing the password then re-checks the password only.
    const ok = await b.signIn({
      username: 'cs-totp',
      password: 'cs-totp-password-1',
      otp: generateSync({ secret: totpSecret }),
    })
    expect(ok.status, JSON.stringify(ok.json)).toBe(200)
    expect(ok.json.me.totp_enabled).toBe(true)
    const pw = await b.call('PUT', '/api/admin/me/password', {
      current_password: 'cs-totp-password-1',
      new_password: 'cs-totp-password-2',
    })
    expect(pw.status, JSON.stringify(pw.json)).toBe(204)
    // Removing the code needs the password and a (fresh) code.
    const noCode = await b.call('DELETE', '/api/admin/me/totp', { password: 'cs-totp-password-2' })
    expect(noCode.status).toBe(400)
  })
})

describe('console sign-in lockout', () => {
  it('ten failures lock console sign-in (429 with the wait), and POST /login with it', async () => {
    // Its own server: the lockout also holds the client address, which every test here shares.
    const own = await startServer()
    try {
      const b = consoleBrowser(own)
      for (let i = 0; i < 10; i++)
        expect(
          (await b.signIn({ username: own.rootUser, password: `wrong-password-${i}` })).status,
        ).toBe(401)
      const locked = await b.signIn({ username: own.rootUser, password: own.rootPassword })
      expect(locked.status).toBe(429)
      expect(locked.json.error.code).toBe('TooManyRequests')
      expect(Number(locked.headers.get('retry-after'))).toBeGreaterThan(0)
      expect(b.cookie).toBeUndefined()
      const a = await adminLogin(own).catch((e: Error) => e)
      expect(String(a)).toContain('429') // the same throttle as POST /login
    } finally {
      await own.stop()
    }
  }, 60_000)
})

describe('console session under TLS', () => {
  it('the cookie is Secure under --tls-self-signed', async () => {
    const tls = await startServer({ tls: true })
    try {
      const r = await fetch(`${tls.endpoint}/api/admin/console/session`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ username: tls.rootUser, password: tls.rootPassword }),
      })
      expect(r.status).toBe(200)
      const sc = r.headers.get('set-cookie') ?? ''
      expect(sc).toContain('; Secure')
      expect(sc).toContain('; HttpOnly')
      expect(sc).toContain('; SameSite=Strict')
    } finally {
      await tls.stop()
    }
  }, 60_000)
})

describe('self-service (/me)', () => {
  it('a Reader mints upload-only credentials for itself, never beyond its own rights', async () => {
    await admin.call('POST', '/api/admin/users', {
      username: 'cs-writer',
      password: 'cs-writer-password-1',
      role: 'Writer',
    })
    const w = await signedIn({ username: 'cs-writer', password: 'cs-writer-password-1' })
    const s3w = s3With(w, (await w.call('GET', '/api/admin/console/credentials')).json)
    await s3w.send(new CreateBucketCommand({ Bucket: 'cs-builder' }))
    const policy = JSON.stringify({
      Version: '2012-10-17',
      Statement: [
        {
          Effect: 'Allow',
          Action: ['s3:PutObject', 's3:AbortMultipartUpload'],
          Resource: 'arn:aws:s3:::cs-builder/uploads/*',
        },
      ],
    })
    const r = await w.call('POST', '/api/admin/me/credentials', {
      policy,
      duration_seconds: 900,
      name: 'upload-only',
    })
    expect(r.status, JSON.stringify(r.json)).toBe(201)
    expect(r.json).toMatchObject({ policy, max_duration_seconds: 43200 })
    expect(r.json.packed_policy_size).toBeGreaterThan(0)
    const up = s3With(w, r.json)
    const put = (Key: string) =>
      outcome(up.send(new PutObjectCommand({ Bucket: 'cs-builder', Key, Body: 'x' })))
    expect(await put('uploads/a.txt')).toBe('OK')
    expect(await put('other/a.txt')).toBe('AccessDenied')
    expect(
      await outcome(up.send(new GetObjectCommand({ Bucket: 'cs-builder', Key: 'uploads/a.txt' }))),
    ).toBe('AccessDenied')
    // The Reader's own credentials cannot write, whatever policy it asks for.
    const rd = await asReader()
    const rc = await rd.call('POST', '/api/admin/me/credentials', { policy })
    expect(rc.status).toBe(201)
    expect(
      await outcome(
        s3With(rd, rc.json).send(
          new PutObjectCommand({ Bucket: 'cs-builder', Key: 'uploads/r.txt', Body: 'x' }),
        ),
      ),
    ).toBe('AccessDenied')
    // Shown in Sessions with source console and the caller as parent.
    const list = await admin.call('GET', `/api/admin/sessions?parent=${readerId}`)
    expect(list.json.map((s: any) => s.access_key)).toContain(rc.json.access_key)
    expect(list.json.every((s: any) => s.source === 'console')).toBe(true)
  })

  it('refuses a duration beyond the maximum and a bad policy, minting nothing', async () => {
    const rd = await asReader()
    const long = await rd.call('POST', '/api/admin/me/credentials', { duration_seconds: 43201 })
    expect(long.status).toBe(400)
    const bad = await rd.call('POST', '/api/admin/me/credentials', { policy: '{"Statement":1}' })
    expect(bad.status).toBe(400)
    expect(bad.json.error.code).toBe('ValidationError')
  })

  it('changes its own password only with the current one', async () => {
    await admin.call('POST', '/api/admin/users', {
      username: 'cs-pw',
      password: 'cs-pw-password-1',
      role: 'Reader',
    })
    const b = await signedIn({ username: 'cs-pw', password: 'cs-pw-password-1' })
    const wrong = await b.call('PUT', '/api/admin/me/password', {
      current_password: 'not-it-password',
      new_password: 'cs-pw-password-2',
    })
    expect(wrong.status).toBe(401)
    const good = await b.call('PUT', '/api/admin/me/password', {
      current_password: 'cs-pw-password-1',
      new_password: 'cs-pw-password-2',
    })
    expect(good.status).toBe(204)
    expect(
      (await consoleBrowser(server).signIn({ username: 'cs-pw', password: 'cs-pw-password-1' }))
        .status,
    ).toBe(401)
    await signedIn({ username: 'cs-pw', password: 'cs-pw-password-2' })
  })

  it('REGRESSION password-change-ends-sign-ins: a new password ends the other sign-ins, not the changing one or key sessions', async () => {
    const u = await userWithKey(admin, 'cs-pwend', 'Reader')
    const pw1 = 'cs-pwend-password-1'
    const here = await signedIn({ username: 'cs-pwend', password: pw1 })
    const elsewhere = await signedIn({ username: 'cs-pwend', password: pw1 })
    const login = await fetch(server.endpoint, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: `Action=RSLogin&Version=2011-06-15&UserName=cs-pwend&Password=${pw1}`,
    })
    expect(login.status).toBe(200)
    const lc = ((await login.json()) as any).Credentials
    const rsLogin = server.s3({ accessKeyId: lc.AccessKeyId, secretAccessKey: lc.SecretAccessKey })
    const viaKey = await server
      .sts({ accessKeyId: u.accessKeyId, secretAccessKey: u.secretAccessKey })
      .send(new GetSessionTokenCommand({}))
    const keyS3 = server.s3({
      accessKeyId: viaKey.Credentials!.AccessKeyId!,
      secretAccessKey: viaKey.Credentials!.SecretAccessKey!,
      sessionToken: viaKey.Credentials!.SessionToken!,
    })
    for (const c of [rsLogin, keyS3]) await c.send(new ListBucketsCommand({}))
    expect((await elsewhere.call('GET', '/api/admin/me')).status).toBe(200)

    const changed = await here.call('PUT', '/api/admin/me/password', {
      current_password: pw1,
      new_password: 'cs-pwend-password-2',
    })
    expect(changed.status).toBe(204)
    expect((await here.call('GET', '/api/admin/me')).status).toBe(200)
    expect((await elsewhere.call('GET', '/api/admin/me')).status).toBe(401)
    expect(await outcome(rsLogin.send(new ListBucketsCommand({})))).not.toBe('OK')
    await keyS3.send(new ListBucketsCommand({}))

    // An administrator's reset ends every sign-in, the one that was kept above included.
    const reset = await admin.call('PATCH', `/api/admin/users/${u.id}`, {
      password: 'cs-pwend-password-3',
    })
    expect(reset.status).toBe(200)
    expect((await here.call('GET', '/api/admin/me')).status).toBe(401)
    await keyS3.send(new ListBucketsCommand({}))
  })

  it('enrols its own TOTP with its password', async () => {
    await admin.call('POST', '/api/admin/users', {
      username: 'cs-selftotp',
      password: 'cs-selftotp-password-1',
      role: 'Reader',
    })
    const b = await signedIn({ username: 'cs-selftotp', password: 'cs-selftotp-password-1' })
    expect(
      (await b.call('POST', '/api/admin/me/totp', { password: 'wrong-password-1' })).status,
    ).toBe(401)
    const t = await b.call('POST', '/api/admin/me/totp', { password: 'cs-selftotp-password-1' })
    expect(t.status).toBe(200)
    expect(t.json.otpauth_url).toMatch(/^otpauth:\/\/totp\//)
    expect((await b.call('GET', '/api/admin/me')).json.totp_enabled).toBe(true)
  })
})

describe('master key reveal and reset', () => {
  it('reveal needs the caller’s own password and is in the audit trail, allowed and denied', async () => {
    const b = await asRoot()
    const bad = await b.call('POST', '/api/admin/customers/default/master-key/reveal', {
      password: 'not-the-operator-password',
    })
    expect(bad.status).toBe(401)
    expect(bad.json.secret_key).toBeUndefined()
    const good = await b.call('POST', '/api/admin/customers/default/master-key/reveal', {
      password: server.rootPassword,
    })
    expect(good.status).toBe(200)
    expect(good.json).toEqual({
      access_key: server.accessKeyId,
      secret_key: server.secretAccessKey,
    })
    const audit = await b.call('GET', '/api/admin/audit?action=admin:RevealMasterKey')
    expect(audit.status).toBe(200)
    expect(audit.json.map((e: any) => e.decision)).toEqual(['allow', 'deny'])
    expect(JSON.stringify(audit.json)).not.toContain(server.secretAccessKey)
    // A SuperUser reveals with its own password; a Reader is refused before any check.
    const su = await asSuper()
    const r = await su.call('POST', '/api/admin/customers/default/master-key/reveal', {
      password: 'cs-super-password-1',
    })
    expect(r.status).toBe(200)
    const rd = await asReader()
    const no = await rd.call('POST', '/api/admin/customers/default/master-key/reveal', {
      password: 'cs-reader-password-1',
    })
    expect(no.status).toBe(403)
  })

  it('reset answers how many sessions died with the old key', async () => {
    const c = await admin.call('POST', '/api/admin/customers', {
      name: 'cs-cust',
      type: 'customer',
    })
    expect(c.status).toBe(201)
    const { access_key, secret_key } = c.json.master_key
    const sts = server.sts({ accessKeyId: access_key, secretAccessKey: secret_key })
    const { GetSessionTokenCommand } = await import('@aws-sdk/client-sts')
    await sts.send(new GetSessionTokenCommand({}))
    await sts.send(new GetSessionTokenCommand({}))
    const r = await admin.call('POST', '/api/admin/customers/cs-cust/master-key/reset')
    expect(r.status).toBe(200)
    expect(r.json.sessions_revoked).toBe(2)
    expect(r.json.secret_key).not.toBe(secret_key)
  })
})

describe('users, sessions, policies', () => {
  it('users ?q= searches name, e-mail and names server-side, with paging headers', async () => {
    await admin.call('POST', '/api/admin/users', {
      username: 'cs-findme',
      password: 'cs-findme-password-1',
      role: 'Reader',
      email: 'Finder@Example.com',
      firstname: 'Ada',
      lastname: 'Lovelace',
    })
    for (const q of ['findme', 'finder@example', 'ada love', 'LOVELACE']) {
      const r = await admin.call('GET', `/api/admin/users?q=${encodeURIComponent(q)}`)
      expect(
        r.json.map((u: any) => u.username),
        q,
      ).toEqual(['cs-findme'])
      expect(r.headers.get('x-total-count')).toBe('1')
    }
    const su = (await admin.call('GET', `/api/admin/users/${superId}`)).json
    expect(su.access_key_created_at).toMatch(/^\d{4}-/)
  })

  it('access_key_last_used_at: null until the key signs a request, then when it did', async () => {
    const key = await userWithKey(admin, 'cs-lastused', 'Reader')
    const before = (await admin.call('GET', `/api/admin/users/${key.id}`)).json
    expect(before.access_key_last_used_at).toBeNull()
    const t0 = Date.now()
    await server.s3(key).send(new ListBucketsCommand({}))
    // Recorded after the answer is sent: poll briefly for the server to get there.
    let after: any
    for (let i = 0; i < 50; i++) {
      after = (await admin.call('GET', `/api/admin/users?q=cs-lastused`)).json[0]
      if (after.access_key_last_used_at !== null) break
      await new Promise((r) => setTimeout(r, 20))
    }
    expect(Date.parse(after.access_key_last_used_at)).toBeGreaterThanOrEqual(t0 - 1000)
    expect(Date.parse(after.access_key_last_used_at)).toBeLessThanOrEqual(Date.now())
    // The user sees the same on its own Access keys page (GET /api/admin/me).
    const own = consoleBrowser(server)
    await own.signIn({ username: 'cs-lastused', password: 'cs-lastused-password-1' })
    const me = (await own.call('GET', '/api/admin/me')).json
    expect(me.access_key).toBe(key.accessKeyId)
    expect(me.access_key_created_at).toMatch(/^\d{4}-/)
    expect(me.access_key_last_used_at).toBe(after.access_key_last_used_at)
  })

  it('revokes every session of a parent: refused on the very next request', async () => {
    const key = await userWithKey(admin, 'cs-parent', 'Writer')
    const sts = server.sts({ accessKeyId: key.accessKeyId, secretAccessKey: key.secretAccessKey })
    const { GetSessionTokenCommand } = await import('@aws-sdk/client-sts')
    const made = await Promise.all([1, 2, 3].map(() => sts.send(new GetSessionTokenCommand({}))))
    const listed = await admin.call('GET', `/api/admin/sessions?parent=${key.accessKeyId}`)
    expect(listed.json.length).toBe(3)
    expect(listed.json[0].source).toBe('GetSessionToken')
    const r = await admin.call('DELETE', `/api/admin/sessions?parent=${key.accessKeyId}`)
    expect(r.status).toBe(200)
    expect(r.json).toEqual({ revoked: 3 })
    for (const m of made) {
      const c = m.Credentials!
      const s3 = server.s3({
        accessKeyId: c.AccessKeyId!,
        secretAccessKey: c.SecretAccessKey!,
        sessionToken: c.SessionToken!,
      })
      expect(await outcome(s3.send(new ListBucketsCommand({})))).not.toBe('OK')
    }
    // The key itself still works.
    expect(await outcome(server.s3(key).send(new ListBucketsCommand({})))).toBe('OK')
    expect((await admin.call('DELETE', '/api/admin/sessions?parent=nobody-0000')).status).toBe(404)
  })

  it('policy/validate answers valid, or errors with line and column', async () => {
    const rd = await asReader()
    const good = await rd.call('POST', '/api/admin/policy/validate', {
      kind: 'bucket',
      policy: JSON.stringify({
        Version: '2012-10-17',
        Statement: [
          { Effect: 'Allow', Principal: '*', Action: 's3:GetObject', Resource: 'arn:aws:s3:::b/*' },
        ],
      }),
    })
    expect(good.json).toEqual({ valid: true })
    const syntax = await rd.call('POST', '/api/admin/policy/validate', {
      kind: 'identity',
      policy: '{\n  "Version": "2012-10-17",\n  "Statement": [\n    {"Effect": "Allow",}\n  ]\n}',
    })
    expect(syntax.json.valid).toBe(false)
    expect(syntax.json.errors[0]).toMatchObject({ line: 4, column: 24 })
    const field = await rd.call('POST', '/api/admin/policy/validate', {
      kind: 'session',
      policy: '{\n  "Version": "2012-10-17",\n  "Bogus": 1,\n  "Statement": []\n}',
    })
    expect(field.json.valid).toBe(false)
    expect(field.json.errors[0].message).toContain('Bogus')
    expect(field.json.errors[0]).toMatchObject({ line: 3, column: 3 })
  })

  it('openapi.json (no sign-in) describes the console routes', async () => {
    const r = await fetch(`${server.endpoint}/api/admin/openapi.json`)
    expect(r.status).toBe(200)
    const doc = (await r.json()) as any
    expect(doc.openapi).toBe('3.0.3')
    for (const [path, method] of [
      ['/api/admin/console/session', 'post'],
      ['/api/admin/me/credentials', 'post'],
      ['/api/admin/customers/{name}/master-key/reveal', 'post'],
      ['/api/admin/sessions', 'delete'],
      ['/api/admin/policy/validate', 'post'],
    ] as const)
      expect(doc.paths[path]?.[method]?.summary, `${method} ${path}`).toBeTruthy()
  })
})

const pg: TestPostgres | undefined = await startPostgres()
afterAll(async () => {
  await pg?.stop()
})

describe.skipIf(pg === undefined)('the console session on two PostgreSQL nodes', () => {
  let cluster: TestCluster
  let a: TestServer
  let b: TestServer

  beforeAll(async () => {
    cluster = await startCluster(await pg!.createDatabase(), 2)
    ;[a, b] = cluster.nodes as [TestServer, TestServer]
  }, 90_000)

  afterAll(async () => {
    await cluster?.stop()
  })

  it('a cookie from node A works on B; signing out on B ends it and its S3 credentials on A', async () => {
    const onA = consoleBrowser(a)
    expect((await onA.signIn({ username: a.rootUser, password: a.rootPassword })).status).toBe(200)
    const creds = (await onA.call('GET', '/api/admin/console/credentials')).json
    const onB = consoleBrowser(b)
    onB.cookie = onA.cookie
    const sB = await onB.call('GET', '/api/admin/console/session')
    expect(sB.status).toBe(200)
    expect(sB.json.csrf_token).toBe(onA.csrf) // stateless: the same on every node
    onB.csrf = sB.json.csrf_token
    const s3OnA = a.s3({
      accessKeyId: creds.access_key,
      secretAccessKey: creds.secret_key,
      sessionToken: creds.session_token,
    })
    expect(await outcome(s3OnA.send(new ListBucketsCommand({})))).toBe('OK')
    expect((await onB.call('DELETE', '/api/admin/console/session')).status).toBe(204)
    expect((await onA.call('GET', '/api/admin/console/session')).status).toBe(401)
    expect(await outcome(s3OnA.send(new ListBucketsCommand({})))).not.toBe('OK')
  })
})
