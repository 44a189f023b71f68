/**
 * After an early error the rest of a request body must be consumed, or the next request on the
 * same keep-alive connection hangs behind it. The body may still be piped into a decoder nobody
 * reads (aws-chunked, payload hash), so unpipe it first, then read and discard the rest: clients
 * (over TLS especially) only see the error answer reliably if the connection stays open while they
 * finish sending. A body too large to be worth reading is cut off: with a declared length above
 * the limit the answer carries `Connection: close`; a chunked body is discarded until it passes
 * the limit, then its socket is destroyed.
 * @module
 */
import type { IncomingMessage } from 'node:http'
import type { RawRequest } from './raw-request.js'

const DRAIN_LIMIT = 64 * 1024 * 1024

export function discardRequestBody(raw: RawRequest): Record<string, string> {
  const body = raw.body
  if (body.readableEnded || body.destroyed) return {}
  body.unpipe()
  const declared = Number(raw.headers['content-length'] ?? '0')
  if (declared > DRAIN_LIMIT) {
    body.resume()
    return { connection: 'close' }
  }
  let seen = 0
  body.on('data', (chunk: Buffer) => {
    seen += chunk.length
    if (seen > DRAIN_LIMIT) (body as Partial<IncomingMessage>).socket?.destroy()
  })
  body.resume()
  return {}
}
