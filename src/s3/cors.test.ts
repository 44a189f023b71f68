import { describe, expect, it } from 'vitest'
import {
  corsResponseHeaders,
  parseCorsConfig,
  parseCorsXml,
  preflight,
  renderCorsXml,
  serializeCorsConfig,
  wildcardMatch,
  type CorsRule,
} from './cors.js'
import { S3Error } from './errors.js'

const rules: CorsRule[] = [
  {
    id: 'app',
    allowedOrigins: ['https://app.example.com'],
    allowedMethods: ['GET', 'PUT', 'POST'],
    allowedHeaders: ['*'],
    exposeHeaders: ['ETag', 'x-amz-request-id'],
    maxAgeSeconds: 600,
  },
  {
    allowedOrigins: ['https://*.example.org'],
    allowedMethods: ['GET'],
    allowedHeaders: ['x-amz-*', 'Content-Type'],
    exposeHeaders: [],
  },
  { allowedOrigins: ['*'], allowedMethods: ['HEAD'], allowedHeaders: [], exposeHeaders: [] },
]

function errorOf(f: () => unknown): S3Error | undefined {
  try {
    f()
  } catch (e) {
    if (e instanceof S3Error) return e
    throw e
  }
  return undefined
}

describe('wildcardMatch', () => {
  it.each([
    ['*', 'anything', true],
    ['https://*.ex.com', 'https://a.ex.com', true],
    ['https://*.ex.com', 'https://ex.com', false],
    ['https://*.ex.com', 'http://a.ex.com', false],
    ['x-amz-*', 'x-amz-date', true],
    ['abc', 'abc', true],
    ['abc', 'abcd', false],
    ['a*a', 'a', false],
    ['a*a', 'aa', true],
  ])('%s ~ %s = %s', (p, v, want) => {
    expect(wildcardMatch(p, v)).toBe(want)
  })
})

describe('preflight matrix', () => {
  const cases: {
    name: string
    headers: Record<string, string>
    status?: number
    code?: string
    origin?: string
  }[] = [
    {
      name: 'exact origin + allowed method',
      headers: { origin: 'https://app.example.com', 'access-control-request-method': 'PUT' },
      status: 200,
      origin: 'https://app.example.com',
    },
    {
      name: 'any header allowed by *',
      headers: {
        origin: 'https://app.example.com',
        'access-control-request-method': 'PUT',
        'access-control-request-headers': 'Content-Type, X-Amz-Date, amz-sdk-invocation-id',
      },
      status: 200,
      origin: 'https://app.example.com',
    },
    {
      name: 'method not in rule',
      headers: { origin: 'https://app.example.com', 'access-control-request-method': 'DELETE' },
      code: 'AccessForbidden',
    },
    {
      name: 'wildcard origin',
      headers: {
        origin: 'https://x.example.org',
        'access-control-request-method': 'GET',
        'access-control-request-headers': 'x-amz-date,content-type',
      },
      status: 200,
      origin: 'https://x.example.org',
    },
    {
      name: 'wildcard origin, header not allowed',
      headers: {
        origin: 'https://x.example.org',
        'access-control-request-method': 'GET',
        'access-control-request-headers': 'authorization',
      },
      code: 'AccessForbidden',
    },
    {
      name: 'origin scheme differs',
      headers: { origin: 'http://app.example.com', 'access-control-request-method': 'GET' },
      code: 'AccessForbidden',
    },
    {
      name: 'star rule',
      headers: { origin: 'https://evil.test', 'access-control-request-method': 'HEAD' },
      status: 200,
      origin: '*',
    },
    {
      name: 'star rule, header requested',
      headers: {
        origin: 'https://evil.test',
        'access-control-request-method': 'HEAD',
        'access-control-request-headers': 'x',
      },
      code: 'AccessForbidden',
    },
    {
      name: 'no origin',
      headers: { 'access-control-request-method': 'GET' },
      code: 'InvalidRequest',
    },
    { name: 'no method', headers: { origin: 'https://app.example.com' }, code: 'InvalidRequest' },
    {
      name: 'bad method',
      headers: { origin: 'https://app.example.com', 'access-control-request-method': 'PATCH' },
      code: 'InvalidRequest',
    },
  ]
  it.each(cases)('$name', (c) => {
    if (c.code !== undefined) {
      expect(errorOf(() => preflight(rules, c.headers))?.code).toBe(c.code)
      return
    }
    const r = preflight(rules, c.headers)
    expect(r.status).toBe(c.status)
    expect(r.headers?.['access-control-allow-origin']).toBe(c.origin)
    expect(r.headers?.['vary']).toContain('Origin')
  })
  it('headers of a full match', () => {
    const r = preflight(rules, {
      origin: 'https://app.example.com',
      'access-control-request-method': 'PUT',
      'access-control-request-headers': 'Content-Type, X-Amz-Date',
    })
    expect(r.headers).toEqual({
      'access-control-allow-origin': 'https://app.example.com',
      'access-control-allow-methods': 'GET, PUT, POST',
      'access-control-allow-credentials': 'true',
      'access-control-allow-headers': 'content-type, x-amz-date',
      'access-control-expose-headers': 'ETag, x-amz-request-id',
      'access-control-max-age': '600',
      vary: 'Origin, Access-Control-Request-Headers, Access-Control-Request-Method',
    })
  })
  it('no configuration → 403 AccessForbidden "CORS is not enabled"', () => {
    const e = errorOf(() =>
      preflight(undefined, { origin: 'https://a', 'access-control-request-method': 'GET' }),
    )
    expect(e?.code).toBe('AccessForbidden')
    expect(e?.status).toBe(403)
    expect(e?.message).toBe('CORSResponse: CORS is not enabled for this bucket.')
  })
  it('first matching rule wins', () => {
    const two: CorsRule[] = [
      { allowedOrigins: ['*'], allowedMethods: ['GET'], allowedHeaders: [], exposeHeaders: ['A'] },
      {
        allowedOrigins: ['https://a'],
        allowedMethods: ['GET'],
        allowedHeaders: [],
        exposeHeaders: ['B'],
      },
    ]
    expect(corsResponseHeaders(two, 'https://a', 'GET')['access-control-expose-headers']).toBe('A')
  })
})

