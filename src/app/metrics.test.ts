/** metrics.ts: the token rules of /metrics on the main port, and the series a request moves. */
import { Readable } from 'node:stream'
import { describe, expect, it } from 'vitest'
import { Metrics, bearerGuard } from './metrics.js'
import type { RawRequest } from '../http/raw-request.js'
import type { AccessEntry } from '../http/access-log.js'

function get(headers: Record<string, string> = {}): RawRequest {
  return {
    method: 'GET',
    rawPath: '/metrics',
    rawQuery: '',
    headers,
    body: Readable.from([]),
    remoteAddress: '127.0.0.1',
    secure: false,
  }
}

const entry = (over: Partial<AccessEntry>): AccessEntry => ({
  requestId: 'R',
  remoteAddress: '127.0.0.1',
  method: 'GET',
  path: '/',
  query: '',
  surface: 's3',
  operation: 'GetObject',
  bucket: 'b',
  key: 'k',
  principal: 'anonymous',
  status: 200,
  errorCode: undefined,
  bytesIn: 0,
  bytesOut: 10,
  durationMs: 1.5,
  aborted: false,
  ...over,
})

describe('bearerGuard', () => {
  const metrics = new Metrics()
  it('404 when no token is configured, whatever the request carries', async () => {
    const guard = bearerGuard(undefined, metrics)
    expect((await guard(get())).status).toBe(404)
    expect((await guard(get({ authorization: 'Bearer anything-at-all-123' }))).status).toBe(404)
  })
  it('401 without a Bearer token, 403 with a wrong one, 200 with the right one', async () => {
    const guard = bearerGuard('the-right-token-123456', metrics)
    const none = await guard(get())
    expect(none.status).toBe(401)
    expect(none.headers?.['www-authenticate']).toMatch(/^Bearer/)
    expect((await guard(get({ authorization: 'Basic eDp5' }))).status).toBe(401)
    expect((await guard(get({ authorization: 'Bearer the-right-token-12345' }))).status).toBe(403)
    expect((await guard(get({ authorization: 'Bearer the-right-token-1234567' }))).status).toBe(403)
    const ok = await guard(get({ authorization: 'Bearer the-right-token-123456' }))
    expect(ok.status).toBe(200)
    expect(String(ok.body)).toContain('latchkey_requests_total')
  })
})

describe('Metrics.observe', () => {
  it('counts requests, issuances, throttles, auth failures and lockouts', async () => {
    const m = new Metrics()
    m.observe(entry({}))
    m.observe(entry({ surface: 'sts', operation: 'AssumeRole' }))
    m.observe(
      entry({ surface: 'sts', operation: 'AssumeRole', status: 400, errorCode: 'Throttling' }),
    )
    m.observe(entry({ status: 403, errorCode: 'SignatureDoesNotMatch' }))
    m.observe(
      entry({
        surface: 'admin',
        operation: 'POST /login',
        status: 429,
        errorCode: 'TooManyRequests',
      }),
    )
    m.storageTimings('sqlite').commit(0.001)
    const text = await m.registry.metrics()
    for (const line of [
      'latchkey_requests_total{surface="s3",operation="GetObject",status="200"} 1',
      'latchkey_requests_total{surface="s3",operation="GetObject",status="403"} 1',
      'latchkey_sts_credentials_issued_total{action="AssumeRole"} 1',
      'latchkey_sts_throttled_total{action="AssumeRole"} 1',
      'latchkey_auth_failures_total{surface="s3",reason="SignatureDoesNotMatch"} 1',
      'latchkey_login_lockouts_total{surface="admin"} 1',
      'latchkey_response_body_bytes_total{surface="s3"} 20',
      'latchkey_storage_commit_seconds_count{backend="sqlite"} 1',
    ])
      expect(text).toContain(line)
  })
})

describe('the per-request series', () => {
  it('render as Prometheus counters and a cumulative histogram', async () => {
    const m = new Metrics()
    m.observe(entry({ durationMs: 3 }))
    m.observe(entry({ durationMs: 30_000, status: 404, bytesIn: 5 }))
    const text = await m.registry.metrics()
    for (const line of [
      '# TYPE latchkey_request_duration_seconds histogram',
      'latchkey_request_duration_seconds_bucket{le="0.0025",surface="s3",operation="GetObject"} 0',
      'latchkey_request_duration_seconds_bucket{le="0.005",surface="s3",operation="GetObject"} 1',
      'latchkey_request_duration_seconds_bucket{le="10",surface="s3",operation="GetObject"} 1',
      'latchkey_request_duration_seconds_bucket{le="+Inf",surface="s3",operation="GetObject"} 2',
      'latchkey_request_duration_seconds_sum{surface="s3",operation="GetObject"} 30.003',
      'latchkey_request_duration_seconds_count{surface="s3",operation="GetObject"} 2',
      '# TYPE latchkey_requests_total counter',
      'latchkey_requests_total{surface="s3",operation="GetObject",status="404"} 1',
      'latchkey_request_body_bytes_total{surface="s3"} 5',
    ])
      expect(text).toContain(line)
  })
})
