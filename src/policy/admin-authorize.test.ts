import { describe, expect, it } from 'vitest'
import type { Principal } from '../auth/principal.js'
import { IAM_ACTIONS } from './actions.js'
import {
  ADMIN_ROUTE_ACTIONS,
  accountOfIamArn,
  authorizeAdmin,
  iamAccountArn,
  iamUserArn,
} from './admin-authorize.js'
import { MASTER_KEY_POLICY, rolePolicy } from './presets.js'
import type { RoleName } from './roles.js'

const A = '111122223333'
const B = '444455556666'
function user(role: RoleName): Exclude<Principal, { kind: 'anonymous' }> {
  return {
    kind: 'user',
    accountId: A,
    accountName: 'acme',
    userId: `u-${role}`,
    username: role.toLowerCase(),
    role,
    accessKeyId: `AK${role}`,
  }
}
const ROOT = { kind: 'account-root', accountId: A, accountName: 'acme', accessKeyId: 'R' } as const

function allowed(
  who: Exclude<Principal, { kind: 'anonymous' }>,
  action: (typeof IAM_ACTIONS)[number],
  resource: string,
  mayManage?: (id: string) => boolean,
): boolean {
  const identity = who.kind === 'user' ? [rolePolicy(who.role)] : [MASTER_KEY_POLICY]
  return (
    authorizeAdmin({
      principal: who,
      policies: { identity },
      action,
      resource,
      ...(mayManage !== undefined ? { mayManage } : {}),
    }).decision.effect === 'allow'
  )
}

// The admin API's rights come from the policy engine (iam:* grants in the presets), not from a
// role-name test: Reader and Writer are refused every iam:* action, SuperUser and the master key
// are allowed inside their own account (and the accounts tenancy says they manage).
describe('authorizeAdmin', () => {
  it('Reader and Writer are refused every admin action, even on their own account', () => {
    for (const role of ['Reader', 'Writer'] as const)
      for (const action of IAM_ACTIONS)
        expect(allowed(user(role), action, iamUserArn(A, 'x')), `${role} ${action}`).toBe(false)
  })

  it('SuperUser and the master key are allowed every admin action inside their account', () => {
    for (const action of IAM_ACTIONS) {
      expect(allowed(user('SuperUser'), action, iamUserArn(A, 'x')), action).toBe(true)
      expect(allowed(ROOT, action, iamAccountArn(A)), action).toBe(true)
    }
  })

  it('another account is refused unless tenancy says the caller manages it', () => {
    expect(allowed(user('SuperUser'), 'iam:CreateUser', iamUserArn(B, 'x'))).toBe(false)
    expect(allowed(ROOT, 'iam:ResetMasterKey', iamAccountArn(B))).toBe(false)
    const reseller = (id: string) => id === B
    expect(allowed(user('SuperUser'), 'iam:CreateUser', iamUserArn(B, 'x'), reseller)).toBe(true)
    expect(allowed(user('Writer'), 'iam:CreateUser', iamUserArn(B, 'x'), reseller)).toBe(false)
  })

  it('a refusal names the caller, action and resource in its own account', () => {
    const r = authorizeAdmin({
      principal: user('Writer'),
      policies: { identity: [rolePolicy('Writer')] },
      action: 'iam:DeleteUser',
      resource: iamUserArn(A, 'bob'),
    })
    expect(r.denial).toBe(
      `User: arn:aws:iam::${A}:user/writer is not authorized to perform: iam:DeleteUser on resource: "arn:aws:iam::${A}:user/bob" because no identity-based policy allows the iam:DeleteUser action`,
    )
  })

  it('every admin route names a catalogued action, and every IAM action has a route', () => {
    expect(new Set(Object.values(ADMIN_ROUTE_ACTIONS))).toEqual(new Set(IAM_ACTIONS))
    expect(accountOfIamArn(iamUserArn(A, 'u'))).toBe(A)
    expect(accountOfIamArn('*')).toBeUndefined()
  })
})
