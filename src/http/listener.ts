/**
 * The one listener for every surface (S3, STS, admin): node:http or node:https, raw requests
 * (no framework: SigV4 needs the raw path and bodies must stream), request ids, error
 * containment (no input may crash the process) and graceful shutdown (stop accepting, let
 * in-flight requests finish, then close the stores).
 * @module
 */
import { clientAddress } from './client-address.js'
import type { CidrSet } from '../lib/cidr.js'
import {
  createServer as createHttpServer,
  ServerResponse,
  type IncomingMessage,
  type Server,
} from 'node:http'
import { createServer as createHttpsServer } from 'node:https'
import { randomBytes } from 'node:crypto'
import type { AddressInfo } from 'node:net'
import { Readable } from 'node:stream'
import type { Clock } from '../lib/clock.js'
import type { Logger } from '../lib/logger.js'
import {
  newAccessRecord,
  type AccessRecord,
  type RawRequest,
  type RequestContext,
} from './raw-request.js'
import { AccessSampler, redactQuery, type AccessEntry, type AccessLogMode } from './access-log.js'
import type { HttpResponse } from './http-response.js'
import { writeResponse } from './respond.js'
import type { TlsMaterial } from './tls.js'
import { IdleWatchdog } from './idle-watchdog.js'

/**
 * What the listener hands requests to. The wire layer knows no surface: the composition root
 * routes (`app/dispatch.ts`), and also words the two answers the listener must give itself, in the
 * format of the surface the request was for.
 */
export interface RequestRouter {
  /** The answer, or a promise of it (awaited only then). */
  handle(raw: RawRequest, ctx: RequestContext): HttpResponse | Promise<HttpResponse>
  /**
   * The body of the listener's own answer: 400 RequestTimeout (the client went idle) or 500
   * InternalError (a handler threw).
   */
  failure(
    raw: RawRequest,
    requestId: string,
    kind: 'request-timeout' | 'internal',
  ): { readonly type: string; readonly body: string }
}

export interface Listener {
  readonly server: Server
  readonly url: string
  /** Stop accepting, wait for in-flight requests (up to graceMs), close idle sockets. */
  close(graceMs?: number): Promise<void>
}

export async function listen(opts: {
  readonly host: string
  readonly port: number
  readonly tls?: TlsMaterial
  readonly router: RequestRouter
  readonly clock: Clock
  readonly log: Logger
  /** A client that sends nothing (headers or body) or reads nothing for this long is cut. */
  readonly idleTimeoutMs?: number
  /** Proxies whose X-Forwarded-For is believed (http/client-address.ts); none by default. */
  readonly trustedProxies?: CidrSet
  /** The access log (one `info` line per request, access-log.ts); on by default. */
  readonly accessLog?: AccessLogMode
  /** Where access lines go (default `log`): lib/pino-logger.ts createAccessLogger. */
  readonly accessLogger?: Logger
  /** Called once per finished request (metrics), whether or not its line is logged. */
  readonly onRequestDone?: (entry: AccessEntry, access: AccessRecord) => void
}): Promise<Listener> {
  const sampler = new AccessSampler(opts.accessLog ?? { kind: 'on', every: 1 })
  let inFlight = 0
  let drained: (() => void) | undefined
  const idleMs = opts.idleTimeoutMs ?? 30_000
  let watchdog: IdleWatchdog | undefined
  // One 'close' listener per request (handle's), which calls this first.
  const closed = (): void => {
    inFlight--
    if (inFlight === 0) drained?.()
  }
  const onRequest = (req: IncomingMessage, res: ServerResponse): void => {
    inFlight++
    void handle(req, res, opts, watchdog as IdleWatchdog, secure, sampler, closed)
  }
  const secure = opts.tls !== undefined
  // Node checks headersTimeout on this interval: keep it well below the timeout itself.
  const serverOpts = { connectionsCheckingInterval: Math.min(30_000, Math.max(250, idleMs / 4)) }
  const server: Server =
    opts.tls !== undefined
      ? (createHttpsServer(
          Object.assign({}, serverOpts, { cert: opts.tls.cert, key: opts.tls.key }),
          onRequest,
        ) as unknown as Server)
      : createHttpServer(serverOpts, onRequest)
  // Large uploads may take longer than node's default 300 s request timeout: a whole upload has
  // no time limit, an idle one is cut by the watchdog. Headers must arrive within the idle time.
  server.requestTimeout = 0
  server.headersTimeout = idleMs
  // The watchdog keeps the keep-alive time (65 s) on each socket's one timer: node's own
  // keepAliveTimeout makes two new timers per request (idle-watchdog.ts).
  server.keepAliveTimeout = 0
  watchdog = new IdleWatchdog(server, idleMs)
  // An `Expect` other than 100-continue: node would answer 417 itself; S3 ignores the header, so
  // the request is served like any other. (100-continue keeps node's default: 100, then serve.)
  server.on('checkExpectation', onRequest)
  server.on('clientError', (_err, socket) => {
    if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n')
    else socket.destroy()
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(opts.port, opts.host, () => {
      server.off('error', reject)
      resolve()
    })
  })
  const addr = server.address() as AddressInfo
  const hostForUrl = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address
  const url = `${secure ? 'https' : 'http'}://${hostForUrl === '0.0.0.0' ? '127.0.0.1' : hostForUrl}:${addr.port}`
  return {
    server,
    url,
    close: async (graceMs = 30_000) => {
      const closed = new Promise<void>((r) => server.close(() => r()))
      server.closeIdleConnections()
      if (inFlight > 0) {
        await Promise.race([
          new Promise<void>((r) => (drained = r)),
          new Promise<void>((r) => setTimeout(r, graceMs).unref()),
        ])
      }
      server.closeAllConnections()
      await closed
    },
  }
}

