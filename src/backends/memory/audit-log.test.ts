/**
 * Runs the AuditLog conformance suite against the memory implementation.
 * @module
 */
import { auditLogConformance } from '../../../test/conformance/audit-log.case.js'
import { MemoryAuditLog } from './audit-log.js'

auditLogConformance('memory', () =>
  Promise.resolve({ audit: new MemoryAuditLog(), close: () => Promise.resolve() }),
)
