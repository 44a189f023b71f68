/**
 * Cuts requests whose client has gone quiet, as S3 does with `RequestTimeout` ("Your socket
 * connection to the server was not read from or written to within the timeout period"). Node's
 * own timeouts do not fit: `requestTimeout` bounds the whole upload (a 5 GiB PUT may take an
 * hour), and a socket timeout also fires while the *server* is the slow side (a long copy, an
 * fsync). So a request counts as idle only while we are waiting for its client:
 *
 * - its body is unfinished, nothing is buffered unread on our side (we are not the bottleneck),
 *   and no byte has arrived on the socket for `idleMs`; or
 * - its answer has bytes waiting to be sent and the socket has written nothing for `idleMs` (a
 *   download the client stopped reading).
 *
 * One timer scans the in-flight requests a few times per `idleMs`; its cost is independent of
 * traffic. What happens to a cut request is the caller's (`onIdle`).
 * @module
 */
import type { IncomingMessage, ServerResponse } from 'node:http'

interface Watched {
  readonly req: IncomingMessage
  readonly res: ServerResponse
  readonly onIdle: (kind: 'body' | 'response') => void
  bytesRead: number
  bytesWritten: number
  lastProgress: number
}

export class IdleWatchdog {
  private readonly idleMs: number
  private readonly now: () => number
  private readonly watched = new Set<Watched>()
  private timer: NodeJS.Timeout | undefined

  constructor(idleMs: number, now: () => number = Date.now) {
    this.idleMs = idleMs
    this.now = now
  }

  /**
   * Watch one request until its response has closed and its body is complete (an error answer
   * can go out before the body has come in: a stalled client must still be cut then).
   */
  watch(
    req: IncomingMessage,
    res: ServerResponse,
    onIdle: (kind: 'body' | 'response') => void,
  ): void {
    const socket = req.socket
    const w: Watched = {
      req,
      res,
      onIdle,
      bytesRead: socket.bytesRead,
      bytesWritten: socket.bytesWritten,
      lastProgress: this.now(),
    }
    this.watched.add(w)
    res.once('close', () => {
      if (req.complete) this.watched.delete(w)
    })
    this.timer ??= setInterval(() => this.scan(), Math.max(100, Math.floor(this.idleMs / 4)))
    this.timer.unref()
  }

  /** One pass over the in-flight requests (public for tests). */
  scan(): void {
    const now = this.now()
    for (const w of this.watched) {
      const socket = w.req.socket
      if (socket.destroyed) {
        this.watched.delete(w)
        continue
      }
      const read = socket.bytesRead
      const written = socket.bytesWritten
      const waitingForBody = !w.req.complete && w.req.readableLength === 0
      const waitingForReader = w.res.headersSent && w.res.writableLength > 0
      if (
        read !== w.bytesRead ||
        written !== w.bytesWritten ||
        !(waitingForBody || waitingForReader)
      ) {
        w.bytesRead = read
        w.bytesWritten = written
        w.lastProgress = now
        continue
      }
      if (now - w.lastProgress >= this.idleMs) {
        this.watched.delete(w)
        w.onIdle(waitingForBody ? 'body' : 'response')
      }
    }
    if (this.watched.size === 0 && this.timer !== undefined) {
      clearInterval(this.timer)
      this.timer = undefined
    }
  }

  close(): void {
    if (this.timer !== undefined) clearInterval(this.timer)
    this.timer = undefined
    this.watched.clear()
  }
}
