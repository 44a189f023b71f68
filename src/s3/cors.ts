/**
 * Bucket CORS: the rule model, PutBucketCors validation, the stored form (canonical JSON), the
 * XML GetBucketCors returns, and the two matchers the pipeline calls: `preflight` for OPTIONS and
 * `corsResponseHeaders` for actual requests. First matching rule wins, as in AWS
 * (docs.aws.amazon.com/AmazonS3/latest/userguide/cors.html). Matching is pure.
 * @module
 */
import { S3Error } from './errors.js'
import type { S3Response } from './operation.js'
import { child, doc, el, list, parseXml, text, wrap, type XmlNode, type XmlValue } from './xml.js'

export const CORS_METHODS = ['GET', 'PUT', 'POST', 'DELETE', 'HEAD'] as const
export type CorsMethod = (typeof CORS_METHODS)[number]

export interface CorsRule {
  readonly id?: string
  readonly allowedOrigins: readonly string[]
  readonly allowedMethods: readonly CorsMethod[]
  /** Compared case-insensitively; stored as sent. */
  readonly allowedHeaders: readonly string[]
  readonly exposeHeaders: readonly string[]
  readonly maxAgeSeconds?: number
}

export const MAX_CORS_RULES = 100
export const MAX_CORS_BYTES = 64 * 1024

const RULE_FIELDS = new Set([
  'ID',
  'AllowedOrigin',
  'AllowedMethod',
  'AllowedHeader',
  'ExposeHeader',
  'MaxAgeSeconds',
])

function isMethod(s: string): s is CorsMethod {
  return (CORS_METHODS as readonly string[]).includes(s)
}

function texts(node: XmlValue | undefined): string[] {
  return list(node).map((v) => {
    const t = text(v)
    if (t === undefined) throw new S3Error('MalformedXML')
    return t.trim()
  })
}

function countStars(s: string): number {
  return s.split('*').length - 1
}

function parseRule(node: XmlValue): CorsRule {
  if (typeof node !== 'object' || Array.isArray(node)) throw new S3Error('MalformedXML')
  const n = node as XmlNode
  for (const k of Object.keys(n)) if (!RULE_FIELDS.has(k)) throw new S3Error('MalformedXML')
  const ids = texts(n['ID'])
  if (ids.length > 1) throw new S3Error('MalformedXML')
  const id = ids[0]
  if (id !== undefined && id.length > 255)
    throw new S3Error(
      'InvalidRequest',
      'The ID of a CORS rule can not be longer than 255 characters.',
    )
  const origins = texts(n['AllowedOrigin'])
  const methods = texts(n['AllowedMethod'])
  if (origins.length === 0 || methods.length === 0) throw new S3Error('MalformedXML')
  for (const m of methods)
    if (!isMethod(m))
      throw new S3Error(
        'InvalidRequest',
        `Found unsupported HTTP method in CORS config. Unsupported method is ${m}`,
      )
  for (const o of origins)
    if (countStars(o) > 1)
      throw new S3Error(
        'InvalidRequest',
        `AllowedOrigin "${o}" can not have more than one wildcard.`,
      )
  const headers = texts(n['AllowedHeader'])
  for (const h of headers)
    if (countStars(h) > 1)
      throw new S3Error(
        'InvalidRequest',
        `AllowedHeader "${h}" can not have more than one wildcard.`,
      )
  const expose = texts(n['ExposeHeader'])
  const maxAges = texts(n['MaxAgeSeconds'])
  if (maxAges.length > 1) throw new S3Error('MalformedXML')
  let maxAgeSeconds: number | undefined
  if (maxAges[0] !== undefined) {
    if (!/^\d{1,10}$/.test(maxAges[0]) || Number(maxAges[0]) > 2147483647)
      throw new S3Error('MalformedXML')
    maxAgeSeconds = Number(maxAges[0])
  }
  return Object.assign(id !== undefined ? { id } : {}, {
    allowedOrigins: origins,
    allowedMethods: methods as CorsMethod[],
    allowedHeaders: headers,
    exposeHeaders: expose,
    ...(maxAgeSeconds !== undefined ? { maxAgeSeconds } : {}),
  })
}

