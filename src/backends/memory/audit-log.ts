/**
 * The audit log in memory: an array in append order, for unit tests and the conformance suite's
 * reference implementation.
 * @module
 */
import type {
  AuditEvent,
  AuditEventInput,
  AuditFilter,
  AuditLog,
  AuditPage,
} from '../../storage/audit-log.js'

/** Whether `e` matches `f` (shared by the memory store and tests). */
export function auditMatches(e: AuditEventInput, f: AuditFilter): boolean {
  if (f.principal !== undefined && e.principal !== f.principal) return false
  if (f.session !== undefined && e.session !== f.session) return false
  if (f.action !== undefined && e.action !== f.action) return false
  if (f.since !== undefined && e.at < f.since) return false
  if (f.until !== undefined && e.at >= f.until) return false
  if (
    f.accountIds !== undefined &&
    (e.accountId === undefined || !f.accountIds.includes(e.accountId))
  )
    return false
  return true
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] }

const OPTIONAL = [
  'accountId',
  'principal',
  'session',
  'resource',
  'decision',
  'reason',
  'source',
  'detail',
] as const satisfies readonly (keyof AuditEventInput)[]

export class MemoryAuditLog implements AuditLog {
  private rows: AuditEvent[] = []
  private next = 1

  append(rows: readonly AuditEventInput[]): Promise<void> {
    // Field by field, not a spread: an event may read its fields through getters (a session
    // request's, app/audit.ts), which a spread would not copy. Absent fields stay absent.
    for (const r of rows) {
      const e: Mutable<AuditEvent> = { id: this.next++, at: r.at, kind: r.kind, action: r.action }
      for (const k of OPTIONAL) {
        const v = r[k]
        if (v !== undefined) (e as Record<string, unknown>)[k] = v
      }
      this.rows.push(e)
    }
    return Promise.resolve()
  }

  query(f: AuditFilter, page: { limit: number; offset: number }): Promise<AuditPage> {
    const all = this.rows.filter((e) => auditMatches(e, f))
    all.sort((a, b) => b.at - a.at || b.id - a.id)
    return Promise.resolve({
      events: all.slice(page.offset, page.offset + page.limit),
      total: all.length,
    })
  }

  prune(before: number): Promise<number> {
    const n = this.rows.length
    this.rows = this.rows.filter((e) => e.at >= before)
    return Promise.resolve(n - this.rows.length)
  }
}
