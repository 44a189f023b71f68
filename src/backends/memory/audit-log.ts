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

export class MemoryAuditLog implements AuditLog {
  private rows: AuditEvent[] = []
  private next = 1

  append(rows: readonly AuditEventInput[]): Promise<void> {
    for (const r of rows) this.rows.push({ ...r, id: this.next++ })
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
