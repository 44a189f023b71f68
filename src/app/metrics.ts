/**
 * Prometheus metrics (prom-client, text format 0.0.4), one registry per running app so two apps in
 * one process (tests) never share counters. Most series are derived from the listener's finished
 * requests (http/access-log.ts AccessEntry), so the surfaces only say what they did once, for the
 * access log and the metrics alike: requests, latency and bytes by surface and operation, STS
 * issuances and throttles, authentication failures by reason, login lockouts. The backends report
 * commit and fsync durations through the StorageTimings port; active sessions are counted at most
 * every 15 s, when scraped; process metrics and event-loop lag are prom-client's defaults.
 *
 * Why labels are closed sets: operation is S3's operation name, an STS action or an admin route
 * pattern (never a path or id), status a number, reason an error code — a client cannot make the
 * series grow without bound.
 * @module
 */
import { createHash, timingSafeEqual } from 'node:crypto'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client'
import type { Metric } from 'prom-client'
import type { AccessEntry } from '../http/access-log.js'
import type { HttpResponse } from '../http/http-response.js'
import type { RawRequest } from '../http/raw-request.js'
import type { StorageTimings } from '../storage/timings.js'

/** STS actions that mint credentials (a 200 is one issuance). */
const ISSUING = new Set(['AssumeRole', 'GetSessionToken', 'RSLogin', 'RSAssumeCustomerRole'])

/** Error codes that mean the caller could not be authenticated or was refused. */
const AUTH_FAILURES = new Set([
  // S3 and STS
  'AccessDenied',
  'InvalidAccessKeyId',
  'InvalidClientTokenId',
  'SignatureDoesNotMatch',
  'IncompleteSignature',
  'ExpiredToken',
  'InvalidToken',
  'MissingAuthenticationToken',
  'MissingSecurityHeader',
  'RequestTimeTooSkewed',
  'AuthorizationHeaderMalformed',
  'AuthorizationQueryParametersError',
  'InvalidSecurity',
  'RequestExpired',
  // admin
  'Unauthorized',
  'Forbidden',
])

const LATENCY_BUCKETS = [
  0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10,
]
const STORAGE_BUCKETS = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.1, 0.5, 2]

export class Metrics {
  readonly registry = new Registry()
  private readonly perRequest = new RequestSeries()
  private readonly issued: Counter<'action'>
  private readonly throttled: Counter<'action'>
  private readonly authFailures: Counter<'surface' | 'reason'>
  private readonly lockouts: Counter<'surface'>
  private readonly commit: Histogram<'backend'>
  private readonly fsync: Histogram<'backend'>

  constructor(opts: { readonly activeSessions?: () => Promise<number> } = {}) {
    const registers = [this.registry]
    for (const m of this.perRequest.metrics()) this.registry.registerMetric(m as never)
    this.issued = new Counter({
      name: 'latchkey_sts_credentials_issued_total',
      help: 'Temporary credentials issued, by STS action',
      labelNames: ['action'],
      registers,
    })
    this.throttled = new Counter({
      name: 'latchkey_sts_throttled_total',
      help: 'STS requests refused with Throttling (session quota, login throttle), by action',
      labelNames: ['action'],
      registers,
    })
    this.authFailures = new Counter({
      name: 'latchkey_auth_failures_total',
      help: 'Requests refused for authentication or authorization, by surface and error code',
      labelNames: ['surface', 'reason'],
      registers,
    })
    this.lockouts = new Counter({
      name: 'latchkey_login_lockouts_total',
      help: 'Logins refused because of too many failed attempts (admin login, RSLogin)',
      labelNames: ['surface'],
      registers,
    })
    this.commit = new Histogram({
      name: 'latchkey_storage_commit_seconds',
      help: 'Database commit time: a SQLite group-commit batch, a PostgreSQL transaction',
      labelNames: ['backend'],
      buckets: STORAGE_BUCKETS,
      registers,
    })
    this.fsync = new Histogram({
      name: 'latchkey_storage_fsync_seconds',
      help: 'fsync time of the SQLite WAL and checkpoints (async durability)',
      labelNames: ['backend'],
      buckets: STORAGE_BUCKETS,
      registers,
    })
    const count = opts.activeSessions
    if (count !== undefined) {
      let value = 0
      let at = -Infinity
      new Gauge({
        name: 'latchkey_active_sessions',
        help: 'STS sessions held: issued and not yet swept (read at most every 15 s)',
        registers,
        async collect() {
          if (performance.now() - at >= 15_000) {
            at = performance.now()
            value = await count().catch(() => value)
          }
          this.set(value)
        },
      })
    }
    collectDefaultMetrics({ register: this.registry })
  }

