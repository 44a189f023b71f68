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
 * - no request in flight → an idle keep-alive connection, closed as node would;
 * - otherwise the server is the slow side (a long copy, an fsync, our own backpressure) → the
 *   timer is re-armed and nothing happens.
 *
 * Per request the only cost is remembering it on its socket (an earlier version kept every
 * in-flight request in a Set and cost ~20 µs of CPU per PUT in `npm run bench`).
 * @module
 */
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { Socket } from 'node:net'

export type IdleKind = 'body' | 'response'

const CURRENT = Symbol('latchkey.current-request')

interface Current {
  readonly req: IncomingMessage
  readonly res: ServerResponse
  readonly onIdle: (kind: IdleKind) => void
}

type Tracked = Socket & { [CURRENT]?: Current | undefined }

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

export class IdleWatchdog {
  private readonly idleMs: number

  constructor(
    server: { timeout: number; on(event: 'timeout', fn: (socket: Socket) => void): unknown },
    idleMs: number,
  ) {
    this.idleMs = idleMs
    server.timeout = idleMs
    server.on('timeout', (socket) => this.onTimeout(socket as Tracked))
  }

  /**
   * Remember the request now in flight on its socket; `onIdle` cuts it. `hasBody` (the request
   * declares a Content-Length or Transfer-Encoding) may be given by a caller that has read the
   * headers already: asking node's `req.headers` builds a second header object per request.
   */
  watch(
    req: IncomingMessage,
    res: ServerResponse,
    onIdle: (kind: IdleKind) => void,
    hasBody?: boolean,
  ): void {
    const socket = req.socket as Tracked
    socket[CURRENT] = { req, res, onIdle }
    // Once an answer is out node puts the socket on keepAliveTimeout (65 s); a body that is still
    // owed (an early error answer to a stalled upload) stays on the idle clock.
    if (
      hasBody ??
      (req.headers['content-length'] !== undefined ||
        req.headers['transfer-encoding'] !== undefined)
    )
      res.once('finish', () => {
        if (!req.complete && !socket.destroyed) socket.setTimeout(this.idleMs)
      })
  }

  /**
   * Forget a request that is over (its body read, its answer sent): what the socket's timer
   * would conclude anyway ('no-request'), said now, so a kept-alive socket does not hold the
   * finished request's objects (and the closure over its handler) until its next request or
   * for the 65 s keep-alive: measured, they outlived scavenges and were promoted, ~1 KB per GET.
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
