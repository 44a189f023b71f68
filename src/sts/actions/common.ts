/**
 * Shared pieces of the STS actions: the per-request context, stable role ids and names for the
 * assumed-role ARN, and the policy gate that lets operators deny STS per user (an explicit Deny on
 * `sts:AssumeRole` / `sts:GetSessionToken` in the caller's policies refuses; minio#21404).
 * @module
 */
import { principalArn } from '../../auth/principal.js'
import { authorize } from '../../policy/authorize.js'
import { principalFacts, RequestConditionKeys } from '../../policy/request-context.js'
import type { PrincipalPolicies } from '../../policy/principal-policies.js'
import type { RequestFacts } from '../../policy/types.js'
import type { RawRequest } from '../../http/raw-request.js'
import type { Params } from '../../http/query-protocol.js'
import type { KnownPrincipal, StsCoreDeps } from '../deps.js'
import { StsError } from '../errors.js'

export interface ActionContext {
  readonly deps: StsCoreDeps
  /** The action's name (`AssumeRole`): the audit trail records `sts:` + it. */
  readonly action: string
  readonly params: Params
  readonly raw: RawRequest
  readonly requestId: string
  readonly now: number
}

export { roleFor, sessionNameFrom, stableRoleId } from '../../iam/role-identity.js'

/**
 * Facts for evaluating an sts:* action by `caller`: the aws:* keys every surface shares
 * (policy/request-context.ts) plus the action's own (`extra`: sts:DurationSeconds, …).
 */
export function stsFacts(
  c: ActionContext,
  caller: KnownPrincipal,
  action: string,
  resource: string,
  extra: Readonly<Record<string, string>> = {},
): RequestFacts {
  const arn = principalArn(caller)
  const now = c.now
  return {
    action,
    resource,
    principal: principalFacts(caller, arn),
    context: new RequestConditionKeys(
      {
        principal: caller,
        remoteAddress: c.raw.remoteAddress,
        secure: c.raw.secure,
        headers: c.raw.headers,
        now: () => now,
      },
      { arn, requirement: extra },
    ),
  }
}

const POLICY_TYPE = {
  identity: 'an identity-based',
  resource: 'a resource-based',
  session: 'a session',
} as const

/**
 * Refuse when the caller's own policies explicitly deny the STS action. (An implicit deny is not
 * enough: the role presets say nothing about sts:*, and issuing is always bounded by the parent.)
 * Answers in place when the caller's policies are in memory (the usual case: an await of an
 * answer already in hand costs a request a few microseconds in the server), and as a promise only
 * when they must be loaded first; either way it throws (or rejects) with the refusal.
 */
export function checkNotDenied(
  c: ActionContext,
  caller: KnownPrincipal,
  facts: RequestFacts,
): void | Promise<void> {
  const found = c.deps.iam.policiesFor(caller)
  if (found instanceof Promise) return found.then((policies) => refuseDenied(policies, facts))
  refuseDenied(found, facts)
}

function refuseDenied(policies: PrincipalPolicies, facts: RequestFacts): void {
  const { decision: d } = authorize({
    principal: facts.principal,
    policies,
    requirement: facts,
    context: facts.context,
  })
  // AWS STS words it with the resource unquoted (S3 quotes it): kept as STS clients see it.
  if (d.effect === 'deny' && d.explicit)
    throw new StsError(
      'AccessDenied',
      `User: ${facts.principal.arn} is not authorized to perform: ${facts.action} on resource: ${facts.resource} with an explicit deny in ${POLICY_TYPE[d.source]} policy`,
    )
}
