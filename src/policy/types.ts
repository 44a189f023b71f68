/**
 * The policy engine's public types. The engine (policy/*) is pure and synchronous: no I/O, no
 * clock of its own (time comes in through the condition context), no JSON parsing per request.
 * @module
 */

export type PolicyKind = 'identity' | 'resource' | 'session'

/** Where a policy came from; drives AccessDenied wording and the simulator's `matched` list. */
export type PolicySource =
  | 'identity' // role preset, user extra policy, master key's implicit policy
  | 'resource' // bucket policy
  | 'session' // inline session policy or PolicyArns of an STS session

export interface StatementRef {
  /** Human name of the policy ("role:Writer", "user-policy", "bucket-policy", "session-policy"). */
  readonly policy: string
  readonly source: PolicySource
  /** Statement Sid, or `#<index>` when it has none. */
  readonly sid: string
  readonly effect: 'Allow' | 'Deny'
}

/**
 * Facts about one request that statements are matched against. Condition keys are looked up
 * case-insensitively (store them lower-cased); each key maps to one or more string values.
 */
export interface RequestFacts {
  /** e.g. 's3:GetObject', 'sts:AssumeRole'. */
  readonly action: string
  /** ARN, e.g. 'arn:aws:s3:::bucket/key' or 'arn:aws:s3:::bucket'. */
  readonly resource: string
  readonly principal: {
    /** 'anonymous' principals have arn '*' and no account. */
    readonly kind: 'anonymous' | 'account-root' | 'user' | 'session'
    readonly arn: string
    readonly accountId?: string
    /** For bucket-policy Principal matching of sessions: the parent's ARN (AWS matches the role ARN too). */
    readonly parentArn?: string
  }
  /** Lower-cased condition key → values. Includes aws:username, aws:userid, aws:SourceIp, … */
  readonly context: ConditionContext
}

/**
 * Condition keys of a request, looked up by lower-cased name. Only `get` is used, so a request
 * may compute keys lazily (the S3 pipeline does: most requests meet no condition at all).
 */
export interface ConditionContext {
  get(key: string): readonly string[] | undefined
}

/** A matched statement set from evaluating one policy. */
export interface PolicyMatch {
  readonly allows: readonly StatementRef[]
  readonly denies: readonly StatementRef[]
}

export type Decision =
  | { readonly effect: 'allow'; readonly matched: readonly StatementRef[] }
  | {
      readonly effect: 'deny'
      readonly explicit: true
      readonly matched: readonly StatementRef[]
      /** Which kind of policy held the Deny that won (first one found). */
      readonly source: PolicySource
    }
  | {
      readonly effect: 'deny'
      readonly explicit: false
      /**
       * no-identity-allow: no identity policy allows (and no resource policy does in-account);
       * no-resource-allow: cross-account and the bucket policy does not allow;
       * session-policy-no-allow: the parent allowed it but the session policy does not.
       */
      readonly reason: 'no-identity-allow' | 'no-resource-allow' | 'session-policy-no-allow'
    }

/** Thrown by parsePolicy with a message naming what is wrong (MalformedPolicy/MalformedPolicyDocument). */
export class PolicyError extends Error {
  override readonly name = 'PolicyError'
}
