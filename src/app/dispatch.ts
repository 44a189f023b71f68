/**
 * Picks the surface for a request: /health, /ready, /metrics, the admin API under /api/admin, the
 * web console's pages under /console/ (and a browser's unsigned `GET /`, Accept text/html, is
 * redirected there), STS (a form POST to `/` or `?Action=` on `/`), otherwise S3. Every answer
 * gets x-amz-request-id.
 *
 * Why routing looks at more than the path: the server's own paths are also valid S3 paths
 * (`/health` is bucket `health`, `/api/admin/users` is object `admin/users` in bucket `api`), and
 * an S3 client must never get JSON from the wrong surface. So a request carrying S3
 * authentication (a SigV4/SigV2 Authorization header, a presigned query, a browser POST upload
 * form) always goes to S3, and so does any request addressed to a virtual-hosted bucket; the
 * health and readiness checks answer only unsigned GET/HEAD, `/metrics` only an unsigned GET (404
 * unless a metrics token is configured, app/metrics.ts), the admin API only requests without AWS
 * authentication (it uses Bearer tokens). What stays ambiguous is an unsigned, anonymous S3
 * request on those paths (a public bucket named `health`): CreateBucket reserves those names
 * (s3/bucket-name.ts), so such a bucket cannot be created.
 * @module
 */
import { parseQuery, type RawRequest, type RequestContext } from '../http/raw-request.js'
import { jsonResponse, type HttpResponse } from '../http/http-response.js'
import type { RequestRouter } from '../http/listener.js'
import { readBounded } from '../http/read-bounded.js'
import { isBrowserRoot, isConsolePath } from '../console-server/serve.js'
import { S3Error, renderS3Error } from '../s3/errors.js'
import { StsError, renderStsErrorXml } from '../sts/errors.js'

export type SurfaceHandler = (raw: RawRequest, ctx: RequestContext) => Promise<HttpResponse>
export type StsSurfaceHandler = (
  raw: RawRequest,
  ctx: RequestContext,
  body: Buffer,
) => Promise<HttpResponse>

export interface Surfaces {
  readonly s3: SurfaceHandler
  readonly sts: StsSurfaceHandler
  readonly admin: SurfaceHandler
  readonly isReady: () => boolean
  /**
   * False while this node may have missed identity or bucket changes (ChangeFeed.current): every
   * request but /health then gets 503 in its surface's format, so a node cut off from the
   * database never authorizes from a cache that may still hold a revoked key.
   */
  readonly isCurrent: () => boolean
  /**
   * `/ready`: undefined when the database and the blob store answer and the change feed is
   * current, else why not (a load balancer's probe: 503 with the reason).
   */
  readonly readiness?: () => Promise<string | undefined>
  /**
   * `/metrics` on the main port: the handler checks the Bearer token (and answers 404 when no
   * metrics token is configured).
   */
  readonly metrics?: SurfaceHandler
  /**
   * True when the Host header names a virtual-hosted bucket (`bucket.<domain>`, the rule of
   * s3/addressing.ts, wired by the app): every path on such a host is an object key.
   */
  readonly isBucketHost?: (host: string) => boolean
  /**
   * The web console's pages under /console/ (console-server/serve.ts): unsigned GET/HEAD only.
   * Absent: those paths stay S3's (tests that build no surface for them).
   */
  readonly console?: SurfaceHandler
}

export const HEALTH_PATH = '/health'
export const READY_PATH = '/ready'
export const METRICS_PATH = '/metrics'
/** Where the admin surface is mounted (admin/handler.ts routes below it). */
const ADMIN_PREFIX = '/api/admin'

/**
 * Whether the request carries S3 authentication, detected the way the S3 surface detects it
 * (auth/authenticate.ts, auth/sigv2/parse.ts), so every attempt — even a malformed one — gets
 * S3's own answer: an `AWS4-…` or `AWS ` Authorization header, a SigV4 or SigV2 presigned
 * query, or a POST upload form (multipart/form-data, which no other surface accepts).
 */
export function hasS3Authentication(raw: RawRequest): boolean {
  const auth = raw.headers['authorization']
  if (auth !== undefined && /^AWS(4-| )/.test(auth.trimStart())) return true
  if (raw.rawQuery !== '') {
    const q = parseQuery(raw.rawQuery)
    for (const name of [
      'X-Amz-Signature',
      'X-Amz-Credential',
      'X-Amz-Algorithm',
      'AWSAccessKeyId',
      'Signature',
    ]) {
      if (q.has(name)) return true
    }
  }
  return (
    raw.method === 'POST' &&
    (raw.headers['content-type'] ?? '').trimStart().toLowerCase().startsWith('multipart/form-data')
  )
}

