/**
 * dispatch: which surface answers. The server's own paths (/health, /api/admin/…) are also S3
 * paths, so the decision looks at what the request is: S3 authentication or a virtual-hosted
 * bucket host sends it to S3, whatever its path.
 */
import { Readable } from 'node:stream'
import { describe, expect, it } from 'vitest'
import { dispatch, hasS3Authentication, type Surfaces } from './dispatch.js'
import { bucketOfHost } from '../s3/addressing.js'
import { newAccessRecord, type RawRequest, type RequestContext } from '../http/raw-request.js'
import { ManualClock } from '../lib/clock.js'
import { silentLogger } from '../lib/logger.js'

function req(method: string, target: string, headers: Record<string, string> = {}): RawRequest {
  const q = target.indexOf('?')
  return {
    method,
    rawPath: q < 0 ? target : target.slice(0, q),
    rawQuery: q < 0 ? '' : target.slice(q + 1),
    headers,
    body: Readable.from([]),
    remoteAddress: '127.0.0.1',
    secure: false,
  }
}

const ctx: RequestContext = {
  requestId: 'R1',
  clock: new ManualClock(),
  log: silentLogger,
  receivedAt: 0,
}

function surfaces(domain?: string): Surfaces & { hit: string[] } {
  const hit: string[] = []
  return {
    hit,
    s3: async () => (hit.push('s3'), { status: 200 }),
    sts: async () => (hit.push('sts'), { status: 200 }),
    admin: async () => (hit.push('admin'), { status: 200 }),
    isReady: () => true,
    isCurrent: () => true,
    ...(domain !== undefined
      ? { isBucketHost: (h: string) => bucketOfHost(h, domain) !== undefined }
      : {}),
  }
}

async function surfaceOf(r: RawRequest, domain?: string): Promise<string> {
  const s = surfaces(domain)
  const res = await dispatch(r, ctx, s)
  if (s.hit.length === 0) return res.status === 200 ? 'health' : `status ${res.status}`
  return s.hit.join(',')
}

const V4 =
  'AWS4-HMAC-SHA256 Credential=AKID/20240101/us-east-1/s3/aws4_request, SignedHeaders=host, Signature=00'

describe('dispatch', () => {
  const cases: [string, RawRequest, string][] = [
    ['unsigned GET /health', req('GET', '/health'), 'health'],
    ['unsigned HEAD /health', req('HEAD', '/health'), 'health'],
    ['SigV4-signed GET /health', req('GET', '/health', { authorization: V4 }), 's3'],
    ['SigV2-signed HEAD /health', req('HEAD', '/health', { authorization: 'AWS AKID:c2ln' }), 's3'],
    [
      'presigned GET /health',
      req('GET', '/health?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Signature=00'),
      's3',
    ],
    ['unsigned PUT /health', req('PUT', '/health'), 's3'],
    [
      'admin call with a Bearer token',
      req('GET', '/api/admin/users', { authorization: 'Bearer x' }),
      'admin',
    ],
    ['admin login (unsigned POST)', req('POST', '/api/admin/login'), 'admin'],
    ['bare /api/admin', req('GET', '/api/admin'), 'admin'],
    [
      'SigV4-signed GET /api/admin/users',
      req('GET', '/api/admin/users', { authorization: V4 }),
      's3',
    ],
    [
      'SigV2 presigned GET /api/admin/x',
      req('GET', '/api/admin/x?AWSAccessKeyId=AKID&Expires=1&Signature=c2ln'),
      's3',
    ],
    [
      'POST upload form on /api/admin/login',
      req('POST', '/api/admin/login', { 'content-type': 'multipart/form-data; boundary=x' }),
      's3',
    ],
    [
      'ListObjects on bucket api (/api)',
      req('GET', '/api?list-type=2', { authorization: V4 }),
      's3',
    ],
    [
      'STS form POST',
      req('POST', '/', { 'content-type': 'application/x-www-form-urlencoded' }),
      'sts',
    ],
    ['STS GET ?Action=', req('GET', '/?Action=GetCallerIdentity'), 'sts'],
    ['anything else', req('GET', '/photos/cat.jpg'), 's3'],
  ]
  it.each(cases)('%s → %s', async (_name, r, want) => {
    expect(await surfaceOf(r)).toBe(want)
  })

  it('on a virtual-hosted bucket host, /health and /api/admin/… are object keys', async () => {
    const host = { host: 'photos.s3.example.com:9000' }
    expect(await surfaceOf(req('GET', '/health', host), 's3.example.com')).toBe('s3')
    expect(await surfaceOf(req('GET', '/api/admin/users', host), 's3.example.com')).toBe('s3')
    // The endpoint's own host (not a bucket) keeps the server paths.
    expect(
      await surfaceOf(req('GET', '/health', { host: 's3.example.com:9000' }), 's3.example.com'),
    ).toBe('health')
    expect(
      await surfaceOf(req('GET', '/health', { host: '10.0.0.5:9000' }), 's3.example.com'),
    ).toBe('health')
  })
})

