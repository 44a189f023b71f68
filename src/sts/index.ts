/**
 * The STS surface's entry point and its wiring, in one place: the composition root passes the
 * IAM service and the SigV4 authentication deps; this adapts the service to the narrow `StsIam`
 * slice STS depends on (deps.ts) and hands both to the request flow in router.ts. The unit tests
 * use the same adapter (`stsIamFrom`) over a real IamService on memory stores, with their own
 * authentication step.
 *
 * The types stay in deps.ts, a leaf: the actions import them, and importing them from here would
 * close a cycle (index → router → actions → index).
 * @module
 */
import { authenticateNow, type AuthDeps } from '../auth/authenticate.js'
import type { IamService } from '../iam/service.js'
import type { Clock } from '../lib/clock.js'
import type { Logger } from '../lib/logger.js'
import { createStsCore, type StsHandler } from './router.js'
import type { StsConfig, StsIam } from './deps.js'
import type { AuditSink } from '../lib/audit-events.js'

export type { StsHandler } from './router.js'

export interface StsDeps {
  readonly iam: IamService
  readonly auth: AuthDeps
  readonly clock: Clock
  readonly log: Logger
  readonly config: StsConfig
  readonly audit?: AuditSink
}

/** The slice of the IAM service STS calls. */
export function stsIamFrom(iam: IamService): StsIam {
  return {
    issue: (req, now) => iam.issue(req, now),
    byId: (id) => iam.byId(id),
    byName: (name) => iam.byName(name),
    addressAllowed: (accountId, address) => iam.addressAllowed(accountId, address),
    policiesFor: (p) => iam.policiesFor(p),
    authenticatePassword: (login, now) => iam.authenticatePassword(login, now),
    userDetails: (userId) => {
      const u = iam.getUser(userId)
      if (u === undefined) return undefined
      return {
        id: u.id,
        username: u.username,
        ...(u.email !== undefined ? { email: u.email } : {}),
        ...(u.firstname !== undefined ? { firstname: u.firstname } : {}),
        ...(u.lastname !== undefined ? { lastname: u.lastname } : {}),
        createdAt: u.createdAt,
        ...(u.lastAccess !== undefined ? { lastAccess: u.lastAccess } : {}),
        totpEnabled: u.totpEnabled,
      }
    },
    masterAccessKeyId: (accountId) => iam.getAccount(accountId)?.masterAccessKeyId,
  }
}

export function createStsHandler(deps: StsDeps): StsHandler {
  return createStsCore({
    iam: stsIamFrom(deps.iam),
    authenticate: (raw, query, opts) => authenticateNow(raw, query, deps.auth, opts),
    clock: deps.clock,
    log: deps.log,
    config: deps.config,
    ...(deps.audit !== undefined ? { audit: deps.audit } : {}),
  })
}
