/**
 * How the admin API (and later the console and the IAM Query API) asks "may this caller do this":
 * each route names an iam:* action (ADMIN_ROUTE_ACTIONS) on an IAM resource ARN, and the policy
 * engine decides it from the caller's policies, exactly as S3 and STS requests are decided,
 * instead of testing `role === 'SuperUser'`. A SuperUser is allowed because its preset grants the
 * iam:* actions (presets.ts); Reader and Writer are refused because theirs do not; the master key
 * (`*`) is allowed; all of them only inside their own account.
 *
 * Which accounts a caller may manage besides its own (a reseller's customers) is tenancy, which
 * the identity domain answers (`mayManage`); such an account counts as the caller's own here.
 * @module
 */
import type { Principal } from '../auth/principal.js'
import type { IamAction } from './actions.js'
import { authorize, type Authorization } from './authorize.js'
import type { PrincipalPolicies } from './principal-policies.js'
import { principalFacts } from './request-context.js'
import type { ConditionContext } from './types.js'

/** The action each admin route asks for: `METHOD path pattern` (':' = a parameter). */
export const ADMIN_ROUTE_ACTIONS = {
  'GET users': 'iam:ListUsers',
  'POST users': 'iam:CreateUser',
  'GET users/:': 'iam:GetUser',
  'PATCH users/:': 'iam:UpdateUser',
  'DELETE users/:': 'iam:DeleteUser',
  'POST users/:/credentials': 'iam:CreateAccessKey',
  'DELETE users/:/credentials': 'iam:DeleteAccessKey',
  'PUT users/:/policy': 'iam:PutUserPolicy',
  'GET users/:/policy': 'iam:GetUserPolicy',
  'DELETE users/:/policy': 'iam:DeleteUserPolicy',
  'POST users/:/totp': 'iam:EnableMFADevice',
  'DELETE users/:/totp': 'iam:DeactivateMFADevice',
  'GET customers': 'iam:ListAccounts',
  'POST customers': 'iam:CreateAccount',
  'GET customers/:': 'iam:GetAccount',
  'GET customers/:/master-key': 'iam:GetMasterKey',
  'POST customers/:/master-key/reset': 'iam:ResetMasterKey',
  'POST customers/:/master-key/reveal': 'iam:RevealMasterKey',
  'GET customers/:/allowlist': 'iam:GetAccountAllowlist',
  'PUT customers/:/allowlist': 'iam:PutAccountAllowlist',
  'GET sessions': 'iam:ListSessions',
  'DELETE sessions/:': 'iam:RevokeSession',
  'DELETE sessions': 'iam:RevokeSession',
  'POST policy/simulate': 'iam:SimulateCustomPolicy',
  'POST backup': 'iam:CreateBackup',
  'GET audit': 'iam:ListAuditEvents',
} as const satisfies Record<string, IamAction>

/** `arn:aws:iam::ACCOUNT:root`: the account itself (listings, customers, master key, sessions). */
export function iamAccountArn(accountId: string): string {
  return `arn:aws:iam::${accountId}:root`
}

/** `arn:aws:iam::ACCOUNT:user/NAME`, as AWS names an IAM user. */
export function iamUserArn(accountId: string, username: string): string {
  return `arn:aws:iam::${accountId}:user/${username}`
}

const IAM_ARN_ACCOUNT = /^arn:aws:iam::(\d{12}):/

/** The account an IAM ARN belongs to; undefined for `*` or anything else. */
export function accountOfIamArn(arn: string): string | undefined {
  return IAM_ARN_ACCOUNT.exec(arn)?.[1]
}

const NO_CONTEXT: ConditionContext = { get: () => undefined }

export interface AdminAuthorizeInput {
  readonly principal: Exclude<Principal, { kind: 'anonymous' }>
  /** The caller's policies (PolicyProvider.policiesFor). */
  readonly policies: PrincipalPolicies
  readonly action: IamAction
  /** An IAM ARN (iamUserArn / iamAccountArn) or '*' for account-less actions (simulate). */
  readonly resource: string
  /** Tenancy: accounts other than its own the caller manages (a reseller's customers). */
  readonly mayManage?: (accountId: string) => boolean
  /** Request keys (policy/request-context.ts RequestConditionKeys); none by default. */
  readonly context?: ConditionContext
}

/** Decide one admin action; `denial` is the AccessDenied text when refused. */
export function authorizeAdmin(i: AdminAuthorizeInput): Authorization {
  const target = accountOfIamArn(i.resource)
  const own =
    target === undefined ||
    target === i.principal.accountId ||
    (i.mayManage !== undefined && i.mayManage(target))
  return authorize({
    principal: principalFacts(i.principal),
    policies: i.policies,
    sameAccount: own,
    requirement: { action: i.action, resource: i.resource },
    context: i.context ?? NO_CONTEXT,
  })
}