describe('corsResponseHeaders', () => {
  it('adds headers for a matching origin+method, none otherwise', () => {
    const h = corsResponseHeaders(rules, 'https://app.example.com', 'get')
    expect(h['access-control-allow-origin']).toBe('https://app.example.com')
    expect(h['access-control-expose-headers']).toBe('ETag, x-amz-request-id')
    expect(h['access-control-allow-credentials']).toBe('true')
    expect(h['vary']).toContain('Origin')
    expect(corsResponseHeaders(rules, 'https://app.example.com', 'DELETE')).toEqual({})
    expect(corsResponseHeaders(rules, undefined, 'GET')).toEqual({})
    expect(corsResponseHeaders(undefined, 'https://app.example.com', 'GET')).toEqual({})
    const star = corsResponseHeaders(rules, 'https://whoever', 'HEAD')
    expect(star['access-control-allow-origin']).toBe('*')
    expect(star['access-control-allow-credentials']).toBeUndefined()
  })
})

describe('config round trip', () => {
  it('XML → rules → stored → XML', () => {
    const x = `<CORSConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><CORSRule><AllowedOrigin> https://a </AllowedOrigin><AllowedMethod>GET</AllowedMethod><ExposeHeader>ETag</ExposeHeader><MaxAgeSeconds>0</MaxAgeSeconds></CORSRule><CORSRule><ID>b</ID><AllowedOrigin>*</AllowedOrigin><AllowedMethod>PUT</AllowedMethod><AllowedHeader>*</AllowedHeader></CORSRule></CORSConfiguration>`
    const parsed = parseCorsXml(x)
    expect(parsed).toEqual([
      {
        allowedOrigins: ['https://a'],
        allowedMethods: ['GET'],
        allowedHeaders: [],
        exposeHeaders: ['ETag'],
        maxAgeSeconds: 0,
      },
      {
        id: 'b',
        allowedOrigins: ['*'],
        allowedMethods: ['PUT'],
        allowedHeaders: ['*'],
        exposeHeaders: [],
      },
    ])
    const stored = serializeCorsConfig(parsed)
    expect(parseCorsConfig(stored)).toEqual(parsed)
    expect(parseCorsXml(renderCorsXml(parsed))).toEqual(parsed)
    expect(() => parseCorsConfig('{"x":1}')).toThrow()
  })
})