/** Parse and validate a PutBucketCors body. Throws MalformedXML / InvalidRequest. */
export function parseCorsXml(xml: string): CorsRule[] {
  const root = parseXml(xml)
  const config = root['CORSConfiguration']
  if (config === undefined || typeof config !== 'object' || Array.isArray(config))
    throw new S3Error('MalformedXML')
  for (const k of Object.keys(config)) if (k !== 'CORSRule') throw new S3Error('MalformedXML')
  const rules = list(child(config, 'CORSRule')).map(parseRule)
  if (rules.length === 0) throw new S3Error('MalformedXML')
  if (rules.length > MAX_CORS_RULES)
    throw new S3Error(
      'InvalidRequest',
      `The number of CORS rules should not exceed allowed limit of ${MAX_CORS_RULES} rules.`,
    )
  return rules
}

/** Canonical stored form. */
export function serializeCorsConfig(rules: readonly CorsRule[]): string {
  return JSON.stringify(rules)
}

function strArray(v: unknown): string[] {
  if (!Array.isArray(v) || !v.every((x) => typeof x === 'string'))
    throw new Error('bad stored CORS config')
  return v as string[]
}

/** Parse what serializeCorsConfig stored (throws on corruption; the caller logs it). */
export function parseCorsConfig(stored: string): CorsRule[] {
  const raw: unknown = JSON.parse(stored)
  if (!Array.isArray(raw)) throw new Error('bad stored CORS config')
  return (raw as unknown[]).map((r) => {
    if (r === null || typeof r !== 'object') throw new Error('bad stored CORS config')
    const o = r as Record<string, unknown>
    const methods = strArray(o['allowedMethods'])
    if (!methods.every(isMethod)) throw new Error('bad stored CORS config')
    const id = o['id']
    const maxAge = o['maxAgeSeconds']
    return Object.assign(typeof id === 'string' ? { id } : {}, {
      allowedOrigins: strArray(o['allowedOrigins']),
      allowedMethods: methods,
      allowedHeaders: strArray(o['allowedHeaders']),
      exposeHeaders: strArray(o['exposeHeaders']),
      ...(typeof maxAge === 'number' ? { maxAgeSeconds: maxAge } : {}),
    })
  })
}

/** GetBucketCors's document. */
export function renderCorsXml(rules: readonly CorsRule[]): string {
  const body = rules
    .map((r) =>
      wrap(
        'CORSRule',
        el('ID', r.id) +
          r.allowedHeaders.map((h) => el('AllowedHeader', h)).join('') +
          r.allowedMethods.map((m) => el('AllowedMethod', m)).join('') +
          r.allowedOrigins.map((o) => el('AllowedOrigin', o)).join('') +
          r.exposeHeaders.map((h) => el('ExposeHeader', h)).join('') +
          el('MaxAgeSeconds', r.maxAgeSeconds),
      ),
    )
    .join('')
  return doc('CORSConfiguration', body)
}

/** Match `value` against a pattern with at most one '*' (validated on PUT). */
export function wildcardMatch(pattern: string, value: string): boolean {
  const star = pattern.indexOf('*')
  if (star < 0) return pattern === value
  const head = pattern.slice(0, star)
  const tail = pattern.slice(star + 1)
  return value.length >= head.length + tail.length && value.startsWith(head) && value.endsWith(tail)
}

function originMatches(rule: CorsRule, origin: string): boolean {
  return rule.allowedOrigins.some((p) => wildcardMatch(p, origin))
}

function headerAllowed(rule: CorsRule, header: string): boolean {
  const h = header.toLowerCase()
  return rule.allowedHeaders.some((p) => wildcardMatch(p.toLowerCase(), h))
}