  /** One finished request (the listener's onRequestDone). */
  observe(e: AccessEntry): void {
    const surface = e.surface
    const operation = e.operation ?? 'unknown'
    this.perRequest.observe(
      surface,
      operation,
      e.status,
      e.durationMs / 1000,
      e.bytesIn,
      e.bytesOut,
    )
    const code = e.errorCode
    if (surface === 'sts' && ISSUING.has(operation)) {
      if (e.status === 200) this.issued.inc({ action: operation })
      else if (code === 'Throttling') this.throttled.inc({ action: operation })
    }
    if (code === undefined) return
    if (AUTH_FAILURES.has(code)) this.authFailures.inc({ surface, reason: code })
    if (
      (surface === 'admin' && operation === 'POST /login' && code === 'TooManyRequests') ||
      (surface === 'sts' && operation === 'RSLogin' && code === 'Throttling')
    )
      this.lockouts.inc({ surface })
  }

  /** The port the backends report to, for one backend label ('sqlite', 'postgres'). */
  storageTimings(backend: string): StorageTimings {
    const commit = this.commit.labels({ backend })
    const fsync = this.fsync.labels({ backend })
    return {
      commit: (s) => commit.observe(s),
      fsync: (s) => fsync.observe(s),
    }
  }

  /** The exposition document (text format 0.0.4). */
  async scrape(): Promise<HttpResponse> {
    return {
      status: 200,
      headers: { 'content-type': this.registry.contentType },
      body: await this.registry.metrics(),
    }
  }
}

/**
 * `/metrics` on the main port: only with `Authorization: Bearer <token>`. 404 when no token is
 * configured (nothing there, whatever the request carries), 401 without the header, 403 with a
 * wrong token; compared in constant time (both sides hashed first, so neither the content nor the
 * length of the token leaks through timing).
 */
export function bearerGuard(
  token: string | undefined,
  metrics: Metrics,
): (raw: RawRequest) => Promise<HttpResponse> {
  if (token === undefined)
    return () =>
      Promise.resolve({
        status: 404,
        headers: { 'content-type': 'text/plain' },
        body: 'metrics: not enabled on this port (set LATCHKEY_METRICS_TOKEN or --metrics-address)\n',
      })
  const want = createHash('sha256').update(token).digest()
  return async (raw) => {
    const m = /^Bearer +(\S+) *$/i.exec(raw.headers['authorization'] ?? '')
    if (m === null)
      return {
        status: 401,
        headers: { 'content-type': 'text/plain', 'www-authenticate': 'Bearer realm="metrics"' },
        body: 'metrics: Authorization: Bearer <LATCHKEY_METRICS_TOKEN> required\n',
      }
    const got = createHash('sha256')
      .update(m[1] ?? '')
      .digest()
    if (!timingSafeEqual(got, want))
      return {
        status: 403,
        headers: { 'content-type': 'text/plain' },
        body: 'metrics: wrong token\n',
      }
    return metrics.scrape()
  }
}

/**
 * `--metrics-address`: a plain HTTP listener that answers GET /metrics and nothing else (404),
 * without a token — it is meant for an address only the scraper reaches (loopback, a private
 * network).
 */
