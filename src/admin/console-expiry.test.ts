/**
 * The console session's end by time, with an injected clock (the e2e suite cannot wait an hour):
 * the cookie works until the session's expiry and is refused from then on; the answer's
 * `expires_at` and the cookie's Max-Age say the same hour.
 */
import { Readable } from 'node:stream'
import { randomBytes } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { silentLogger } from '../lib/logger.js'
import type { RawRequest, RequestContext } from '../http/raw-request.js'
import { simulate } from '../policy/simulate.js'
import { makeIam } from '../iam/fixtures.case.js'
import { createAdminHandler } from './handler.js'

function raw(
  method: string,
  path: string,
  headers: Record<string, string>,
  body?: unknown,
): RawRequest {
  const text = body === undefined ? '' : JSON.stringify(body)
  return {
    method,
    rawPath: path,
    rawQuery: '',
    headers: { host: 'h', 'content-type': 'application/json', ...headers },
    body: Readable.from(text === '' ? [] : [Buffer.from(text)]),
    remoteAddress: '127.0.0.1',
    secure: false,
  }
}

describe('console session expiry', () => {
  it('the cookie is refused once the hour is over', async () => {
    const f = await makeIam({ bootstrap: { rootPassword: 'operator-pass-1' } })
    const handler = createAdminHandler({
      iam: f.iam,
      clock: f.clock,
      log: silentLogger,
      jwtKey: randomBytes(32),
      simulate,
      console: { region: 'us-east-1', maxDurationSeconds: 43200 },
    })
    const ctx = (): RequestContext => ({
      requestId: 'r',
      clock: f.clock,
      log: silentLogger,
      receivedAt: f.clock.now(),
    })
    const start = f.clock.now()
    const r = await handler(
      raw(
        'POST',
        '/api/admin/console/session',
        {},
        { username: 'root', password: 'operator-pass-1' },
      ),
      ctx(),
    )
    expect(r.status).toBe(200)
    const setCookie = String(r.headers?.['set-cookie'])
    expect(setCookie).toContain('Max-Age=3600')
    expect(JSON.parse(String(r.body)).expires_at).toBe(new Date(start + 3600_000).toISOString())
    const cookie = setCookie.split(';')[0] ?? ''
    const get = () => handler(raw('GET', '/api/admin/console/session', { cookie }), ctx())
    f.clock.advance(3599_000)
    expect((await get()).status).toBe(200)
    f.clock.advance(1000)
    expect((await get()).status).toBe(401)
  })
})
