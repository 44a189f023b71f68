/**
 * The web console's server side, end to end (issue 11): the cookie session (sign-in as the
 * operator, a SuperUser and a Reader; cookie attributes; CSRF and Origin; sign-out and
 * revocation ending the cookie and its S3 credentials), self-service, the master-key reveal,
 * searches and sessions, policy validation and the OpenAPI document, against a real server with
 * real fetch calls and real S3 clients.
 */
import { ListBucketsCommand, S3Client } from '@aws-sdk/client-s3'
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { adminLogin, userWithKey, type AdminClient } from './admin-client.js'
import { consoleBrowser, type ConsoleBrowser } from './console-client.js'
import { outcome, startServer, type TestServer } from './harness.js'

let server: TestServer
let consoleDir: string
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

  it('a user with TOTP is asked for its code (400 OtpRequired) only after the right password', async () => {
    const u = await admin.call('POST', '/api/admin/users', {
      username: 'cs-totp',
      password: 'cs-totp-password-1',
      role: 'Reader',
    })
    expect((await admin.call('POST', `/api/admin/users/${u.json.id}/totp`)).status).toBe(200)
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
  })
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
