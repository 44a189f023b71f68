/**
 * The policy simulator behind POST /api/admin/policy/simulate and `latchkey policy simulate`:
 * compile the given documents, build RequestFacts from a principal ARN and a context, and run
 * the same authorize() the S3 path uses. Time comes in as `now` (no clock of its own); aws:CurrentTime
 * is written to the second, as every surface writes it (request-context.ts).
 * @module
 */
import { authorize, NO_POLICIES } from './authorize.js'
import { isoSeconds } from '../lib/time-format.js'
import { parsePolicy, type CompiledPolicy, type ParseOptions } from './document.js'
import { PolicyError, type Decision, type RequestFacts } from './types.js'

export interface SimulateInput {
  readonly policies: unknown[]
  readonly bucket_policy?: unknown
  readonly session_policy?: unknown
  /** Caller ARN: user, account root, assumed-role session, a bare account id, or "*" (anonymous). */
  readonly principal?: string
  readonly action: string
  readonly resource: string
  readonly context?: Record<string, string | string[]>
  /** Whether the principal's account owns the resource; default true (false for anonymous). */
  readonly sameAccount?: boolean
  /** Names reported in `matched` for `policies` (default `policies[i]`). */
  readonly policy_names?: string[]
}

export interface SimulateResult {
  readonly decision: 'allow' | 'explicit-deny' | 'implicit-deny'
  readonly reason: string
  readonly matched: { policy: string; sid: string; effect: 'Allow' | 'Deny' }[]
}

/** Used when no principal is given: a user of a placeholder account. */
export const DEFAULT_SIMULATED_PRINCIPAL = 'arn:aws:iam::123456789012:user/simulated-user'

const USER = /^arn:aws:iam::(\d{12}):user\/(?:[\w+=,.@-]+\/)*([\w+=,.@-]+)$/
const ROOT = /^arn:aws:iam::(\d{12}):root$/
const SESSION = /^arn:aws:sts::(\d{12}):assumed-role\/([\w+=,.@-]+)\/([\w+=,.@-]+)$/

interface SimPrincipal {
  readonly facts: RequestFacts['principal']
  /** Variables the caller implies (aws:username, aws:userid, …). */
  readonly vars: Record<string, string>
}

/** Turn a principal ARN into RequestFacts.principal plus the aws:* keys it implies. */
export function principalFromArn(arn: string): SimPrincipal {
  if (arn === '*' || arn === 'anonymous') {
    return { facts: { kind: 'anonymous', arn: '*' }, vars: { 'aws:principaltype': 'Anonymous' } }
  }
  let m: RegExpExecArray | null
  const acct = /^\d{12}$/.test(arn) ? arn : (m = ROOT.exec(arn)) ? (m[1] as string) : undefined
  if (acct !== undefined) {
    const a = `arn:aws:iam::${acct}:root`
    return {
      facts: { kind: 'account-root', arn: a, accountId: acct },
      vars: {
        'aws:principalaccount': acct,
        'aws:principalarn': a,
        'aws:userid': acct,
        'aws:principaltype': 'Account',
      },
    }
  }
  if ((m = USER.exec(arn))) {
    const [, account, username] = m as unknown as [string, string, string]
    return {
      facts: { kind: 'user', arn, accountId: account },
      vars: {
        'aws:principalaccount': account,
        'aws:principalarn': arn,
        'aws:username': username,
        'aws:userid': username,
        'aws:principaltype': 'User',
      },
    }
  }
  if ((m = SESSION.exec(arn))) {
    const [, account, role, session] = m as unknown as [string, string, string, string]
    return {
      facts: {
        kind: 'session',
        arn,
        accountId: account,
        parentArn: `arn:aws:iam::${account}:role/${role}`,
      },
      vars: {
        'aws:principalaccount': account,
        'aws:principalarn': arn,
        'aws:userid': `${role}:${session}`,
        'aws:principaltype': 'AssumedRole',
      },
    }
  }
  throw new PolicyError(
    `principal '${arn}' must be "*", an account id, or an arn:aws:iam::ACCOUNT:root / :user/NAME / arn:aws:sts::ACCOUNT:assumed-role/ROLE/SESSION ARN`,
  )
}

