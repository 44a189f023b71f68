/**
 * Login lockout under concurrency, against the real server: 300 password logins fired at once
 * (admin API and RSLogin), all wrong but for the right password in the middle and at the end.
 * The throttle allows 10 failures in 15 minutes per user and per address; an attempt is reserved
 * before the slow scrypt check, so at most 10 of the burst are ever evaluated and every other one
 * is answered 429 with Retry-After without being checked. Before the fix the check and the count
 * straddled the hash, so the whole burst was evaluated and the right password got a token.
 * Each protocol gets its own server: the burst locks 127.0.0.1 for 15 minutes.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startServer, type TestServer } from './harness.js'
import { adminLogin } from './admin-client.js'

const LIMIT = 10
const BURST = 300
/** Where the right password sits in the burst. */
const RIGHT_AT = new Set([150, BURST - 1])

interface Answer {
  readonly index: number
  readonly status: number
  readonly retryAfter: string | null
  readonly body: string
}

async function burst(send: (i: number, right: boolean) => Promise<Response>): Promise<Answer[]> {
  return Promise.all(
    Array.from({ length: BURST }, async (_, i) => {
      const res = await send(i, RIGHT_AT.has(i))
      return {
        index: i,
        status: res.status,
        retryAfter: res.headers.get('retry-after'),
        body: await res.text(),
      }
    }),
  )
}

function tally(answers: readonly Answer[]): Record<number, number> {
  const out: Record<number, number> = {}
  for (const a of answers) out[a.status] = (out[a.status] ?? 0) + 1
  return out
}

describe('admin login', () => {
  let server: TestServer
  beforeAll(async () => {
    server = await startServer()
  })
  afterAll(async () => {
    await server?.stop()
  })

  it('REGRESSION login-lockout-race: 300 parallel admin logins evaluate at most 10; the right password among them gets no token', async () => {
    const login = (password: string): Promise<Response> =>
      fetch(`${server.endpoint}/api/admin/login`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ username: server.rootUser, password }),
      })
    const answers = await burst((i, right) =>
      login(right ? server.rootPassword : `wrong-password-${i}`),
    )
    const counts = tally(answers)
    const evaluated = answers.filter((a) => a.status !== 429)
    // No token, whichever attempt carried the right password.
    expect(answers.filter((a) => a.status === 200).map((a) => a.index)).toEqual([])
    expect(evaluated.length, JSON.stringify(counts)).toBeLessThanOrEqual(LIMIT)
    expect(evaluated.length).toBeGreaterThan(0)
    for (const a of evaluated) expect(a.status).toBe(401)
    for (const a of answers.filter((x) => x.status === 429)) {
      expect(Number(a.retryAfter)).toBeGreaterThan(0)
      expect(JSON.parse(a.body)).toMatchObject({ error: { code: 'TooManyRequests' } })
    }
    expect(counts[429]).toBe(BURST - evaluated.length)
    // And the lock holds afterwards, for the right password too.
    const after = await login(server.rootPassword)
    expect(after.status).toBe(429)
    expect(Number(after.headers.get('retry-after'))).toBeGreaterThan(800)
  })
})

describe('RSLogin', () => {
  let server: TestServer
  const form = (password: string): string =>
    `Action=RSLogin&Version=2011-06-15&DurationSeconds=900&Customer=lockcorp&UserName=locked%40lockcorp.com&Password=${encodeURIComponent(password)}&OTP=`
  beforeAll(async () => {
    server = await startServer()
    const admin = await adminLogin(server)
    expect(
      (await admin.call('POST', '/api/admin/customers', { name: 'lockcorp', type: 'customer' }))
        .status,
    ).toBe(201)
    expect(
      (
        await admin.call('POST', '/api/admin/users', {
          username: 'locked@lockcorp.com',
          password: 'Right-password-1',
          role: 'Writer',
          customer: 'lockcorp',
        })
      ).status,
    ).toBe(201)
  })
  afterAll(async () => {
    await server?.stop()
  })

  it('REGRESSION login-lockout-race: 300 parallel RSLogins evaluate at most 10; the right password among them gets no credentials', async () => {
    const rsLogin = (password: string): Promise<Response> =>
      fetch(`${server.endpoint}/`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded; charset=utf-8' },
        body: form(password),
      })
    const answers = await burst((i, right) =>
      rsLogin(right ? 'Right-password-1' : `wrong-password-${i}`),
    )
    const counts = tally(answers)
    const evaluated = answers.filter((a) => a.status !== 429)
    expect(answers.filter((a) => a.status === 200).map((a) => a.index)).toEqual([])
    expect(answers.some((a) => a.body.includes('AccessKeyId'))).toBe(false)
    expect(evaluated.length, JSON.stringify(counts)).toBeLessThanOrEqual(LIMIT)
    expect(evaluated.length).toBeGreaterThan(0)
    for (const a of evaluated)
      expect(JSON.parse(a.body)).toMatchObject({ Error: { Code: 'AccessDenied' } })
    for (const a of answers.filter((x) => x.status === 429)) {
      expect(Number(a.retryAfter)).toBeGreaterThan(0)
      expect(JSON.parse(a.body)).toMatchObject({
        Error: { Code: 'Throttling', Message: 'Rate exceeded' },
      })
    }
    const after = await rsLogin('Right-password-1')
    expect(after.status).toBe(429)
  })
})
