/**
 * The console's static files: security headers on every answer, index.html for client-side
 * routes, 404 for a missing asset, immutable caching for hashed assets only, gzip when accepted,
 * no escape from the build directory, and 503 when the build is missing.
 */
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Readable } from 'node:stream'
import { gunzipSync } from 'node:zlib'
import { describe, expect, it } from 'vitest'
import type { RawRequest } from '../http/raw-request.js'
import { CONSOLE_CSP, createConsoleHandler } from './serve.js'

function req(method: string, path: string, headers: Record<string, string> = {}): RawRequest {
  return {
    method,
    rawPath: path,
    rawQuery: '',
    headers,
    body: Readable.from([]),
    remoteAddress: '127.0.0.1',
    secure: false,
  }
}

function fakeBuild(): string {
  const dir = mkdtempSync(join(tmpdir(), 'latchkey-console-'))
  mkdirSync(join(dir, 'assets'))
  writeFileSync(join(dir, 'index.html'), '<!doctype html><title>Latchkey</title>')
  writeFileSync(join(dir, 'assets', 'app-abc123.js'), `console.log(${'"x"+'.repeat(400)}"x")`)
  writeFileSync(join(dir, 'favicon.svg'), '<svg/>')
  return dir
}

const h = (r: { headers?: Readonly<Record<string, unknown>> }, k: string) => r.headers?.[k]

describe('console static files', () => {
  const serve = createConsoleHandler(fakeBuild())

  it('index.html with the CSP and the other security headers, revalidated every time', async () => {
    const r = await serve(req('GET', '/console/'))
    expect(r.status).toBe(200)
    expect(String(r.body)).toContain('<title>Latchkey</title>')
    expect(h(r, 'content-type')).toBe('text/html; charset=utf-8')
    expect(h(r, 'content-security-policy')).toBe(CONSOLE_CSP)
    expect(CONSOLE_CSP).toContain("frame-ancestors 'none'")
    expect(CONSOLE_CSP).toContain("script-src 'self';")
    expect(h(r, 'x-frame-options')).toBe('DENY')
    expect(h(r, 'x-content-type-options')).toBe('nosniff')
    expect(h(r, 'referrer-policy')).toBe('no-referrer')
    expect(h(r, 'cache-control')).toBe('no-cache')
  })

  it('client-side routes get index.html; a missing asset is 404, not HTML', async () => {
    const r = await serve(req('GET', '/console/buckets/my-bucket'))
    expect(r.status).toBe(200)
    expect(String(r.body)).toContain('<title>Latchkey</title>')
    const miss = await serve(req('GET', '/console/assets/missing-000.js'))
    expect(miss.status).toBe(404)
    expect(h(miss, 'content-security-policy')).toBe(CONSOLE_CSP)
  })

  it('hashed assets are immutable; gzip when the client accepts it', async () => {
    const r = await serve(
      req('GET', '/console/assets/app-abc123.js', { 'accept-encoding': 'gzip, br' }),
    )
    expect(r.status).toBe(200)
    expect(h(r, 'cache-control')).toBe('public, max-age=31536000, immutable')
    expect(h(r, 'content-type')).toBe('text/javascript; charset=utf-8')
    expect(h(r, 'content-encoding')).toBe('gzip')
    expect(gunzipSync(r.body as Buffer).toString()).toMatch(/^console\.log/)
    const plain = await serve(req('GET', '/console/assets/app-abc123.js'))
    expect(h(plain, 'content-encoding')).toBeUndefined()
    const icon = await serve(req('GET', '/console/favicon.svg'))
    expect(h(icon, 'cache-control')).toBe('no-cache')
  })

  it('refuses escapes from the build directory and other methods', async () => {
    for (const p of ['/console/../package.json', '/console/%2e%2e/x', '/console/a/..%2f..%2fetc'])
      expect((await serve(req('GET', p))).status).toBe(400)
    expect((await serve(req('POST', '/console/'))).status).toBe(405)
    const head = await serve(req('HEAD', '/console/'))
    expect(head.status).toBe(200)
    expect(head.body).toBeUndefined()
  })

  it('/console redirects to /console/', async () => {
    const r = await serve(req('GET', '/console'))
    expect(r.status).toBe(302)
    expect(h(r, 'location')).toBe('/console/')
  })

  it('answers 503 saying how to build when the build is missing', async () => {
    const r = await createConsoleHandler('/nonexistent/latchkey-console')(req('GET', '/console/'))
    expect(r.status).toBe(503)
    expect(String(r.body)).toContain('console not built: run npm run build')
  })
})
