/**
 * The request as it came off the wire, before any surface interprets it. SigV4 needs the raw
 * path and query (S3 signs the path exactly as sent), so nothing here is decoded or normalised.
 * @module
 */
import type { Readable } from 'node:stream'
import type { Clock } from '../lib/clock.js'
import type { Logger } from '../lib/logger.js'
import { decodePlusLiteralOrKeep } from './percent.js'

export interface RawRequest {
  readonly method: string
  /** Path exactly as sent, percent-encoding intact, without the query. Always starts with '/'. */
  readonly rawPath: string
  /** Query string exactly as sent, without the leading '?'. '' when absent. */
  readonly rawQuery: string
  /** Lower-cased header names; repeated headers joined with ',' as node does. */
  readonly headers: Readonly<Record<string, string | undefined>>
  /** The body as a stream (never buffered by the listener). */
  readonly body: Readable
  readonly remoteAddress: string
  /** True when the connection is TLS. */
  readonly secure: boolean
}

export interface RequestContext {
  /** x-amz-request-id: unique per request. */
  readonly requestId: string
  readonly clock: Clock
  readonly log: Logger
  /** Milliseconds at which the request arrived (from the injected clock). */
  readonly receivedAt: number
  /**
   * What the surfaces learn about the request, for its access-log line and metrics: the listener
   * creates it empty and reads it back once the response is written. Absent in unit tests that
   * build a context by hand.
   */
  readonly access?: AccessRecord
}

/**
 * Filled in by whichever surface handles the request (dispatch names the surface; S3, STS and
 * admin name the operation, the principal, the target and the error code). Never a secret: only
 * identifiers (an access key id, an account, a user name) go here.
 */
export interface AccessRecord {
  surface: string | undefined
  operation: string | undefined
  bucket: string | undefined
  key: string | undefined
  /** Undefined: anonymous. */
  principal: AccessPrincipal | undefined
  errorCode: string | undefined
  /** Set when the caller used temporary credentials: what the audit trail records. */
  session: SessionAccess | undefined
}

/** A session caller as the audit trail names it (identifiers only, never its secret or token). */
export interface SessionAccess {
  readonly accessKeyId: string
  readonly accountId: string
  readonly sessionName: string
  readonly issuedAt: number
  /** The human or long-term key behind it: a user name, or an account root's access key id. */
  readonly parent: string
  /** From the session up to that human or key, e.g. ['session:ASIA…', 'user:alice (AKIA…)']. */
  readonly chain: readonly string[]
}

export interface AccessPrincipal {
  readonly accessKeyId?: string
  readonly account?: string
  readonly user?: string
  /** 'account-root', 'user', 'session', 'operator'. */
  readonly kind: string
}

/** A fresh, empty access record. */
export function newAccessRecord(): AccessRecord {
  return {
    surface: undefined,
    operation: undefined,
    bucket: undefined,
    key: undefined,
    principal: undefined,
    errorCode: undefined,
    session: undefined,
  }
}

/** Decoded query as a multimap; keys and values percent-decoded ('+' stays '+', as S3 does). */
export type QueryMap = ReadonlyMap<string, string>

/**
 * Parse a raw query string. S3 treats '+' literally in query values (only %2B/%20 decode) unless
 * the request's signature matched only with '+' read as a space (auth/sigv4/verify.ts
 * QueryReading; the S3 pipeline then parses again); values without '=' are ''. Invalid
 * percent-encoding is kept as-is.
 */
export function parseQuery(rawQuery: string): Map<string, string> {
  const out = new Map<string, string>()
  if (rawQuery === '') return out
  for (const part of rawQuery.split('&')) {
    if (part === '') continue
    const eq = part.indexOf('=')
    const k = decodePlusLiteralOrKeep(eq < 0 ? part : part.slice(0, eq))
    const v = eq < 0 ? '' : decodePlusLiteralOrKeep(part.slice(eq + 1))
    if (!out.has(k)) out.set(k, v)
  }
  return out
}