describe('a node that is not current (may have missed revocations)', () => {
  const stale = (): Surfaces & { hit: string[] } => ({ ...surfaces(), isCurrent: () => false })
  it('answers 503 in each surface format and reaches no surface; /health still answers', async () => {
    const s = stale()
    const s3 = await dispatch(req('GET', '/b/k', { authorization: V4 }), ctx, s)
    expect(s3.status).toBe(503)
    expect(String(s3.body)).toContain('<Code>SlowDown</Code>')
    expect(s3.headers?.['retry-after']).toBe('1')
    const sts = await dispatch(
      req('POST', '/', { 'content-type': 'application/x-www-form-urlencoded' }),
      ctx,
      s,
    )
    expect(sts.status).toBe(503)
    expect(String(sts.body)).toContain('<Code>ServiceUnavailable</Code>')
    const admin = await dispatch(req('GET', '/api/admin/users'), ctx, s)
    expect(admin.status).toBe(503)
    expect(JSON.parse(String(admin.body))).toMatchObject({ error: { code: 'ServiceUnavailable' } })
    expect(s.hit).toEqual([])
    expect((await dispatch(req('GET', '/health'), ctx, s)).status).toBe(200)
  })
})

describe('hasS3Authentication', () => {
  it('is false for Bearer tokens, JSON bodies and ordinary queries', () => {
    expect(hasS3Authentication(req('POST', '/x', { authorization: 'Bearer abc' }))).toBe(false)
    expect(hasS3Authentication(req('POST', '/x', { 'content-type': 'application/json' }))).toBe(
      false,
    )
    expect(hasS3Authentication(req('GET', '/x?limit=10&offset=0'))).toBe(false)
    expect(hasS3Authentication(req('GET', '/x', { authorization: 'AWSX' }))).toBe(false)
  })
})

