/**
 * One compiled policy × one request → the statements that apply (Allow and Deny). Pure and
 * allocation-light: the per-action statement list is cached on the policy, and result arrays
 * are created only when something matches. Principal matching (bucket policies) also reports
 * *how* a session matched, because a grant to the parent (role/user/account) is still limited
 * by the session policy while a grant naming the session ARN is not (combine.ts).
 * @module
 */
import type { CompiledPolicy, CompiledStatement, PrincipalSpec } from './document.js'
import type { PolicyMatch, RequestFacts, StatementRef } from './types.js'

/** Principal match strength. */
export const NO_MATCH = 0
/** `*`, the principal's own ARN, or (non-sessions) its account. */
export const DIRECT = 1
/** A session matched through its parent ARN, its role, or its account. */
export const VIA_PARENT = 2
export type PrincipalMatchKind = typeof NO_MATCH | typeof DIRECT | typeof VIA_PARENT

type FactsPrincipal = RequestFacts['principal']

function listMatch(spec: PrincipalSpec, p: FactsPrincipal): PrincipalMatchKind {
  if (spec.any) return DIRECT
  if (p.kind === 'anonymous') return NO_MATCH
  if (spec.arns.has(p.arn)) return DIRECT
  const session = p.kind === 'session'
  if (p.parentArn !== undefined && spec.arns.has(p.parentArn)) return session ? VIA_PARENT : DIRECT
  if (session) {
    for (const pre of spec.rolePrefixes) if (p.arn.startsWith(pre)) return VIA_PARENT
  }
  if (p.accountId !== undefined && spec.accounts.has(p.accountId))
    return session ? VIA_PARENT : DIRECT
  return NO_MATCH
}

/** How the statement's Principal/NotPrincipal covers the caller (identity statements: DIRECT). */
export function principalMatch(st: CompiledStatement, p: FactsPrincipal): PrincipalMatchKind {
  const spec = st.principal
  if (spec === undefined) return DIRECT
  const m = listMatch(spec, p)
  if (!st.notPrincipal) return m
  // NotPrincipal: everyone except the listed principals (and, like AWS, a listed parent
  // excludes its sessions too)
  return m === NO_MATCH ? DIRECT : NO_MATCH
}

function conditionsHold(st: CompiledStatement, facts: RequestFacts): boolean {
  const cs = st.conditions
  for (let i = 0; i < cs.length; i++)
    if (!(cs[i] as (c: RequestFacts['context']) => boolean)(facts.context)) return false
  return true
}

/** Mutable accumulator for one group of policies (combine.ts reuses it across a group). */
export interface Scan {
  allows: StatementRef[] | undefined
  denies: StatementRef[] | undefined
  /** Some Allow matched the principal directly. */
  allowDirect: boolean
  /** Some Allow matched only through the session's parent. */
  allowViaParent: boolean
}

export function newScan(): Scan {
  return { allows: undefined, denies: undefined, allowDirect: false, allowViaParent: false }
}

/** Add the statements of `p` that apply to the request to `acc`. */
export function scanPolicy(p: CompiledPolicy, facts: RequestFacts, acc: Scan): void {
  const list = p.statementsFor(facts.action, facts.resource)
  for (let i = 0; i < list.length; i++) {
    const st = list[i] as CompiledStatement
    const pm = principalMatch(st, facts.principal)
    if (pm === NO_MATCH) continue
    if (!st.matchesResource(facts.resource, facts.context)) continue
    if (!conditionsHold(st, facts)) continue
    if (st.effect === 'Deny') (acc.denies ??= []).push(st.ref)
    else {
      ;(acc.allows ??= []).push(st.ref)
      if (pm === DIRECT) acc.allowDirect = true
      else acc.allowViaParent = true
    }
  }
}

const NONE: readonly StatementRef[] = Object.freeze([])

/** Evaluate one policy against a request: the Allow and Deny statements that apply. */
export function evaluatePolicy(p: CompiledPolicy, facts: RequestFacts): PolicyMatch {
  const acc = newScan()
  scanPolicy(p, facts, acc)
  return { allows: acc.allows ?? NONE, denies: acc.denies ?? NONE }
}
