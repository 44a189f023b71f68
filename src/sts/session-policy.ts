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

const CACHE_MAX = 512
const cache = new Lru<string, CompiledPolicy>(CACHE_MAX)

function cached(key: string, make: () => CompiledPolicy): CompiledPolicy {
  const hit = cache.get(key)
  if (hit !== undefined) return hit
  const p = make()
  cache.set(key, p)
  return p
}

/** Compile an inline session policy; PolicyError (→ MalformedPolicyDocument) on bad grammar. */
export function compileSessionPolicy(text: string): CompiledPolicy {
  return cached(`inline\u0000${text}`, () =>
    parsePolicy(text, {
      kind: 'session',
      name: 'session-policy',
      source: 'session',
      maxLength: MAX_SESSION_POLICY_LENGTH,
    }),
  )
}

/** Resolve PolicyArns to compiled session policies. */
export function resolveManagedPolicies(arns: readonly string[]): CompiledPolicy[] {
  return arns.map((arn) => {
    const text = Object.hasOwn(MANAGED_POLICIES, arn) ? MANAGED_POLICIES[arn] : undefined
    if (text === undefined)
      throw new StsError('ValidationError', `Policy ${arn} does not exist or is not attachable.`)
    const name = arn.slice(arn.lastIndexOf('/') + 1)
    return cached(`managed\u0000${arn}`, () =>
      parsePolicy(text, { kind: 'session', name, source: 'session' }),
    )
  })
}