describe('/ready and /metrics', () => {
  const withOps = (over: Partial<Surfaces> = {}): Surfaces & { hit: string[] } => {
    const s = surfaces()
    return {
      ...s,
      readiness: async () => undefined,
      metrics: async () => (s.hit.push('metrics'), { status: 200 }),
      ...over,
    }
  }

  it('/ready: 200 when the stores answer and the feed is current, else 503 with the reason; /health unmoved', async () => {
    const ok = await dispatch(req('GET', '/ready'), ctx, withOps())
    expect([ok.status, JSON.parse(String(ok.body))]).toEqual([200, { status: 'ready' }])
    const down = withOps({ readiness: async () => 'database: connect ECONNREFUSED' })
    const r = await dispatch(req('GET', '/ready'), ctx, down)
    expect([r.status, JSON.parse(String(r.body))]).toEqual([
      503,
      { status: 'not-ready', reason: 'database: connect ECONNREFUSED' },
    ])
    expect((await dispatch(req('GET', '/health'), ctx, down)).status).toBe(200)
    const stale = withOps({ isCurrent: () => false })
    const s = await dispatch(req('HEAD', '/ready'), ctx, stale)
    expect(s.status).toBe(503)
    expect(JSON.parse(String(s.body)).reason).toMatch(/change feed is not current/)
    expect((await dispatch(req('GET', '/health'), ctx, stale)).status).toBe(200)
  })

  it('/metrics: an unsigned GET reaches the metrics handler; signed or other methods are S3', async () => {
    const s = withOps()
    await dispatch(req('GET', '/metrics', { authorization: 'Bearer t' }), ctx, s)
    await dispatch(req('GET', '/metrics', { authorization: V4 }), ctx, s)
    await dispatch(req('PUT', '/metrics'), ctx, s)
    await dispatch(req('GET', '/ready', { authorization: V4 }), ctx, s)
    expect(s.hit).toEqual(['metrics', 's3', 's3', 's3'])
  })

  it('names the surface on the access record', async () => {
    const seen: (string | undefined)[] = []
    for (const r of [
      req('GET', '/ready'),
      req('GET', '/health'),
      req('GET', '/metrics'),
      req('GET', '/api/admin/users'),
      req('GET', '/?Action=GetCallerIdentity'),
      req('GET', '/b/k'),
    ]) {
      const access = newAccessRecord()
      await dispatch(r, { ...ctx, access }, withOps())
      seen.push(access.surface)
    }
    expect(seen).toEqual(['ready', 'health', 'metrics', 'admin', 'sts', 's3'])
  })
})

describe('dispatch: the web console', () => {
  function withConsole(domain?: string): Surfaces & { hit: string[] } {
    const s = surfaces(domain)
    return { ...s, console: async () => (s.hit.push('console'), { status: 200 }) }
  }
  async function where(r: RawRequest, domain?: string): Promise<string> {
    const s = withConsole(domain)
    const res = await dispatch(r, ctx, s)
    if (s.hit.length > 0) return s.hit.join(',')
    return `${res.status} ${String(res.headers?.['location'] ?? '')}`
  }
  const html = { accept: 'text/html,application/xhtml+xml,*/*;q=0.8' }

  it('sends a browser’s unsigned GET / to /console/, and nothing signed or queried', async () => {
    expect(await where(req('GET', '/', html))).toBe('302 /console/')
    // A signed ListBuckets (even with a browser-like Accept), a presigned one, a query: S3.
    expect(await where(req('GET', '/', { ...html, authorization: V4 }))).toBe('s3')
    expect(await where(req('GET', '/?X-Amz-Signature=00&X-Amz-Credential=a', html))).toBe('s3')
    expect(await where(req('GET', '/?list-type=2', html))).toBe('s3')
    // No text/html in Accept (an S3 client's anonymous ListBuckets): S3 answers.
    expect(await where(req('GET', '/', { accept: '*/*' }))).toBe('s3')
    expect(await where(req('GET', '/'))).toBe('s3')
    expect(await where(req('HEAD', '/', html))).toBe('s3')
    // STS forms stay STS.
    expect(await where(req('GET', '/?Action=GetCallerIdentity', html))).toBe('sts')
  })

  it('serves /console/… to unsigned GET/HEAD only; signed or on a bucket host it is S3', async () => {
    expect(await where(req('GET', '/console/'))).toBe('console')
    expect(await where(req('HEAD', '/console/assets/x.js'))).toBe('console')
    expect(await where(req('GET', '/console'))).toBe('console')
    expect(await where(req('PUT', '/console/x'))).toBe('s3')
    expect(await where(req('GET', '/console/x', { authorization: V4 }))).toBe('s3')
    expect(
      await where(req('GET', '/console/', { host: 'b.s3.example.com' }), 's3.example.com'),
    ).toBe('s3')
    expect(await where(req('GET', '/consoleX'))).toBe('s3')
  })
})
