/**
 * After an early error the rest of a request body must be consumed, or the next request on the
 * same keep-alive connection hangs behind it. The body may still be piped into a decoder nobody
 * reads (aws-chunked, payload hash), so unpipe it first. A large remainder is not worth reading:
 * answer with `Connection: close` instead and let node drop the socket after the response.
 * @module
 */
import type { RawRequest } from './raw-request.js'

const DRAIN_LIMIT = 1024 * 1024

export function discardRequestBody(raw: RawRequest): Record<string, string> {
  const body = raw.body
  if (body.readableEnded || body.destroyed) return {}
  body.unpipe()
  body.resume()
  // A chunked body of unknown length, or a big declared one: close the connection after answering.
  if (raw.headers['transfer-encoding'] !== undefined) return { connection: 'close' }
  const declared = Number(raw.headers['content-length'] ?? '0')
  if (!(declared <= DRAIN_LIMIT)) return { connection: 'close' }
  return {}
}
