/**
 * Combine identity, bucket and session policies into one Decision, as AWS documents it:
 * an explicit Deny anywhere wins; within an account identity and resource grants are unioned;
 * across accounts both are needed (anonymous callers only have the bucket policy); a session's
 * identity grants are intersected with its session policy, and so are bucket-policy grants that
 * name its parent rather than the session itself. The result never depends on the order of
 * statements or policies (the matched lists are sorted).
 * @module
 */
import type { CompiledPolicy } from './document.js'
import { newScan, scanPolicy, type Scan } from './evaluate.js'
import type { Decision, PolicySource, RequestFacts, StatementRef } from './types.js'

export interface DecideInput {
  /** Identity-based policies; empty for anonymous callers. */
  readonly identity: readonly CompiledPolicy[]
  /** The bucket policy. */
  readonly resource?: CompiledPolicy
  /** Session policies; undefined = no session policy applies. */
  readonly session?: readonly CompiledPolicy[]
  /** The principal's account owns the resource. */
  readonly sameAccount: boolean
  readonly facts: RequestFacts
}

const SOURCE_ORDER: Readonly<Record<PolicySource, number>> = { identity: 0, session: 1, resource: 2 }

function byRef(a: StatementRef, b: StatementRef): number {
  return (
    SOURCE_ORDER[a.source] - SOURCE_ORDER[b.source] ||
    (a.policy < b.policy ? -1 : a.policy > b.policy ? 1 : 0) ||
    (a.sid < b.sid ? -1 : a.sid > b.sid ? 1 : 0) ||
    (a.effect < b.effect ? -1 : a.effect > b.effect ? 1 : 0)
  )
}

function sorted(list: StatementRef[]): StatementRef[] {
  return list.length > 1 ? list.sort(byRef) : list
}

function concat(...lists: (StatementRef[] | undefined)[]): StatementRef[] {
  const out: StatementRef[] = []
  for (const l of lists) if (l !== undefined) for (const r of l) out.push(r)
  return out
}

export function decide(input: DecideInput): Decision {
  const { facts } = input
  const id = newScan()
  for (const p of input.identity) scanPolicy(p, facts, id)
  let ses: Scan | undefined
  if (input.session !== undefined) {
    ses = newScan()
    for (const p of input.session) scanPolicy(p, facts, ses)
  }
  let res: Scan | undefined
  if (input.resource !== undefined) {
    res = newScan()
    scanPolicy(input.resource, facts, res)
  }

  // 1. explicit deny anywhere
  if (id.denies || ses?.denies || res?.denies) {
    // report one source, resource-based first (the usual "why can't I?"), then identity, session
    const source: PolicySource = res?.denies ? 'resource' : id.denies ? 'identity' : 'session'
    return { effect: 'deny', explicit: true, source, matched: sorted(concat(id.denies, ses?.denies, res?.denies)) }
  }

  // 2. allows
  const sessionAllows = ses === undefined || ses.allows !== undefined
  const identityAllow = id.allows !== undefined
  const identityAllowed = identityAllow && sessionAllows
  const resourceAllowed =
    res !== undefined && (res.allowDirect || (res.allowViaParent && sessionAllows))
  const anonymous = facts.principal.kind === 'anonymous'
  const allowed = anonymous
    ? resourceAllowed
    : input.sameAccount
      ? identityAllowed || resourceAllowed
      : identityAllowed && resourceAllowed
  if (allowed) {
    const matched = concat(
      identityAllowed ? id.allows : undefined,
      identityAllowed || (res?.allowViaParent ?? false) ? ses?.allows : undefined,
      resourceAllowed ? res?.allows : undefined,
    )
    return { effect: 'allow', matched: sorted(matched) }
  }

  // 3. implicit deny, with the most useful reason
  if (identityAllow && !sessionAllows && !anonymous) {
    return { effect: 'deny', explicit: false, reason: 'session-policy-no-allow' }
  }
  if (anonymous || (!input.sameAccount && identityAllowed)) {
    return { effect: 'deny', explicit: false, reason: 'no-resource-allow' }
  }
  return { effect: 'deny', explicit: false, reason: 'no-identity-allow' }
}