export async function listenMetrics(
  host: string,
  port: number,
  metrics: Metrics,
): Promise<{ readonly url: string; close(): Promise<void> }> {
  const server = createServer((req, res) => {
    req.resume()
    const path = (req.url ?? '/').split('?')[0]
    if (path !== '/metrics' || (req.method !== 'GET' && req.method !== 'HEAD')) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n')
      return
    }
    metrics.registry.metrics().then(
      (text) => {
        res.writeHead(200, { 'content-type': metrics.registry.contentType })
        res.end(req.method === 'HEAD' ? undefined : text)
      },
      () => res.writeHead(500, { 'content-type': 'text/plain' }).end('metrics failed\n'),
    )
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(port, host, () => {
      server.off('error', reject)
      resolve()
    })
  })
  const addr = server.address() as AddressInfo
  const h = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address
  return {
    url: `http://${h === '0.0.0.0' ? '127.0.0.1' : h}:${addr.port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve())
        server.closeAllConnections()
      }),
  }
}

/** One (surface, operation): its latency histogram and its count per status. */
interface OperationSeries {
  readonly buckets: Float64Array
  sum: number
  count: number
  readonly byStatus: Map<number, number>
}

/** One surface: its operations and its body bytes. */
interface SurfaceSeries {
  readonly operations: Map<string, OperationSeries>
  bytesIn: number
  bytesOut: number
}

/**
 * The per-request series (requests, latency, bytes), kept in plain numbers and rendered at scrape
 * time. Why not prom-client's Counter and Histogram here: they build a label object and a hash
 * string on every call, and on the 4 KiB GET path that garbage cost about 6 µs of GC per request
 * (a CPU profile of the benchmark). Here a request costs three Map lookups and no allocation once
 * its labels have been seen. The registry gets them as metric objects of prom-client's own shape
 * (name, help, type, get()), so the exposition is still the library's.
 */
class RequestSeries {
  private readonly surfaces = new Map<string, SurfaceSeries>()

  observe(
    surface: string,
    operation: string,
    status: number,
    seconds: number,
    bytesIn: number,
    bytesOut: number,
  ): void {
    let s = this.surfaces.get(surface)
    if (s === undefined) {
      s = { operations: new Map(), bytesIn: 0, bytesOut: 0 }
      this.surfaces.set(surface, s)
    }
    s.bytesIn += bytesIn
    s.bytesOut += bytesOut
    let o = s.operations.get(operation)
    if (o === undefined) {
      o = {
        buckets: new Float64Array(LATENCY_BUCKETS.length),
        sum: 0,
        count: 0,
        byStatus: new Map(),
      }
      s.operations.set(operation, o)
    }
    o.byStatus.set(status, (o.byStatus.get(status) ?? 0) + 1)
    o.count++
    o.sum += seconds
    for (let i = 0; i < LATENCY_BUCKETS.length; i++)
      if (seconds <= (LATENCY_BUCKETS[i] as number)) {
        o.buckets[i] = (o.buckets[i] as number) + 1
        break
      }
  }

  /** The four metric objects, for Registry.registerMetric. */
  metrics(): ReturnType<typeof metricObject>[] {
    type Value = { metricName?: string; labels: Record<string, string | number>; value: number }
    const perSurface = (pick: (s: SurfaceSeries) => number): Value[] =>
      [...this.surfaces].map(([surface, s]) => ({ labels: { surface }, value: pick(s) }))
    return [
      metricObject(
        'latchkey_requests_total',
        'Requests answered, by surface, operation and HTTP status',
        'counter',
        () => {
          const out: Value[] = []
          for (const [surface, s] of this.surfaces)
            for (const [operation, o] of s.operations)
              for (const [status, n] of o.byStatus)
                out.push({ labels: { surface, operation, status }, value: n })
          return out
        },
      ),
      metricObject(
        'latchkey_request_duration_seconds',
        'Time from a request arriving to its response written, by surface and operation',
        'histogram',
        () => {
          const out: Value[] = []
          const name = 'latchkey_request_duration_seconds'
          for (const [surface, s] of this.surfaces)
            for (const [operation, o] of s.operations) {
              let cumulative = 0
              LATENCY_BUCKETS.forEach((le, i) => {
                cumulative += o.buckets[i] as number
                out.push({
                  metricName: `${name}_bucket`,
                  labels: { le, surface, operation },
                  value: cumulative,
                })
              })
              out.push({
                metricName: `${name}_bucket`,
                labels: { le: '+Inf', surface, operation },
                value: o.count,
              })
              out.push({ metricName: `${name}_sum`, labels: { surface, operation }, value: o.sum })
              out.push({
                metricName: `${name}_count`,
                labels: { surface, operation },
                value: o.count,
              })
            }
          return out
        },
      ),
      metricObject(
        'latchkey_request_body_bytes_total',
        'Request body bytes read, by surface',
        'counter',
        () => perSurface((s) => s.bytesIn),
      ),
      metricObject(
        'latchkey_response_body_bytes_total',
        'Response body bytes written, by surface',
        'counter',
        () => perSurface((s) => s.bytesOut),
      ),
    ]
  }
}

/** A metric in the shape prom-client's Registry renders (what its own metrics' get() returns). */
function metricObject(
  name: string,
  help: string,
  type: 'counter' | 'histogram',
  values: () => Awaited<ReturnType<Metric['get']>>['values'],
): { name: string; help: string; type: string; aggregator: string; get(): unknown; reset(): void } {
  return {
    name,
    help,
    type,
    aggregator: 'sum',
    get: () => ({ name, help, type, aggregator: 'sum', values: values() }),
    reset: () => undefined,
  }
}
