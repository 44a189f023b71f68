/**
 * One "may this principal do this": the S3 pipeline, STS's policy gate, the admin API and the
 * simulator all ask here, so "load the policies, build the facts, decide, word the denial" exists
 * once. The engine (`decide`) stays pure; this adds the same-account rule and the AccessDenied
 * text AWS gives (detailed for callers in the resource's own account, plain 'Access Denied' for
 * anonymous and cross-account callers, so no policy details leak).
 * @module
 */
import { decide, type DecideInput } from './combine.js'
import { accessDeniedMessage } from './describe.js'
import type { CompiledPolicy } from './document.js'
import type { PrincipalPolicies } from './principal-policies.js'
import type { ConditionContext, Decision, RequestFacts } from './types.js'

/** What a request needs: one action on one resource ARN. */
export interface Requirement {
  readonly action: string
  readonly resource: string
}

export interface AuthorizeInput {
  /** The caller as the engine matches it (request-context.ts `principalFacts`). */
  readonly principal: RequestFacts['principal']
  /** The caller's policies (anonymous callers have none: `{ identity: [] }`). */
  readonly policies: PrincipalPolicies
  /** The resource's policy (a bucket policy), if it has one. */
  readonly resourcePolicy?: CompiledPolicy | undefined
  /** The account that owns the resource; omitted when it is the caller's own (STS, admin). */
  readonly resourceAccountId?: string | undefined
  /** States the same-account question outright (the simulator); else derived from the accounts. */
  readonly sameAccount?: boolean
  readonly requirement: Requirement
  readonly context: ConditionContext
  /** An S3 ACL grant covers the request (combine.ts DecideInput.aclAllow). */
  readonly aclAllow?: boolean
}

export interface Authorization {
  readonly decision: Decision
  /** The AccessDenied message to show, when the decision is a deny. */
  readonly denial?: string
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] }

export const NO_POLICIES: PrincipalPolicies = { identity: [] }

export function authorize(i: AuthorizeInput): Authorization {
  const p = i.principal
  const sameAccount =
    i.sameAccount ??
    (p.kind !== 'anonymous' &&
      (i.resourceAccountId === undefined || i.resourceAccountId === p.accountId))
  const pol = i.policies
  // Built whole, absent fields added only when present (no spread temporaries): every request
  // that is authorized passes here, often twice.
  const input: Mutable<DecideInput> = {
    identity: pol.identity,
    sameAccount,
    facts: {
      action: i.requirement.action,
      resource: i.requirement.resource,
      principal: p,
      context: i.context,
    },
  }
  if (i.resourcePolicy !== undefined) input.resource = i.resourcePolicy
  if (pol.session !== undefined) input.session = pol.session
  if (pol.sessionLayers !== undefined) input.sessionLayers = pol.sessionLayers
  if (i.aclAllow === true) input.aclAllow = true
  const decision = decide(input)
  if (decision.effect === 'allow') return { decision }
  // Cross-account and anonymous callers get the plain message, as AWS does (no policy details leak).
  const denial =
    p.kind === 'anonymous' || !sameAccount
      ? 'Access Denied'
      : accessDeniedMessage(p.arn, i.requirement.action, i.requirement.resource, decision)
  return { decision, denial }
}