/** Comma list of request headers, trimmed and lower-cased, empties dropped. */
export function splitHeaderList(v: string | undefined): string[] {
  if (v === undefined) return []
  return v
    .split(',')
    .map((s) => s.trim().toLowerCase())
    .filter((s) => s !== '')
}

function allowOrigin(rule: CorsRule, origin: string): string {
  return rule.allowedOrigins.includes('*') ? '*' : origin
}

function ruleHeaders(rule: CorsRule, origin: string): Record<string, string> {
  const out: Record<string, string> = {
    'access-control-allow-origin': allowOrigin(rule, origin),
    'access-control-allow-methods': rule.allowedMethods.join(', '),
  }
  if (out['access-control-allow-origin'] !== '*') out['access-control-allow-credentials'] = 'true'
  if (rule.exposeHeaders.length > 0)
    out['access-control-expose-headers'] = rule.exposeHeaders.join(', ')
  if (rule.maxAgeSeconds !== undefined) out['access-control-max-age'] = String(rule.maxAgeSeconds)
  return out
}

/**
 * Answer an OPTIONS preflight. Returns the 200 response on a match; throws S3Error otherwise:
 * no Origin or no Access-Control-Request-Method → 400 InvalidRequest ("Insufficient
 * information…", AWS says BadRequest, a code outside our table); no CORS config → 403
 * AccessForbidden "CORS is not enabled for this bucket."; no rule matches → 403 AccessForbidden.
 */
export function preflight(
  rules: readonly CorsRule[] | undefined,
  headers: Readonly<Record<string, string | undefined>>,
): S3Response {
  const origin = headers['origin']
  if (origin === undefined || origin === '')
    throw new S3Error('InvalidRequest', 'Insufficient information. Origin request header needed.')
  const method = headers['access-control-request-method']
  if (method === undefined || method === '')
    throw new S3Error('InvalidRequest', 'Invalid Access-Control-Request-Method: null')
  if (!isMethod(method))
    throw new S3Error('InvalidRequest', `Invalid Access-Control-Request-Method: ${method}`)
  if (rules === undefined || rules.length === 0)
    throw new S3Error('AccessForbidden', 'CORSResponse: CORS is not enabled for this bucket.', {
      Method: method,
      ResourceType: 'BUCKET',
    })
  const requested = splitHeaderList(headers['access-control-request-headers'])
  const rule = rules.find(
    (r) =>
      originMatches(r, origin) &&
      r.allowedMethods.includes(method) &&
      requested.every((h) => headerAllowed(r, h)),
  )
  if (rule === undefined)
    throw new S3Error(
      'AccessForbidden',
      "CORSResponse: This CORS request is not allowed. This is usually because the evalution of Origin, request method / Access-Control-Request-Method or Access-Control-Request-Headers are not whitelisted by the resource's CORS spec.",
      {
        Method: method,
        ResourceType: 'OBJECT',
      },
    )
  const out = ruleHeaders(rule, origin)
  if (requested.length > 0) out['access-control-allow-headers'] = requested.join(', ')
  out['vary'] = 'Origin, Access-Control-Request-Headers, Access-Control-Request-Method'
  return { status: 200, headers: out }
}

/**
 * CORS headers for an actual (non-preflight) request: empty when there is no Origin, no config
 * or no rule allowing this origin and method. The first matching rule wins.
 */
export function corsResponseHeaders(
  rules: readonly CorsRule[] | undefined,
  origin: string | undefined,
  method: string,
): Record<string, string> {
  if (origin === undefined || origin === '' || rules === undefined) return {}
  const m = method.toUpperCase()
  const rule = rules.find(
    (r) => originMatches(r, origin) && (r.allowedMethods as readonly string[]).includes(m),
  )
  if (rule === undefined) return {}
  return Object.assign(ruleHeaders(rule, origin), {
    vary: 'Origin, Access-Control-Request-Headers, Access-Control-Request-Method',
  })
}
