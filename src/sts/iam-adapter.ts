/**
 * Adapts the IAM service to the narrow `StsIam` slice STS depends on (deps.ts), so STS code and
 * its tests never need the whole IamService.
 * @module
 */
import type { IamService } from '../iam/service.js'
import type { StsIam } from './deps.js'

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