/**
 * An unsigned GET/HEAD for the console's pages, or a browser's unsigned GET `/` (Accept:
 * text/html, no query): the console's. Everything signed, queried or on a bucket host stays S3's.
 */
function isConsoleRequest(raw: RawRequest, s: Surfaces): boolean {
  const path = raw.rawPath
  const method = raw.method
  if (path === '/') {
    if (!isBrowserRoot(raw)) return false
  } else if (!isConsolePath(path) || (method !== 'GET' && method !== 'HEAD')) return false
  return !hasS3Authentication(raw) && !onBucketHost(raw, s)
}

function isServerPath(raw: RawRequest): boolean {
  return (
    raw.rawPath === HEALTH_PATH ||
    raw.rawPath === READY_PATH ||
    raw.rawPath === METRICS_PATH ||
    raw.rawPath === ADMIN_PREFIX ||
    raw.rawPath.startsWith(ADMIN_PREFIX + '/')
  )
}

/** STS bodies are small forms; AWS caps query API bodies well below this. */
export const STS_MAX_BODY = 64 * 1024

export function isStsRequest(raw: RawRequest): boolean {
  if (raw.rawPath !== '/') return false
  if (/(^|&)Action=/.test(raw.rawQuery)) return raw.method === 'GET' || raw.method === 'POST'
  if (raw.method !== 'POST') return false
  const ct = raw.headers['content-type'] ?? ''
  return ct.toLowerCase().startsWith('application/x-www-form-urlencoded')
}

/**
 * The surface a request is for, and its answer. Not an async function: most answers are the
 * surface's own promise, handed on as it is (an async wrapper would cost each request a promise
 * and its ticks).
 */
export function dispatch(
  raw: RawRequest,
  ctx: RequestContext,
  s: Surfaces,
): HttpResponse | Promise<HttpResponse> {
  const access = ctx.access
  // The console: its pages, and a browser opening `/` (never a signed or queried S3 request).
  if (s.console !== undefined && isConsoleRequest(raw, s)) {
    if (access !== undefined) access.surface = 'console'
    raw.body.resume()
    if (raw.rawPath === '/')
      return { status: 302, headers: { location: '/console/', 'cache-control': 'no-store' } }
    return s.console(raw, ctx)
  }
  // Only requests on the server's own paths pay for the checks below.
  if (isServerPath(raw) && !hasS3Authentication(raw) && !onBucketHost(raw, s)) {
    const path = raw.rawPath
    if (path === METRICS_PATH && s.metrics !== undefined && raw.method === 'GET') {
      if (access !== undefined) access.surface = 'metrics'
      raw.body.resume()
      return s.metrics(raw, ctx)
    }
    if (path === HEALTH_PATH || path === READY_PATH) {
      if (raw.method === 'GET' || raw.method === 'HEAD') {
        raw.body.resume()
        if (access !== undefined) access.surface = path.slice(1)
        if (!s.isReady()) return jsonResponse(503, { status: 'starting' })
        if (path === HEALTH_PATH) return jsonResponse(200, { status: 'ok' })
        const ready = (why: string | undefined): HttpResponse =>
          why === undefined
            ? jsonResponse(200, { status: 'ready' })
            : jsonResponse(503, { status: 'not-ready', reason: why })
        if (!s.isCurrent())
          return ready('the change feed is not current (the database connection was interrupted)')
        return s.readiness === undefined ? ready(undefined) : s.readiness().then(ready)
      }
    } else if (path === ADMIN_PREFIX || path.startsWith(ADMIN_PREFIX + '/')) {
      if (access !== undefined) access.surface = 'admin'
      return s.isCurrent() ? s.admin(raw, ctx) : stale(raw, ctx)
    }
  }
  if (!s.isCurrent()) {
    if (access !== undefined) access.surface = isStsRequest(raw) ? 'sts' : 's3'
    return stale(raw, ctx)
  }
  if (isStsRequest(raw)) {
    if (access !== undefined) access.surface = 'sts'
    return readBounded(raw.body, STS_MAX_BODY, {
      declaredLength: raw.headers['content-length'],
    }).then((body) => {
      if (!body.ok)
        return {
          status: 413,
          headers: { 'content-type': 'text/xml' },
          body: renderStsErrorXml(
            new StsError(
              'ValidationError',
              `Request body exceeds the limit of ${STS_MAX_BODY} bytes`,
            ),
            ctx.requestId,
          ),
        }
      return s.sts(raw, ctx, body.bytes)
    })
  }
  if (access !== undefined) access.surface = 's3'
  return s.s3(raw, ctx)
}

