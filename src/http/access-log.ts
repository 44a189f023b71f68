/**
 * The access log: one JSON line per request, written by the listener once the response is done
 * (so the line has the real status, bytes and duration), at `info` through the process logger.
 * The surfaces fill in what only they know (RequestContext.access); the wire layer adds what only
 * it knows (address, bytes, timing).
 *
 * Why the query string is filtered here and not by the logger's redaction: pino redacts by field
 * path, and a presigned URL carries its signature and session token inside one string. Every
 * parameter whose name says it holds a secret is dropped before the line is built; an access key
 * id (X-Amz-Credential, AWSAccessKeyId) is an identifier and stays, as it does in AWS's own logs.
 * @module
 */
import type { AccessPrincipal } from './raw-request.js'

/** `--access-log`: off, every request, or one in `every` (plus every 5xx). */
export type AccessLogMode =
  { readonly kind: 'off' } | { readonly kind: 'on'; readonly every: number }

/** One finished request, as the access log and the metrics see it. */
export interface AccessEntry {
  readonly requestId: string
  readonly remoteAddress: string
  readonly method: string
  readonly path: string
  /** The query with secret-bearing parameters removed ('' when none, or when not logged). */
  readonly query: string
  readonly surface: string
  readonly operation: string | undefined
  readonly bucket: string | undefined
  readonly key: string | undefined
  readonly principal: AccessPrincipal | 'anonymous'
  readonly status: number
  readonly errorCode: string | undefined
  readonly bytesIn: number
  readonly bytesOut: number
  readonly durationMs: number
  /** The connection closed before the whole response was sent. */
  readonly aborted: boolean
}

/**
 * Query parameters never logged: SigV4/SigV2 signatures, session tokens (X-Amz-Security-Token,
 * STS TokenCode), passwords, secrets, SAML/web-identity assertions. Matched on the decoded,
 * lower-cased name, so `x-amz-signature` or `%53ignature` cannot slip through.
 */
const SECRET_PARAM = /signature|token|password|passwd|secret|assertion|otp/i

/** `rawQuery` without the parameters that can carry a secret (order and encoding kept). */
export function redactQuery(rawQuery: string): string {
  if (rawQuery === '') return ''
  const kept: string[] = []
  let dropped = false
  for (const part of rawQuery.split('&')) {
    if (part === '') continue
    const eq = part.indexOf('=')
    const rawName = eq < 0 ? part : part.slice(0, eq)
    let name = rawName
    try {
      name = decodeURIComponent(rawName.replace(/\+/g, ' '))
    } catch {
      // undecodable: judged as sent
    }
    if (SECRET_PARAM.test(name)) {
      dropped = true
      continue
    }
    kept.push(part)
  }
  return dropped || kept.length > 0 ? kept.join('&') : ''
}

/** Parse `on`, `off` or `sample=N` (N ≥ 1: one request in N is logged); undefined when invalid. */
export function parseAccessLogMode(text: string): AccessLogMode | undefined {
  if (text === 'on') return { kind: 'on', every: 1 }
  if (text === 'off') return { kind: 'off' }
  const m = /^sample=(\d{1,9})$/.exec(text)
  const n = m === null ? NaN : Number(m[1])
  return n >= 1 ? { kind: 'on', every: n } : undefined
}

/** Decides, per finished request, whether its line is written (a counter: no randomness). */
export class AccessSampler {
  private seen = 0
  private readonly mode: AccessLogMode
  constructor(mode: AccessLogMode) {
    this.mode = mode
  }

  shouldLog(status: number): boolean {
    if (this.mode.kind === 'off') return false
    if (this.mode.every === 1 || status >= 500) return true
    this.seen = (this.seen + 1) % this.mode.every
    return this.seen === 0
  }
}
