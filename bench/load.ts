/**
 * The load generator: replays pre-signed requests over undici keep-alive connections (one
 * request in flight per connection, pipelining 1) for a fixed time and counts answers. Uses
 * `dispatch` with a bare handler instead of `request()` so the client spends as little CPU per
 * request as possible: on a 2-core box the client shares the CPU with the server under test.
 * @module
 */
import { Pool } from 'undici'
import type { Dispatcher } from 'undici'
import type { PreparedRequest } from './sign.js'
import { cpuSeconds } from './proc.js'

export interface Answer {
  readonly status: number
  readonly bytes: number
  /** The first bytes of the body (for error reports); only when status >= 300. */
  readonly head?: string
}

/** Send one request on a dispatcher and resolve once the whole answer has been read. */
export function send(
  d: Dispatcher,
  r: PreparedRequest,
  body?: Dispatcher.DispatchOptions['body'],
): Promise<Answer> {
  return new Promise<Answer>((resolve, reject) => {
    let status = 0
    let bytes = 0
    let head: Buffer[] | undefined
    d.dispatch(
      {
        method: r.method as Dispatcher.HttpMethod,
        path: r.path,
        headers: r.headers,
        body: body ?? r.body ?? null,
      },
      {
        onRequestStart() {},
        onResponseStart(_c, statusCode) {
          status = statusCode
          if (statusCode >= 300) head = []
        },
        onResponseData(_c, chunk) {
          bytes += chunk.length
          if (head !== undefined && bytes <= 2048) head.push(chunk)
        },
        onResponseEnd() {
          resolve({
            status,
            bytes,
            ...(head !== undefined
              ? { head: Buffer.concat(head).toString('utf8').slice(0, 600) }
              : {}),
          })
        },
        onResponseError(_c, err) {
          reject(err)
        },
      },
    )
  })
}

/** Send one request and return status and the whole body as text (setup calls, small answers). */
export function sendText(
  d: Dispatcher,
  r: PreparedRequest,
): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    let status = 0
    const chunks: Buffer[] = []
    d.dispatch(
      {
        method: r.method as Dispatcher.HttpMethod,
        path: r.path,
        headers: r.headers,
        body: r.body ?? null,
      },
      {
        onRequestStart() {},
        onResponseStart(_c, statusCode) {
          status = statusCode
        },
        onResponseData(_c, chunk) {
          chunks.push(chunk)
        },
        onResponseEnd() {
          resolve({ status, text: Buffer.concat(chunks).toString('utf8') })
        },
        onResponseError(_c, err) {
          reject(err)
        },
      },
    )
  })
}

export function makePool(origin: string, connections: number): Pool {
  return new Pool(origin, {
    connections,
    pipelining: 1,
    keepAliveTimeout: 60_000,
    keepAliveMaxTimeout: 600_000,
    headersTimeout: 60_000,
    bodyTimeout: 120_000,
  })
}

export interface LoadOptions {
  readonly pool: Dispatcher
  readonly requests: readonly PreparedRequest[]
  readonly concurrency: number
  readonly durationMs: number
  /** Server pid, to read its CPU time before/after. */
  readonly pid?: number
  /** Index into `requests` to start at (round-robin continues from there). */
  readonly startIndex?: number
  /** Status codes counted as success (default 200-299). */
  readonly ok?: (status: number) => boolean
}

export interface LoadResult {
  readonly ok: number
  readonly errors: number
  readonly elapsedMs: number
  /** Successful requests per second. */
  readonly rps: number
  /** Server CPU µs per request (all answers), NaN without a pid. */
  readonly cpuUsPerOp: number
  readonly bytes: number
  readonly firstError?: string
  /** Where round-robin stopped (pass as the next startIndex). */
  readonly nextIndex: number
}

/**
 * Closed-loop load: `concurrency` workers, each sends the next request as soon as its last one
 * was answered.
 */
export async function runLoad(o: LoadOptions): Promise<LoadResult> {
  if (o.requests.length === 0) throw new Error('runLoad: no requests')
  const isOk = o.ok ?? ((s: number) => s >= 200 && s < 300)
  let next = o.startIndex ?? 0
  let ok = 0
  let errors = 0
  let bytes = 0
  let firstError: string | undefined
  const cpu0 = o.pid !== undefined ? cpuSeconds(o.pid) : Number.NaN
  const t0 = performance.now()
  const deadline = t0 + o.durationMs
  const worker = async (): Promise<void> => {
    while (performance.now() < deadline) {
      const r = o.requests[next % o.requests.length] as PreparedRequest
      next++
      try {
        const a = await send(o.pool, r)
        bytes += a.bytes
        if (isOk(a.status)) ok++
        else {
          errors++
          firstError ??= `${r.method} ${r.path} → ${String(a.status)} ${a.head ?? ''}`
        }
      } catch (e) {
        errors++
        firstError ??= `${r.method} ${r.path} → ${e instanceof Error ? e.message : String(e)}`
      }
    }
  }
  await Promise.all(Array.from({ length: o.concurrency }, worker))
  const elapsedMs = performance.now() - t0
  const cpu1 = o.pid !== undefined ? cpuSeconds(o.pid) : Number.NaN
  const total = ok + errors
  return {
    ok,
    errors,
    elapsedMs,
    rps: (ok * 1000) / elapsedMs,
    cpuUsPerOp: total > 0 ? ((cpu1 - cpu0) * 1e6) / total : Number.NaN,
    bytes,
    ...(firstError !== undefined ? { firstError } : {}),
    nextIndex: next,
  }
}
