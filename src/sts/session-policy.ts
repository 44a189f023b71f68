/**
 * Session policies for AssumeRole: the inline Policy (validated by the policy engine as a
 * `session` policy) and PolicyArns resolved from a small catalogue of AWS-managed S3 policies.
 * Compiled policies are cached by text (bounded) because scripts send the same policy over and
 * over, and compiling is the most expensive step of an AssumeRole (lib/lru.ts, the LRU every
 * cache here uses).
 * An unknown managed ARN is a ValidationError with IAM's "does not exist or is not attachable"
 * wording (AWS has no named-policy store here to say NoSuchEntity from).
 * @module
 */
import { sha256Hex } from '../crypto/hash.js'
import { Lru } from '../lib/lru.js'
import { parsePolicy, type CompiledPolicy } from '../policy/document.js'
import { StsError } from './errors.js'
import { MAX_SESSION_POLICY_LENGTH } from './validate.js'

/** The AWS-managed policies PolicyArns may name (their documents as AWS publishes them). */
export const MANAGED_POLICIES: Readonly<Record<string, string>> = {
  'arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess': JSON.stringify({
    Version: '2012-10-17',
    Statement: [
      {
        Effect: 'Allow',
        Action: [
          's3:Get*',
          's3:List*',
          's3:Describe*',
          's3-object-lambda:Get*',
          's3-object-lambda:List*',
        ],
        Resource: '*',
      },
    ],
  }),
  'arn:aws:iam::aws:policy/AmazonS3FullAccess': JSON.stringify({
    Version: '2012-10-17',
    Statement: [{ Effect: 'Allow', Action: ['s3:*', 's3-object-lambda:*'], Resource: '*' }],
  }),
}

/** Distinct inline policies kept compiled; managed ones live in their own small map. */
export const SESSION_POLICY_CACHE_MAX = 512

interface Compiled {
  readonly policy: CompiledPolicy
  /** SHA-256 (hex) of the text as sent, for the audit trail; computed on first use. */
  sha256?: string
}

/**
 * Keyed by the policy text itself, not by a digest of it: the lookup hashes the very string the
 * form decoder produced (V8 keeps a string's hash, so the audit's second lookup is free), and a
 * different text can never meet another's compiled form, not even through a digest collision.
 */
const inline = new Lru<string, Compiled>(SESSION_POLICY_CACHE_MAX)
const managed = new Map<string, CompiledPolicy>()

function compiledInline(text: string): Compiled {
  const hit = inline.get(text)
  if (hit !== undefined) return hit
  const c: Compiled = {
    policy: parsePolicy(text, {
      kind: 'session',
      name: 'session-policy',
      source: 'session',
      maxLength: MAX_SESSION_POLICY_LENGTH,
      // Kept with every session minted with it: its text, and its statements while in use.
      releasable: true,
    }),
  }
  // Only valid policies are kept: a bad one throws above and is parsed (and refused) each time.
  inline.set(text, c)
  return c
}

/**
 * Compile an inline session policy; PolicyError (→ MalformedPolicyDocument) on bad grammar.
 * Callers check the text with validate.ts `checkPolicyText` first (AssumeRole does), so every
 * text in the cache has passed it: see `isCompiledSessionPolicy`.
 */
export function compileSessionPolicy(text: string): CompiledPolicy {
  return compiledInline(text).policy
}

/**
 * True when this exact text is compiled in the cache, hence already passed `checkPolicyText`
 * (and the policy grammar) once: AssumeRole then skips the character scan of its kilobyte. The
 * lookup hashes the string, which V8 keeps, so the compile step's lookup after it costs little.
 */
export function isCompiledSessionPolicy(text: string): boolean {
  return inline.get(text) !== undefined
}

/**
 * SHA-256 (hex) of a session policy's text as sent, which the audit trail records instead of the
 * text: hashed once per distinct policy while it stays in the cache (the same policy minted again
 * costs a lookup, not a hash of its kilobyte).
 */
export function sessionPolicySha256(text: string): string {
  const hit = inline.get(text)
  if (hit === undefined) return sha256Hex(text)
  return (hit.sha256 ??= sha256Hex(text))
}

/** How many inline policies are cached now (tests). */
export function sessionPolicyCacheSize(): number {
  return inline.size
}

/** Resolve PolicyArns to compiled session policies. */
export function resolveManagedPolicies(arns: readonly string[]): CompiledPolicy[] {
  return arns.map((arn) => {
    const text = Object.hasOwn(MANAGED_POLICIES, arn) ? MANAGED_POLICIES[arn] : undefined
    if (text === undefined)
      throw new StsError('ValidationError', `Policy ${arn} does not exist or is not attachable.`)
    const name = arn.slice(arn.lastIndexOf('/') + 1)
    let p = managed.get(arn)
    if (p === undefined) {
      p = parsePolicy(text, { kind: 'session', name, source: 'session' })
      managed.set(arn, p)
    }
    return p
  })
}