/** Build the lower-cased condition context: the caller's keys, then time, then the given context. */
export function buildContext(
  implied: Record<string, string>,
  given: Record<string, string | string[]> | undefined,
  now: number,
): Map<string, readonly string[]> {
  const ctx = new Map<string, readonly string[]>()
  for (const [k, v] of Object.entries(implied)) ctx.set(k, [v])
  ctx.set('aws:currenttime', [isoSeconds(now)])
  ctx.set('aws:epochtime', [String(Math.floor(now / 1000))])
  if (given !== undefined) {
    if (typeof given !== 'object' || given === null || Array.isArray(given)) {
      throw new PolicyError('context must be an object of key → value or [values]')
    }
    for (const [k, v] of Object.entries(given)) {
      const vals =
        typeof v === 'string'
          ? [v]
          : Array.isArray(v) && v.every((x) => typeof x === 'string')
            ? v
            : undefined
      if (vals === undefined)
        throw new PolicyError(`context key '${k}' must be a string or an array of strings`)
      ctx.set(k.toLowerCase(), vals)
    }
  }
  return ctx
}

/** parsePolicy, with the policy's name in front of any error. */
function named(doc: unknown, opts: ParseOptions): CompiledPolicy {
  try {
    return parsePolicy(doc, opts)
  } catch (e) {
    if (e instanceof PolicyError) throw new PolicyError(`${opts.name}: ${e.message}`)
    throw e
  }
}

function compileAll(input: SimulateInput): {
  identity: CompiledPolicy[]
  resource: CompiledPolicy | undefined
  session: CompiledPolicy[] | undefined
} {
  if (!Array.isArray(input.policies))
    throw new PolicyError('policies must be an array of IAM policy documents')
  const identity = input.policies.map((doc, i) =>
    named(doc, { kind: 'identity', name: input.policy_names?.[i] ?? `policies[${i}]` }),
  )
  const resource =
    input.bucket_policy === undefined || input.bucket_policy === null
      ? undefined
      : named(input.bucket_policy, { kind: 'resource', name: 'bucket_policy' })
  const session =
    input.session_policy === undefined || input.session_policy === null
      ? undefined
      : [named(input.session_policy, { kind: 'session', name: 'session_policy', maxLength: 2048 })]
  return { identity, resource, session }
}

/** Run the decision for a simulated request; also returns the raw Decision. */
export function simulateDecision(
  input: SimulateInput,
  now: number,
): { decision: Decision; facts: RequestFacts } {
  if (typeof input.action !== 'string' || input.action === '')
    throw new PolicyError('action must be a non-empty string')
  if (typeof input.resource !== 'string' || input.resource === '') {
    throw new PolicyError(
      'resource must be a non-empty string (an ARN such as arn:aws:s3:::bucket/key)',
    )
  }
  const p = principalFromArn(input.principal ?? DEFAULT_SIMULATED_PRINCIPAL)
  const { identity, resource, session } = compileAll(input)
  const anonymous = p.facts.kind === 'anonymous'
  const facts: RequestFacts = {
    action: input.action,
    resource: input.resource,
    principal: p.facts,
    context: buildContext(p.vars, input.context, now),
  }
  const { decision } = authorize({
    principal: p.facts,
    policies: anonymous ? NO_POLICIES : { identity, ...(session ? { session } : {}) },
    resourcePolicy: resource,
    sameAccount: input.sameAccount ?? !anonymous,
    requirement: facts,
    context: facts.context,
  })
  return { decision, facts }
}

const POLICY_TYPE = {
  identity: 'identity-based',
  resource: 'resource-based',
  session: 'session',
} as const

/** A one-line explanation of a decision. */
export function explain(d: Decision): string {
  if (d.effect === 'allow') {
    const kinds = [...new Set(d.matched.map((m) => POLICY_TYPE[m.source]))]
    return `allowed by ${kinds.join(' and ')} policy`
  }
  if (d.explicit)
    return `explicit deny in ${d.source === 'identity' ? 'an' : 'a'} ${POLICY_TYPE[d.source]} policy`
  switch (d.reason) {
    case 'no-identity-allow':
      return 'no identity-based policy allows the action'
    case 'no-resource-allow':
      return 'no resource-based policy allows the action'
    case 'session-policy-no-allow':
      return 'no session policy allows the action'
  }
}

/** The simulator answer (throws PolicyError on a malformed policy or input). */
export function simulate(input: SimulateInput, now: number): SimulateResult {
  const { decision } = simulateDecision(input, now)
  return {
    decision:
      decision.effect === 'allow' ? 'allow' : decision.explicit ? 'explicit-deny' : 'implicit-deny',
    reason: explain(decision),
    matched:
      decision.effect === 'allow' || decision.explicit
        ? decision.matched.map((m) => ({ policy: m.policy, sid: m.sid, effect: m.effect }))
        : [],
  }
}