/** One request's byte counts and start, shared by its request and response objects. */
interface Tally {
  bytesIn: number
  bytesOut: number
  readonly started: number
}
const TALLY = Symbol('tally')
type Tallied<T> = T & { [TALLY]: Tally }

const pushBody = Readable.prototype.push
const writeBody = ServerResponse.prototype.write
const endBody = ServerResponse.prototype.end

function sizeOf(chunk: unknown, encoding: unknown): number {
  if (typeof chunk === 'string')
    return Buffer.byteLength(
      chunk,
      typeof encoding === 'string' ? (encoding as BufferEncoding) : 'utf8',
    )
  if (chunk === null || chunk === undefined || typeof chunk === 'function') return 0
  return (chunk as { byteLength: number }).byteLength
}

function countingPush(
  this: Tallied<IncomingMessage>,
  chunk: unknown,
  encoding?: BufferEncoding,
): boolean {
  if (chunk !== null && chunk !== undefined)
    this[TALLY].bytesIn += (chunk as { length: number }).length
  return pushBody.call(this, chunk, encoding)
}

function countingWrite(
  this: Tallied<ServerResponse>,
  chunk: unknown,
  encoding?: unknown,
  cb?: unknown,
): boolean {
  this[TALLY].bytesOut += sizeOf(chunk, encoding)
  return (writeBody as (c: unknown, e: unknown, cb: unknown) => boolean).call(
    this,
    chunk,
    encoding,
    cb,
  )
}

function countingEnd(
  this: Tallied<ServerResponse>,
  chunk?: unknown,
  encoding?: unknown,
  cb?: unknown,
): ServerResponse {
  this[TALLY].bytesOut += sizeOf(chunk, encoding)
  return (endBody as (c: unknown, e: unknown, cb: unknown) => ServerResponse).call(
    this,
    chunk,
    encoding,
    cb,
  )
}

/** Request ids: a random per-process prefix and a counter (unique, cheap: no CSPRNG call per request). */
const ID_PREFIX = randomBytes(4).toString('hex').toUpperCase()
let idCounter = 0
function nextRequestId(): string {
  idCounter = (idCounter + 1) % 0x1_0000_0000
  return ID_PREFIX + idCounter.toString(16).toUpperCase().padStart(8, '0')
}

/** Errors that only mean the client went away (a reset, a download it stopped reading). */
const CLIENT_GONE = new Set([
  'ERR_STREAM_PREMATURE_CLOSE',
  'ERR_STREAM_DESTROYED',
  'ECONNRESET',
  'EPIPE',
  'ECONNABORTED',
])

function clientWentAway(err: unknown, req: IncomingMessage, res: ServerResponse): boolean {
  const code = (err as { code?: unknown } | undefined)?.code
  return (
    (typeof code === 'string' && CLIENT_GONE.has(code)) || req.socket.destroyed || res.destroyed
  )
}

