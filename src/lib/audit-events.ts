/**
 * The audit trail's events and port (storage/audit-log.ts re-exports it for the stores; the
 * recording surfaces import it from here): an append-only log of who did what, kept in the database so it reads
 * the same on one node or many. Rows are appended (in batches, off the hot path: app/audit.ts),
 * queried by the admin API, and pruned only by retention; nothing updates a row.
 *
 * Never a secret in a row: the writers record identifiers (access key ids, user names, ARNs), a
 * SHA-256 of a session policy instead of its text, and admin request bodies with every
 * secret-bearing field removed.
 * @module
 */

/** What kind of event a row is. */
export type AuditKind = 'issuance' | 'admin' | 'login' | 'request'

/**
 * An event's detail may carry its own JSON text under this key, ready-made by a writer that
 * builds it faster than JSON.stringify (a session's request events: the per-session part is
 * serialized once). A symbol key: JSON.stringify, Object.keys and the readers never see it. The
 * text must equal JSON.stringify(detail).
 */
export const DETAIL_JSON: unique symbol = Symbol('audit-detail-json')

/** The JSON text a store writes for a detail: the ready-made text when it carries one. */
export function auditDetailJson(d: Readonly<Record<string, unknown>>): string {
  const ready = (d as { readonly [DETAIL_JSON]?: unknown })[DETAIL_JSON]
  return typeof ready === 'string' ? ready : JSON.stringify(d)
}

/** One event as written (the store assigns `id`). */
export interface AuditEventInput {
  /** Milliseconds since the epoch. */
  readonly at: number
  readonly kind: AuditKind
  /** `sts:AssumeRole`, `s3:PutObject`, `iam:CreateUser`, `login`, … */
  readonly action: string
  /** The account the event belongs to (tenancy scoping); undefined: the operator's own. */
  readonly accountId?: string
  /**
   * The human or long-term key behind the event: a user name, an account root's access key id,
   * or the operator's name.
   */
  readonly principal?: string
  /** The temporary credential's access key id (issuances: the new one; requests: the caller). */
  readonly session?: string
  /** What the event acted on: `bucket/key`, an admin path, a session ARN. */
  readonly resource?: string
  /** 'allow' | 'deny' for requests and logins; undefined otherwise. */
  readonly decision?: 'allow' | 'deny'
  /** Why: an error code, a refusal reason. */
  readonly reason?: string
  /** The caller's address. */
  readonly source?: string
  /** Event-specific facts (parent chain, policy hash, duration, after, status). Never a secret. */
  readonly detail?: Readonly<Record<string, unknown>>
}

export interface AuditEvent extends AuditEventInput {
  /** Monotonic per store: the order of appends. */
  readonly id: number
}

export interface AuditFilter {
  readonly principal?: string
  readonly session?: string
  readonly action?: string
  /** Inclusive lower bound on `at`. */
  readonly since?: number
  /** Exclusive upper bound on `at`. */
  readonly until?: number
  /** Only these accounts' events (tenancy); undefined: every account. */
  readonly accountIds?: readonly string[]
}

export interface AuditPage {
  /** Newest first. */
  readonly events: readonly AuditEvent[]
  /** How many events match the filter in all. */
  readonly total: number
}

export interface AuditLog {
  append(rows: readonly AuditEventInput[]): Promise<void>
  query(
    filter: AuditFilter,
    page: { readonly limit: number; readonly offset: number },
  ): Promise<AuditPage>
  /** Delete events older than `before` (retention); returns how many went. */
  prune(before: number): Promise<number>
}

/**
 * Where the surfaces hand events: synchronous, never throws, never waits (app/audit.ts batches
 * them into an AuditLog off the request's path).
 */
export interface AuditSink {
  record(e: AuditEventInput): void
}
