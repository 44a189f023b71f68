/**
 * `--trusted-proxies`: behind a load balancer every TCP peer is the proxy. Without the flag
 * X-Forwarded-For is ignored (any client can write it), so the per-address login throttle sees
 * one address for every client; with it, the address a trusted proxy appended is the client's,
 * for the login throttle and for account allow-lists alike. Each case gets its own server: the
 * failures lock an address for 15 minutes.
 */
import { afterEach, describe, expect, it } from 'vitest'
import { ListBucketsCommand, type S3Client } from '@aws-sdk/client-s3'
import { startServer, type TestServer } from './harness.js'
import { adminLogin } from './admin-client.js'

let server: TestServer | undefined
afterEach(async () => {
  await server?.stop()
  server = undefined
})

function login(s: TestServer, username: string, password: string, from: string) {
  return fetch(`${s.endpoint}/api/admin/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-forwarded-for': from },
    body: JSON.stringify({ username, password }),
  })
}

async function failTenTimes(s: TestServer, from: string): Promise<void> {
  for (let i = 0; i < 10; i++)
    expect((await login(s, 'ghost', 'wrong-password', from)).status).toBe(401)
}

/** Every request of this client carries X-Forwarded-For: `from` (as a proxy would append it). */
function forwardedFrom(s3: S3Client, from: string): S3Client {
  s3.middlewareStack.add(
    (next) => async (args) => {
      const req = args.request as { headers: Record<string, string> }
      req.headers['x-forwarded-for'] = from
      return next(args)
    },
    { step: 'build', name: 'forwardedFor' },
  )
  return s3
}

describe('client addresses behind a proxy', () => {
  it('REGRESSION proxy-shared-login-lockout: behind a trusted proxy one client’s failed logins do not lock out another', async () => {
    server = await startServer({ args: ['--trusted-proxies', '127.0.0.1/32,::1'] })
    await failTenTimes(server, '203.0.113.7')
    expect((await login(server, 'root', server.rootPassword, '203.0.113.7')).status).toBe(429)
    // Another client behind the same proxy is not locked out.
    expect((await login(server, 'root', server.rootPassword, '198.51.100.9')).status).toBe(200)
    // What the client wrote left of the proxy's entry is not believed.
    expect(
      (await login(server, 'root', server.rootPassword, '198.51.100.9, 203.0.113.7')).status,
    ).toBe(429)
  })

  it('without --trusted-proxies X-Forwarded-For is ignored: a client cannot pick its address', async () => {
    server = await startServer()
    await failTenTimes(server, '203.0.113.7')
    // Every attempt came from 127.0.0.1, whatever the header said.
    expect((await login(server, 'root', server.rootPassword, '198.51.100.9')).status).toBe(429)
  })

  it('an account allow-list sees the address the trusted proxy forwarded', async () => {
    server = await startServer({ args: ['--trusted-proxies', '127.0.0.1'] })
    const admin = await adminLogin(server)
    const c = await admin.call('POST', '/api/admin/customers', {
      name: 'viaproxy',
      type: 'customer',
    })
    expect(c.status).toBe(201)
    const mk = {
      accessKeyId: c.json.master_key.access_key as string,
      secretAccessKey: c.json.master_key.secret_key as string,
    }
    const set = await admin.call('PUT', '/api/admin/customers/viaproxy/allowlist', {
      cidrs: ['203.0.113.0/24'],
    })
    expect(set.status).toBe(200)
    const inside = forwardedFrom(server.s3(mk), '203.0.113.5')
    await inside.send(new ListBucketsCommand({}))
    const outside = forwardedFrom(server.s3(mk), '198.51.100.1')
    await expect(outside.send(new ListBucketsCommand({}))).rejects.toMatchObject({
      name: 'AccessDenied',
    })
  })
})
