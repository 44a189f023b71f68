/**
 * Writes an HttpResponse to node's ServerResponse. HEAD never gets a body; streams are piped
 * with backpressure and destroyed if the client goes away.
 * @module
 */
import type { ServerResponse } from 'node:http'
import { Readable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import type { HttpResponse } from './http-response.js'

/**
 * Write `r` to `res`: undefined once a body in hand was written (or none), the pipeline's promise
 * when a stream goes out (it rejects if the stream or the client fails).
 */
export function writeResponse(
  res: ServerResponse,
  r: HttpResponse,
  method: string,
  extraHeaders: Readonly<Record<string, string>>,
): Promise<void> | undefined {
  // Copied key by key, not spread into a literal: `{ ...a, ...b }` here left ~260 bytes per
  // request that outlived two scavenges (promoted, then collected from the old generation; with
  // the authenticated request's spread gone too, a 4 KiB GET promotes 4 bytes instead of 1,126:
  // test/architecture/object-spread.test.ts).
  const headers: Record<string, string | readonly string[]> = {}
  for (const k in extraHeaders) headers[k] = extraHeaders[k] as string
  const own = r.headers
  for (const k in own) headers[k] = own[k] as string | readonly string[]
  const body = r.body
  const noBody = method === 'HEAD' || r.status === 204 || r.status === 304
  if (typeof body === 'string' && !noBody && asciiValues(headers)) {
    // Node sends the head and a string body given to end() as one string: one buffer, one write,
    // and no Buffer.from copy of the body here. Only when every header value is ASCII: node writes
    // a head on its own as latin1, and joined to the body it would go out as UTF-8.
    if (headers['content-length'] === undefined)
      headers['content-length'] = String(Buffer.byteLength(body, 'utf8'))
    res.writeHead(r.status, headers as Record<string, string | string[]>)
    res.end(body)
    return undefined
  }
  if (body === undefined || typeof body === 'string' || Buffer.isBuffer(body)) {
    const buf =
      body === undefined ? undefined : typeof body === 'string' ? Buffer.from(body, 'utf8') : body
    if (headers['content-length'] === undefined && !(r.status === 204 || r.status === 304))
      headers['content-length'] = String(buf?.length ?? 0)
    res.writeHead(r.status, headers as Record<string, string | string[]>)
    if (noBody || buf === undefined) res.end()
    else res.end(buf)
    return undefined
  }
  res.writeHead(r.status, headers as Record<string, string | string[]>)
  if (noBody) {
    body.destroy()
    res.end()
    return undefined
  }
  return pipeline(body as Readable, res)
}

const NON_ASCII = /[^\x00-\x7f]/

function asciiValues(headers: Record<string, string | readonly string[]>): boolean {
  for (const k in headers) {
    const v = headers[k]
    if (typeof v !== 'string' || NON_ASCII.test(v)) return false
  }
  return true
}
