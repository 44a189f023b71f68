/** The console cookie's parsing and attributes, and the CSRF / Origin gate, without a server. */
import { Readable } from 'node:stream'
import { describe, expect, it } from 'vitest'
import type { RawRequest } from '../http/raw-request.js'
import { checkCsrf, consoleCookie, csrfTokenOf, setCookie } from './console-session.js'
import type { AdminDeps, ConsoleSession } from './deps.js'
import { AdminError } from './errors.js'

function req(method: string, headers: Record<string, string> = {}, secure = false): RawRequest {
  return {
    method,
    rawPath: '/api/admin/users',
    rawQuery: '',
    headers: { host: 'latchkey.example:9000', ...headers },
    body: Readable.from([]),
    remoteAddress: '127.0.0.1',
    secure,
  }
}

const deps = { jwtKey: Buffer.alloc(32, 7) } as AdminDeps
const session: ConsoleSession = {
  accessKeyId: 'ASIAEXAMPLE000000001',
  secretKey: 's',
  sessionToken: 'LK1.t',
  expiresAt: 0,
  kind: 'user',
}
const code = (f: () => void): string => {
  try {
    f()
    return 'ok'
  } catch (e) {
    return e instanceof AdminError ? e.code : String(e)
  }
}

describe('console cookie', () => {
  it('finds latchkey_console among other cookies', () => {
    expect(consoleCookie(req('GET', { cookie: 'a=1; latchkey_console=v~u~t~m; b=2' }))).toBe(
      'v~u~t~m',
    )
    expect(consoleCookie(req('GET', { cookie: 'latchkey_consolex=1' }))).toBeUndefined()
    expect(consoleCookie(req('GET', { cookie: 'latchkey_console=' }))).toBeUndefined()
    expect(consoleCookie(req('GET'))).toBeUndefined()
  })

  it('is HttpOnly, SameSite=Strict, Path=/; Secure over TLS or behind an HTTPS proxy', () => {
    expect(setCookie(req('POST'), 'v', 3600)).toBe(
      'latchkey_console=v; Path=/; HttpOnly; SameSite=Strict; Max-Age=3600',
    )
    expect(setCookie(req('POST', {}, true), 'v', 1)).toContain('; Secure')
    expect(setCookie(req('POST', { origin: 'https://x.example' }), 'v', 1)).toContain('; Secure')
    expect(setCookie(req('POST', { 'x-forwarded-proto': 'https' }), 'v', 1)).toContain('; Secure')
  })
})

describe('CSRF and Origin', () => {
  const token = csrfTokenOf(deps, session.accessKeyId)

  it('reads need no token; every change needs the session’s own', () => {
    expect(code(() => checkCsrf(deps, req('GET'), session))).toBe('ok')
    for (const m of ['POST', 'PUT', 'PATCH', 'DELETE']) {
      expect(code(() => checkCsrf(deps, req(m), session))).toBe('InvalidCsrfToken')
      expect(code(() => checkCsrf(deps, req(m, { 'x-csrf-token': token + 'x' }), session))).toBe(
        'InvalidCsrfToken',
      )
      expect(code(() => checkCsrf(deps, req(m, { 'x-csrf-token': token }), session))).toBe('ok')
    }
    const other = csrfTokenOf(deps, 'ASIAEXAMPLE000000002')
    expect(other).not.toBe(token)
    expect(code(() => checkCsrf(deps, req('POST', { 'x-csrf-token': other }), session))).toBe(
      'InvalidCsrfToken',
    )
  })

  it('a present Origin must be this host (any scheme), even on reads', () => {
    const t = { 'x-csrf-token': token }
    for (const origin of ['https://evil.example', 'null', 'http://latchkey.example:9001', 'x'])
      expect(
        code(() => checkCsrf(deps, req('GET', { origin }), session)),
        origin,
      ).toBe('InvalidCsrfToken')
    for (const origin of ['http://latchkey.example:9000', 'https://LATCHKEY.example:9000'])
      expect(
        code(() => checkCsrf(deps, req('POST', { ...t, origin }), session)),
        origin,
      ).toBe('ok')
  })
})
