/**
 * The audit trail's port (AuditLog) as the stores implement it. The types live in
 * lib/audit-events.ts so that the surfaces that record and query events (STS, the admin API),
 * which may not import storage, share them with the stores.
 * @module
 */
export type {
  AuditEvent,
  AuditEventInput,
  AuditFilter,
  AuditKind,
  AuditLog,
  AuditPage,
  AuditSink,
} from '../lib/audit-events.js'
export { auditDetailJson, DETAIL_JSON } from '../lib/audit-events.js'
