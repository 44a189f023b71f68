/**
 * The audit rows as the relational stores (SQLite, PostgreSQL) write and read them: the column
 * list, an event's values in INSERT order, the WHERE clause of a filter (placeholders spelled by
 * the engine), and a row back as the port's event. One spelling for both engines, which differ
 * only in placeholders and in how integers arrive (BIGINT as strings from PostgreSQL).
 * @module
 */
import {
  auditDetailJson,
  type AuditEvent,
  type AuditEventInput,
  type AuditFilter,
} from '../../storage/audit-log.js'

/** An audit_events row as the driver returns it (integers as strings from PostgreSQL). */
export interface AuditRowDb {
  id: number | string
  at: number | string
  kind: string
  action: string
  account_id: string | null
  principal: string | null
  session: string | null
  resource: string | null
  decision: string | null
  reason: string | null
  source: string | null
  detail: string | null
}

/** A row as the port's event (absent columns left out: exactOptionalPropertyTypes). */
export function auditEventOf(r: AuditRowDb): AuditEvent {
  return {
    id: Number(r.id),
    at: Number(r.at),
    kind: r.kind as AuditEvent['kind'],
    action: r.action,
    ...(r.account_id !== null ? { accountId: r.account_id } : {}),
    ...(r.principal !== null ? { principal: r.principal } : {}),
    ...(r.session !== null ? { session: r.session } : {}),
    ...(r.resource !== null ? { resource: r.resource } : {}),
    ...(r.decision !== null ? { decision: r.decision as 'allow' | 'deny' } : {}),
    ...(r.reason !== null ? { reason: r.reason } : {}),
    ...(r.source !== null ? { source: r.source } : {}),
    ...(r.detail !== null ? { detail: JSON.parse(r.detail) as Record<string, unknown> } : {}),
  }
}

function detailJson(d: AuditEventInput['detail']): string | null {
  return d !== undefined ? auditDetailJson(d) : null
}

/** The column values of an event, in INSERT's order. */
export function auditValues(e: AuditEventInput): unknown[] {
  return [
    e.at,
    e.kind,
    e.action,
    e.accountId ?? null,
    e.principal ?? null,
    e.session ?? null,
    e.resource ?? null,
    e.decision ?? null,
    e.reason ?? null,
    e.source ?? null,
    detailJson(e.detail),
  ]
}

/** Write an event's column values into `out` from `at` on (INSERT's order; no array per row). */
export function putAuditValues(e: AuditEventInput, out: unknown[], at: number): void {
  out[at] = e.at
  out[at + 1] = e.kind
  out[at + 2] = e.action
  out[at + 3] = e.accountId ?? null
  out[at + 4] = e.principal ?? null
  out[at + 5] = e.session ?? null
  out[at + 6] = e.resource ?? null
  out[at + 7] = e.decision ?? null
  out[at + 8] = e.reason ?? null
  out[at + 9] = e.source ?? null
  const detail = e.detail // read once: it may be made on demand (app/audit.ts PendingRequest)
  out[at + 10] = detail !== undefined ? auditDetailJson(detail) : null
}

/** The number of column values of one event. */
export const AUDIT_VALUE_COUNT = 11

/** The WHERE clause of a filter; `ph(i)` spells the i-th placeholder (1-based). */
export function auditWhere(
  f: AuditFilter,
  ph: (i: number) => string,
): { sql: string; params: unknown[] } {
  const parts: string[] = []
  const params: unknown[] = []
  const add = (cond: (p: string) => string, v: unknown): void => {
    params.push(v)
    parts.push(cond(ph(params.length)))
  }
  if (f.principal !== undefined) add((p) => `principal = ${p}`, f.principal)
  if (f.session !== undefined) add((p) => `session = ${p}`, f.session)
  if (f.action !== undefined) add((p) => `action = ${p}`, f.action)
  if (f.since !== undefined) add((p) => `at >= ${p}`, f.since)
  if (f.until !== undefined) add((p) => `at < ${p}`, f.until)
  if (f.accountIds !== undefined) {
    if (f.accountIds.length === 0) parts.push('1 = 0')
    else {
      const ps = f.accountIds.map((id) => {
        params.push(id)
        return ph(params.length)
      })
      parts.push(`account_id IN (${ps.join(', ')})`)
    }
  }
  return { sql: parts.length > 0 ? `WHERE ${parts.join(' AND ')}` : '', params }
}

export const AUDIT_COLUMNS =
  'id, at, kind, action, account_id, principal, session, resource, decision, reason, source, detail'
