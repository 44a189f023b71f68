/**
 * Cuts requests whose client has gone quiet, as S3 does with `RequestTimeout` ("Your socket
 * connection to the server was not read from or written to within the timeout period"). A whole
 * upload has no time limit (a 5 GiB PUT may take an hour); an idle one is cut.
 *
 * Built on node's own socket inactivity timer (`server.timeout`): node re-arms it on every read
 * and write at no cost per request, and emits the server's 'timeout' when a socket has been
 * silent for `idleMs`. Silence alone is not the client's fault, so the request in flight on that
 * socket is classified first:
 *
 * - its body is unfinished and nothing is buffered unread on our side → the client stopped
 *   sending ('body');
 * - its answer has bytes waiting to go out → the client stopped reading ('response');
 * - no request in flight → an idle keep-alive connection: given the rest of its keep-alive time
 *   (`keepAliveMs`, 65 s by default) once, then closed;
 * - otherwise the server is the slow side (a long copy, an fsync, our own backpressure) → the
 *   timer is re-armed and nothing happens.
 *
 * Per request the only cost is remembering it on its socket (an earlier version kept every
 * in-flight request in a Set and cost ~20 µs of CPU per PUT in `npm run bench`). The keep-alive
 * time is kept here too, not by node's `keepAliveTimeout`: node puts every socket on that timer
 * when an answer finishes and back on `server.timeout` when the next request comes, each a new
 * timer and a bound function (two per request); measured, 0.8–3.7 µs of CPU per 4 KiB GET.
 * Here a socket's one timer only changes when it has been idle for `idleMs` (stretched to the
 * keep-alive time) and back when a request comes after that.
 * @module
 */
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { Socket } from 'node:net'

export type IdleKind = 'body' | 'response'

const CURRENT = Symbol('latchkey.current-request')
/** Set on a socket whose timer was stretched to the rest of its keep-alive time. */
const STRETCHED = Symbol('latchkey.keep-alive-stretched')

interface Current {
  readonly req: IncomingMessage
  readonly res: ServerResponse
  readonly onIdle: (kind: IdleKind) => void
}

type Tracked = Socket & { [CURRENT]?: Current | undefined; [STRETCHED]?: boolean }

/** What a silent socket's request is waiting for (exported for tests). */
export function idleVerdict(
  cur: Pick<Current, 'req' | 'res'> | undefined,
): IdleKind | 'no-request' | 'server-busy' {
  if (cur === undefined) return 'no-request'
  const { req, res } = cur
  if (!req.complete && req.readableLength === 0) return 'body'
  if (res.headersSent && !res.writableFinished && res.writableLength > 0) return 'response'
  if (req.complete && res.writableFinished) return 'no-request'
  return 'server-busy'
}

/** How long an idle keep-alive connection stays open by default (above common proxies' 60 s). */
export const KEEP_ALIVE_MS = 65_000

export class IdleWatchdog {
  private readonly idleMs: number
  private readonly keepAliveMs: number

  /**
   * The server's own keep-alive timer must be off (`server.keepAliveTimeout = 0`, listener.ts):
   * this keeps the keep-alive time (at least `idleMs`).
   */
  constructor(
    server: { timeout: number; on(event: 'timeout', fn: (socket: Socket) => void): unknown },
    idleMs: number,
    keepAliveMs = KEEP_ALIVE_MS,
  ) {
    this.idleMs = idleMs
    this.keepAliveMs = keepAliveMs
    server.timeout = idleMs
    server.on('timeout', (socket) => this.onTimeout(socket as Tracked))
  }

  /**
   * Remember the request now in flight on its socket; `onIdle` cuts it. The socket stays on the
   * idle clock until the request is over, answered or not: a body still owed after an early
   * answer (a refused upload) is cut like any other.
   */
  watch(req: IncomingMessage, res: ServerResponse, onIdle: (kind: IdleKind) => void): void {
    const socket = req.socket as Tracked
    socket[CURRENT] = { req, res, onIdle }
    if (socket[STRETCHED] === true) {
      // A request on a connection that had been idle: back on the idle clock.
      socket[STRETCHED] = false
      socket.setTimeout(this.idleMs)
    }
  }

  /**
   * Forget a request that is over (its body read, its answer sent): what the socket's timer
   * would conclude anyway ('no-request'), said now, so a kept-alive socket does not hold the
   * finished request's objects (and the closure over its handler) until its next request or
   * for the keep-alive time: measured, they outlived scavenges and were promoted, ~1 KB per GET.
   */
  release(req: IncomingMessage, res: ServerResponse): void {
    const socket = req.socket as Tracked | null
    if (socket === null) return
    const cur = socket[CURRENT]
    if (cur?.req === req && req.complete && res.writableFinished) socket[CURRENT] = undefined
  }

  private onTimeout(socket: Tracked): void {
    const cur = socket[CURRENT]
    const verdict = idleVerdict(cur)
    switch (verdict) {
      case 'no-request':
        // Idle for idleMs with nothing in flight: once, wait out the rest of the keep-alive time.
        if (socket[STRETCHED] !== true && this.keepAliveMs > this.idleMs) {
          socket[STRETCHED] = true
          socket.setTimeout(this.keepAliveMs - this.idleMs)
          return
        }
        socket.destroy()
        return
      case 'server-busy':
        socket.setTimeout(this.idleMs)
        return
      case 'body':
      case 'response':
        socket[CURRENT] = undefined
        cur?.onIdle(verdict)
        return
    }
  }
}