/**
 * The listener's last-resort answer when a handler threw past its own error rendering: a 500 in
 * the format of the surface the request was for (admin JSON, STS <ErrorResponse>, S3 <Error>).
 */
export function internalErrorAnswer(
  raw: RawRequest | undefined,
  requestId: string,
): { readonly type: string; readonly body: string } {
  if (raw === undefined)
    return {
      type: 'application/xml',
      body: renderS3Error(new S3Error('InternalError'), '/', requestId),
    }
  if (raw.rawPath === ADMIN_PREFIX || raw.rawPath.startsWith(`${ADMIN_PREFIX}/`))
    return {
      type: 'application/json',
      // admin/errors.ts's InternalError row, spelled here: dispatch does not import the admin surface.
      body: JSON.stringify({ error: { code: 'InternalError', message: 'Internal error' } }),
    }
  if (isStsRequest(raw))
    return { type: 'text/xml', body: renderStsErrorXml(new StsError('InternalFailure'), requestId) }
  return {
    type: 'application/xml',
    body: renderS3Error(new S3Error('InternalError'), raw.rawPath, requestId),
  }
}

const STALE_MESSAGE =
  'This node is catching up with the cluster (its database connection was interrupted). Please retry.'

/** 503 in the request's surface format while this node is not current (see Surfaces.isCurrent). */
function stale(raw: RawRequest, ctx: RequestContext): HttpResponse {
  // Whatever body is on its way is not wanted; closing beats reading a large upload to the end.
  const headers = { 'retry-after': '1', connection: 'close' }
  if (raw.rawPath === ADMIN_PREFIX || raw.rawPath.startsWith(`${ADMIN_PREFIX}/`))
    return jsonResponse(
      503,
      { error: { code: 'ServiceUnavailable', message: STALE_MESSAGE } },
      headers,
    )
  if (isStsRequest(raw))
    return {
      status: 503,
      headers: Object.assign({}, headers, { 'content-type': 'text/xml' }),
      body: renderStsErrorXml(new StsError('ServiceUnavailable', STALE_MESSAGE), ctx.requestId),
    }
  return {
    status: 503,
    headers: Object.assign({}, headers, { 'content-type': 'application/xml' }),
    body: renderS3Error(new S3Error('SlowDown', STALE_MESSAGE), raw.rawPath, ctx.requestId),
  }
}

function onBucketHost(raw: RawRequest, s: Surfaces): boolean {
  const host = raw.headers['host']
  return s.isBucketHost !== undefined && host !== undefined && s.isBucketHost(host)
}

const IDLE_MESSAGE =
  'Your socket connection to the server was not read from or written to within the timeout period. Idle connections will be closed.'

/** 400 RequestTimeout (the client went idle) in the format of the surface it was talking to. */
export function requestTimeoutAnswer(
  raw: RawRequest,
  requestId: string,
): { readonly type: string; readonly body: string } {
  if (raw.rawPath === ADMIN_PREFIX || raw.rawPath.startsWith(`${ADMIN_PREFIX}/`))
    return {
      type: 'application/json',
      body: JSON.stringify({ error: { code: 'RequestTimeout', message: IDLE_MESSAGE } }),
    }
  if (isStsRequest(raw))
    return {
      type: 'text/xml',
      body:
        '<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><Error><Type>Sender</Type>' +
        `<Code>RequestTimeout</Code><Message>${IDLE_MESSAGE}</Message></Error><RequestId>${requestId}</RequestId></ErrorResponse>`,
    }
  return {
    type: 'application/xml',
    body: `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>RequestTimeout</Code><Message>${IDLE_MESSAGE}</Message><RequestId>${requestId}</RequestId></Error>`,
  }
}

/** The router the listener is given: every request through `dispatch`. */
export function createRouter(s: Surfaces): RequestRouter {
  return {
    handle: (raw, ctx) => dispatch(raw, ctx, s),
    failure: (raw, requestId, kind) =>
      kind === 'internal'
        ? internalErrorAnswer(raw, requestId)
        : requestTimeoutAnswer(raw, requestId),
  }
}
