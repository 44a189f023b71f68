/**
 * The one listener for every surface (S3, STS, admin): node:http or node:https, raw requests
 * (no framework: SigV4 needs the raw path and bodies must stream), request ids, error
 * containment (no input may crash the process) and graceful shutdown (stop accepting, let
 * in-flight requests finish, then close the stores).
 * @module
 */
import {
  createServer as createHttpServer,
  type IncomingMessage,
  type ServerResponse,
  type Server,
} from 'node:http'
import { createServer as createHttpsServer } from 'node:https'
import { randomBytes } from 'node:crypto'
import type { AddressInfo } from 'node:net'
import { Readable } from 'node:stream'
import type { Clock } from '../lib/clock.js'
import type { Logger } from '../lib/logger.js'
import type { RawRequest, RequestContext } from './raw-request.js'
import { dispatch, internalErrorAnswer, isStsRequest, type Surfaces } from '../app/dispatch.js'
import { writeResponse } from './respond.js'
import type { TlsMaterial } from './tls.js'
import { IdleWatchdog } from './idle-watchdog.js'

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
  readonly surfaces: Surfaces
  readonly clock: Clock
  readonly log: Logger
  /** A client that sends nothing (headers or body) or reads nothing for this long is cut. */
  readonly idleTimeoutMs?: number
}): Promise<Listener> {
  let inFlight = 0
  let drained: (() => void) | undefined
  const idleMs = opts.idleTimeoutMs ?? 30_000
  let watchdog: IdleWatchdog | undefined
  const onRequest = (req: IncomingMessage, res: ServerResponse): void => {
    inFlight++
    res.on('close', () => {
      inFlight--
      if (inFlight === 0) drained?.()
    })
    void handle(req, res, opts, watchdog as IdleWatchdog, secure)
  }
  const secure = opts.tls !== undefined
  // Node checks headersTimeout on this interval: keep it well below the timeout itself.
  const serverOpts = { connectionsCheckingInterval: Math.min(30_000, Math.max(250, idleMs / 4)) }
  const server: Server =
    opts.tls !== undefined
      ? (createHttpsServer(
          { ...serverOpts, cert: opts.tls.cert, key: opts.tls.key },
          onRequest,
        ) as unknown as Server)
      : createHttpServer(serverOpts, onRequest)
  // Large uploads may take longer than node's default 300 s request timeout: a whole upload has
  // no time limit, an idle one is cut by the watchdog. Headers must arrive within the idle time.
  server.requestTimeout = 0
  server.headersTimeout = idleMs
  server.keepAliveTimeout = 65_000
  watchdog = new IdleWatchdog(server, idleMs)
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

const IDLE_MESSAGE =
  'Your socket connection to the server was not read from or written to within the timeout period. Idle connections will be closed.'

/** RequestTimeout in the format of the surface the request was for. */
function requestTimeoutAnswer(raw: RawRequest, requestId: string): { type: string; body: string } {
  if (raw.rawPath === '/api/admin' || raw.rawPath.startsWith('/api/admin/'))
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

async function handle(
  req: IncomingMessage,
  res: ServerResponse,
  opts: { readonly surfaces: Surfaces; readonly clock: Clock; readonly log: Logger },
  watchdog: IdleWatchdog,
  secure: boolean,
): Promise<void> {
  const requestId = nextRequestId()
  let cut = false
  const ctx: RequestContext = {
    requestId,
    clock: opts.clock,
    log: opts.log,
    receivedAt: opts.clock.now(),
  }
  const reqIdHeaders = {
    'x-amz-request-id': requestId,
    'x-amz-id-2': requestId,
    server: 'Latchkey',
  }
  let seen: RawRequest | undefined // for the last-resort answer's format
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
    const raw: RawRequest = {
      method: req.method ?? 'GET',
      rawPath: q < 0 ? target : target.slice(0, q),
      rawQuery: q < 0 ? '' : target.slice(q + 1),
      headers,
      body: req,
      remoteAddress: req.socket.remoteAddress ?? '',
      secure,
    }
    seen = raw
    watchdog.watch(req, res, (kind) => {
      // The client went quiet: answer RequestTimeout if nothing was sent yet, then close. The
      // handler still waiting on the body sees it abort and cleans up (temp files, no commit).
      cut = true
      opts.log.info(
        {
          requestId,
          method: raw.method,
          path: raw.rawPath,
          remoteAddress: raw.remoteAddress,
          kind,
        },
        'request cut: client idle',
      )
      if (!res.headersSent) {
        const a = requestTimeoutAnswer(raw, requestId)
        res.writeHead(400, { 'content-type': a.type, connection: 'close', ...reqIdHeaders })
        res.end(a.body)
        setTimeout(() => req.socket.destroy(), 1000).unref()
      } else {
        req.socket.destroy()
      }
    })
    const response = await dispatch(raw, ctx, opts.surfaces)
    if (cut) {
      if (response.body instanceof Readable) response.body.destroy()
      return
    }
    await writeResponse(res, response, raw.method, reqIdHeaders)
    opts.log.debug(
      { requestId, method: raw.method, path: raw.rawPath, status: response.status },
      'request',
    )
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
      const answer = internalErrorAnswer(seen, requestId)
      res.writeHead(500, { 'content-type': answer.type, ...reqIdHeaders })
      res.end(answer.body)
    } else {
      res.destroy()
    }
  }
}
