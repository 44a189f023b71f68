/**
 * Picks the surface for a request: /health, the admin API under /api/admin, STS (a form POST to
 * `/` or `?Action=` on `/`), otherwise S3. Every answer gets x-amz-request-id.
 * @module
 */
import type { RawRequest, RequestContext } from './raw-request.js'
import { jsonResponse, type HttpResponse } from './http-response.js'

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

export async function dispatch(
  raw: RawRequest,
  ctx: RequestContext,
  s: Surfaces,
): Promise<HttpResponse> {
  if (raw.rawPath === '/health' && (raw.method === 'GET' || raw.method === 'HEAD')) {
    raw.body.resume()
    return s.isReady()
      ? jsonResponse(200, { status: 'ok' })
      : jsonResponse(503, { status: 'starting' })
  }
  if (raw.rawPath === '/api/admin' || raw.rawPath.startsWith('/api/admin/'))
    return s.admin(raw, ctx)
  if (isStsRequest(raw)) {
    const body = await readSmallBody(raw, STS_MAX_BODY)
    if (body === undefined)
      return {
        status: 413,
        headers: { 'content-type': 'text/xml' },
        body:
          '<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><Error><Type>Sender</Type>' +
          '<Code>ValidationError</Code><Message>Request body exceeds the limit of 65536 bytes</Message></Error>' +
          `<RequestId>${ctx.requestId}</RequestId></ErrorResponse>`,
      }
    return s.sts(raw, ctx, body)
  }
  return s.s3(raw, ctx)
}

/** Read at most `max` bytes; undefined (and the rest drained) when larger. */
async function readSmallBody(raw: RawRequest, max: number): Promise<Buffer | undefined> {
  const declared = Number(raw.headers['content-length'] ?? '0')
  if (declared > max) {
    raw.body.resume()
    return undefined
  }
  const chunks: Buffer[] = []
  let n = 0
  for await (const c of raw.body) {
    const b = c as Buffer
    n += b.length
    if (n > max) {
      raw.body.resume()
      return undefined
    }
    chunks.push(b)
  }
  return Buffer.concat(chunks, n)
}