async function handle(
  req: IncomingMessage,
  res: ServerResponse,
  opts: {
    readonly router: RequestRouter
    readonly clock: Clock
    readonly log: Logger
    readonly trustedProxies?: CidrSet
    readonly onRequestDone?: (entry: AccessEntry, access: AccessRecord) => void
    readonly accessLogger?: Logger
  },
  watchdog: IdleWatchdog,
  secure: boolean,
  sampler: AccessSampler,
  closed: () => void,
): Promise<void> {
  const requestId = nextRequestId()
  let cut = false
  const access = newAccessRecord()
  const ctx: RequestContext = {
    requestId,
    clock: opts.clock,
    log: opts.log,
    receivedAt: opts.clock.now(),
    access,
  }
  // Bytes actually read off the request body and written as the response body: the parser hands
  // each body chunk to req.push, and every response byte goes through res.write or res.end. The
  // counting functions are shared (module level) and keep their tally on the objects: no closure
  // per request on the hot path.
  const tally: Tally = { bytesIn: 0, bytesOut: 0, started: performance.now() }
  ;(req as Tallied<IncomingMessage>)[TALLY] = tally
  ;(res as Tallied<ServerResponse>)[TALLY] = tally
  req.push = countingPush
  res.write = countingWrite as typeof res.write
  res.end = countingEnd as typeof res.end
  res.on('close', () => {
    closed()
    watchdog.release(req, res)
    const status = res.statusCode
    const log = sampler.shouldLog(status)
    const entry: AccessEntry = {
      requestId,
      remoteAddress: raw?.remoteAddress ?? req.socket.remoteAddress ?? '',
      method: req.method ?? '',
      path: raw?.rawPath ?? '',
      query: log && raw !== undefined ? redactQuery(raw.rawQuery) : '',
      surface: access.surface ?? 'none',
      operation: access.operation,
      bucket: access.bucket,
      key: access.key,
      principal: access.principal ?? 'anonymous',
      status,
      errorCode: access.errorCode,
      bytesIn: tally.bytesIn,
      bytesOut: tally.bytesOut,
      durationMs: Math.round((performance.now() - tally.started) * 1000) / 1000,
      aborted: !res.writableFinished,
    }
    opts.onRequestDone?.(entry, access)
    if (log) (opts.accessLogger ?? opts.log).info(entry, 'access')
  })
  const reqIdHeaders = {
    'x-amz-request-id': requestId,
    'x-amz-id-2': requestId,
    server: 'Latchkey',
  }
  let raw: RawRequest | undefined
  try {
    let target = req.url ?? '/'
    if (!target.startsWith('/')) {
      // absolute-form request target
      const m = /^[a-z]+:\/\/[^/]*(\/.*)?$/i.exec(target)
      target = m?.[1] ?? '/'
    }
    const q = target.indexOf('?')
    // Lower-cased names; repeated headers joined with ',' (SigV4's canonical form), straight from
    // rawHeaders without node's intermediate objects.
    const headers: Record<string, string> = {}
    const rh = req.rawHeaders
    for (let i = 0; i + 1 < rh.length; i += 2) {
      const k = (rh[i] as string).toLowerCase()
      const v = rh[i + 1] as string
      const prev = headers[k]
      headers[k] = prev === undefined ? v : `${prev},${v}`
    }
    const rq: RawRequest = {
      method: req.method ?? 'GET',
      rawPath: q < 0 ? target : target.slice(0, q),
      rawQuery: q < 0 ? '' : target.slice(q + 1),
      headers,
      body: req,
      remoteAddress: clientAddress(
        req.socket.remoteAddress ?? '',
        headers['x-forwarded-for'],
        opts.trustedProxies,
      ),
      secure,
    }
    raw = rq
    watchdog.watch(req, res, (kind) => {
      // The client went quiet: answer RequestTimeout if nothing was sent yet, then close. The
      // handler still waiting on the body sees it abort and cleans up (temp files, no commit).
      cut = true
      opts.log.info(
        {
          requestId,
          method: rq.method,
          path: rq.rawPath,
          remoteAddress: rq.remoteAddress,
          kind,
        },
        'request cut: client idle',
      )
      if (!res.headersSent) {
        const a = opts.router.failure(rq, requestId, 'request-timeout')
        res.writeHead(400, { 'content-type': a.type, connection: 'close', ...reqIdHeaders })
        res.end(a.body)
        setTimeout(() => req.socket.destroy(), 1000).unref()
      } else {
        req.socket.destroy()
      }
    })
    const answer = opts.router.handle(rq, ctx)
    const response = answer instanceof Promise ? await answer : answer
    if (cut) {
      if (response.body instanceof Readable) response.body.destroy()
      return
    }
    const streaming = writeResponse(res, response, rq.method, reqIdHeaders)
    if (streaming !== undefined) await streaming
  } catch (err) {
    if (cut) return
    if (clientWentAway(err, req, res)) {
      // Normal traffic (a download cancelled, a connection reset): no stack, no error level.
      const code = (err as { code?: unknown } | undefined)?.code
      opts.log.debug(
        { requestId, code: typeof code === 'string' ? code : undefined },
        'client went away',
      )
      res.destroy()
      return
    }
    // A handler bug: never crash, answer 500 if we still can.
    opts.log.error({ err, requestId }, 'unhandled request error')
    if (!res.headersSent) {
      const a =
        raw !== undefined
          ? opts.router.failure(raw, requestId, 'internal')
          : { type: 'text/plain', body: 'Internal error' }
      res.writeHead(500, { 'content-type': a.type, ...reqIdHeaders })
      res.end(a.body)
    } else {
      res.destroy()
    }
  }
}
