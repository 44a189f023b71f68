/**
 * The `aws:*` condition keys of a request, built once for every surface (S3, STS, admin, the
 * simulator) so a policy means the same thing wherever it is evaluated. Surfaces layer their own
 * keys (`s3:*`, `sts:*`) and the requirement's keys on top (`RequestConditionKeys`).
 *
 * The keys follow AWS's "AWS global condition context keys" page
 * (docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-keys.html):
 * - aws:username: "always included in the request context for IAM users. Anonymous requests and
 *   requests that are made using the AWS account root user or IAM roles don't include this key."
 *   So an assumed-role session has none (even one made from a user); a GetSessionToken session is
 *   its user (AWS shows it as the IAM user, arn:aws:iam::…:user/NAME) and keeps it.
 * - aws:CurrentTime, aws:TokenIssueTime: ISO 8601 to the second, as AWS shows them
 *   (2026-12-03T09:00:00Z; request-context examples on that page carry no milliseconds).
 * - aws:SourceIp: the client's IP address; an IPv4 client on a dual-stack socket is reported as
 *   IPv4 (Node shows it as `::ffff:a.b.c.d`), so `IpAddress` conditions written for IPv4 match.
 * - aws:Referer, aws:UserAgent: the HTTP headers, on every surface when sent.
 * - aws:PrincipalTag/<key>: a session's tags (AssumeRole Tags, inherited transitive tags, the
 *   effective `latchkey:*` upload caps); keys match case-insensitively, as AWS tag keys do.
 * Computed lazily and memoised: most requests meet no condition at all.
 * @module
 */
import {
  parentArn,
  principalArn,
  principalType,
  principalUserId,
  type Principal,
} from '../auth/principal.js'
import type { ConditionContext, RequestFacts } from './types.js'
import { isoSeconds } from '../lib/time-format.js'

/** What the aws:* keys are computed from; the surfaces fill it from their request. */
export interface RequestInfo {
  readonly principal: Principal
  readonly remoteAddress: string
  readonly secure: boolean
  readonly headers: Readonly<Record<string, string | undefined>>
  /** Read once per key that needs it (the S3 pipeline passes its request clock). */
  readonly now: () => number
}

/** The principal as the engine matches it (kind, ARN, account, a session's parent). */
export function principalFacts(p: Principal, arn = principalArn(p)): RequestFacts['principal'] {
  if (p.kind === 'anonymous') return { kind: 'anonymous', arn }
  if (p.kind === 'session') {
    // Once per session principal (readonly, one per session-cache entry) and ARN: a session's
    // every request is authorized, and its parent's ARN is a string to build.
    const got = factsOf.get(p)
    if (got !== undefined && got.arn === arn) return got
    const facts = { kind: p.kind, arn, accountId: p.accountId, parentArn: parentArn(p.parent) }
    factsOf.set(p, facts)
    return facts
  }
  return { kind: p.kind, arn, accountId: p.accountId }
}

const factsOf = new WeakMap<object, RequestFacts['principal']>()

/** An IPv4-mapped IPv6 address (`::ffff:10.0.0.1`) as the IPv4 address it is. */
export function normalizeIp(addr: string): string {
  return addr.startsWith('::ffff:') ? addr.slice(7) : addr
}

/** aws:username per AWS: IAM users (and a user's GetSessionToken session), never roles or root. */
export function awsUsername(p: Principal): string | undefined {
  if (p.kind === 'user') return p.username
  if (p.kind === 'session' && p.asParent === true && p.parent.kind === 'user')
    return p.parent.username
  return undefined
}

const PRINCIPAL_TAG = 'aws:principaltag/'

/** A session tag by lower-cased key (tag keys are case-insensitive, ≤ 50 of them). */
function principalTag(
  tags: Readonly<Record<string, string>>,
  lowerKey: string,
): string | undefined {
  for (const [k, v] of Object.entries(tags)) if (k.toLowerCase() === lowerKey) return v
  return undefined
}

/** One aws:* key (lower-cased name), or undefined when the request has none. */
export function awsKey(key: string, info: RequestInfo, arn: string): string | undefined {
  const p = info.principal
  switch (key) {
    case 'aws:sourceip':
      return normalizeIp(info.remoteAddress)
    case 'aws:securetransport':
      return info.secure ? 'true' : 'false'
    case 'aws:currenttime':
      return isoSeconds(info.now())
    case 'aws:epochtime':
      return String(Math.floor(info.now() / 1000))
    case 'aws:useragent':
      return info.headers['user-agent']
    case 'aws:referer':
      return info.headers['referer']
    case 'aws:principalaccount':
      return p.kind === 'anonymous' ? undefined : p.accountId
    case 'aws:principalarn':
      return p.kind === 'anonymous' ? undefined : arn
    case 'aws:userid':
      return p.kind === 'anonymous' ? undefined : principalUserId(p)
    case 'aws:principaltype':
      return principalType(p)
    case 'aws:username':
      return awsUsername(p)
    case 'aws:tokenissuetime':
      return p.kind === 'session' ? isoSeconds(p.issuedAt) : undefined
    default:
      if (key.startsWith(PRINCIPAL_TAG) && p.kind === 'session' && p.tags !== undefined)
        return principalTag(p.tags, key.slice(PRINCIPAL_TAG.length))
      return undefined
  }
}

/** A surface's own keys (`s3:*`, `sts:*`): values for a lower-cased key, or undefined. */
export type SurfaceKeys = (key: string) => readonly string[] | undefined

/** Keys the requirement itself carries (s3:prefix, sts:DurationSeconds, …), any case. */
export type RequirementKeys = Readonly<Record<string, string | readonly string[]>>

/**
 * The condition context of one request: the requirement's keys first, then the surface's, then
 * aws:*. Lower-cased lookups, each computed at most once.
 */
export class RequestConditionKeys implements ConditionContext {
  private readonly info: RequestInfo
  private readonly arn: string
  private readonly requirement: RequirementKeys | undefined
  private readonly surface: SurfaceKeys | undefined
  private memo: Map<string, readonly string[] | undefined> | undefined

  constructor(
    info: RequestInfo,
    opts: {
      readonly arn?: string
      readonly requirement?: RequirementKeys | undefined
      readonly surface?: SurfaceKeys
    } = {},
  ) {
    this.info = info
    this.arn = opts.arn ?? principalArn(info.principal)
    this.requirement = opts.requirement
    this.surface = opts.surface
  }

  get(key: string): readonly string[] | undefined {
    this.memo ??= new Map()
    if (this.memo.has(key)) return this.memo.get(key)
    const v = this.compute(key)
    this.memo.set(key, v)
    return v
  }

  private compute(key: string): readonly string[] | undefined {
    if (this.requirement !== undefined) {
      for (const [k, v] of Object.entries(this.requirement))
        if (k.toLowerCase() === key) return typeof v === 'string' ? [v] : [...v]
    }
    if (this.surface !== undefined && !key.startsWith('aws:')) return this.surface(key)
    const v = awsKey(key, this.info, this.arn)
    return v === undefined ? undefined : [v]
  }
}
