/**
 * Parameter validation for the STS actions, pure and table-testable. Limits come from botocore's
 * sts/2011-06-15 shapes (facts §2.2); messages use AWS's "N validation errors detected: Value …
 * at '<member>' failed to satisfy constraint: …; …" form so the caller sees which limits were
 * crossed: an action checks every parameter through one `Violations` and reports them all at once,
 * as AWS does, instead of one per round trip.
 * The session-policy length is checked here because the SDKs stopped checking it in 2023.
 * @module
 */
import { StsError, StsValidationError, quoteValue, validationError, violation } from './errors.js'
import { memberIndexes, memberList, memberStructs, type Params } from '../http/query-protocol.js'
import { dict } from '../lib/dict.js'
import { TAG_KEY_RE, TagError, parseSessionTags, tagValueCharsOk } from '../policy/upload-caps.js'

export const SESSION_NAME_RE = /^[\w+=,.@-]*$/
const EXTERNAL_ID_RE = /^[\w+=,.@:/-]*$/
// eslint-disable-next-line no-control-regex
const POLICY_CHARS_RE = /^[\u0009\u000A\u000D\u0020-\u00FF]+$/
const ARN_RE = /^arn:[\w+=/,.@-]+:[\w+=/,.@-]+:[\w+=/,.@-]*:[\w+=/,.@-]*:[\w+=,.@/-]+/
/** The packed-policy budget PackedPolicySize is a percentage of. */
export const PACKED_POLICY_BUDGET = 2048
export const MAX_SESSION_POLICY_LENGTH = 2048
/** Role chaining caps sessions at one hour, as AWS does. */
export const ROLE_CHAINING_MAX = 3600

/** Every violated constraint of one request, reported together by `throwIfAny`. */
export class Violations {
  private readonly found: string[] = []
  add(field: string, value: string | undefined, constraint: string): void {
    this.found.push(violation(field, value, constraint))
  }
  /** Run a check; the constraints a ValidationError from it names are recorded, not thrown. */
  check<T>(f: () => T): T | undefined {
    try {
      return f()
    } catch (e) {
      if (!(e instanceof StsValidationError)) throw e
      this.found.push(...e.violations)
      return undefined
    }
  }
  throwIfAny(): void {
    if (this.found.length > 0) throw new StsValidationError(this.found)
  }
}

export function requireString(params: Params, name: string, member: string): string {
  const v = params.get(name)
  if (v === undefined) throw validationError(member, undefined, 'Member must not be null')
  return v
}

export function checkSessionName(v: string, member = 'roleSessionName'): string {
  const out = new Violations()
  if (v.length < 2) out.add(member, v, 'Member must have length greater than or equal to 2')
  if (v.length > 64) out.add(member, v, 'Member must have length less than or equal to 64')
  if (!SESSION_NAME_RE.test(v))
    out.add(member, v, 'Member must satisfy regular expression pattern: [\\w+=,.@-]*')
  out.throwIfAny()
  return v
}

/**
 * DurationSeconds within [min, max]; undefined when absent. `maxSource` names where the maximum
 * comes from when it is the operator's (the --sts-max-duration flag), so the refusal says which
 * knob to turn.
 */
export function parseDuration(
  params: Params,
  min: number,
  max: number,
  maxSource?: string,
): number | undefined {
  const v = params.get('DurationSeconds')
  if (v === undefined || v === '') return undefined
  if (!/^-?\d{1,15}$/.test(v))
    throw validationError('durationSeconds', v, 'Member must be an integer')
  const n = Number(v)
  if (n < min)
    throw validationError(
      'durationSeconds',
      v,
      `Member must have value greater than or equal to ${min}`,
    )
  if (n > max)
    throw validationError(
      'durationSeconds',
      v,
      `Member must have value less than or equal to ${max}${maxSource === undefined ? '' : ` (${maxSource})`}`,
    )
  return n
}

/** Inline session policy: length and character set (its grammar is the policy engine's job). */
export function checkPolicyText(v: string): string {
  if (v.length < 1)
    throw validationError('policy', v, 'Member must have length greater than or equal to 1')
  // The policy itself is not echoed (it can be 2 KB): AWS's "Value at 'policy'" form.
  const out: string[] = []
  if (v.length > MAX_SESSION_POLICY_LENGTH)
    out.push(
      `Value at 'policy' failed to satisfy constraint: Member must have length less than or equal to ${MAX_SESSION_POLICY_LENGTH} (got ${v.length})`,
    )
  if (!POLICY_CHARS_RE.test(v))
    out.push(
      "Value at 'policy' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\u0009\\u000A\\u000D\\u0020-\\u00FF]+",
    )
  if (out.length > 0) throw new StsValidationError(out)
  return v
}

export function checkExternalId(v: string): string {
  const out = new Violations()
  if (v.length < 2) out.add('externalId', v, 'Member must have length greater than or equal to 2')
  if (v.length > 1224)
    out.add('externalId', v, 'Member must have length less than or equal to 1224')
  if (!EXTERNAL_ID_RE.test(v))
    out.add('externalId', v, 'Member must satisfy regular expression pattern: [\\w+=,.@:\\/-]*')
  out.throwIfAny()
  return v
}

export function checkSourceIdentity(v: string): string {
  if (v.length < 2)
    throw validationError('sourceIdentity', v, 'Member must have length greater than or equal to 2')
  if (v.length > 64)
    throw validationError('sourceIdentity', v, 'Member must have length less than or equal to 64')
  if (v.toLowerCase().startsWith('aws:'))
    throw new StsError('ValidationError', "SourceIdentity must not start with the prefix 'aws:'")
  if (!SESSION_NAME_RE.test(v))
    throw validationError(
      'sourceIdentity',
      v,
      'Member must satisfy regular expression pattern: [\\w+=,.@-]*',
    )
  return v
}

/** Session tags: ≤ 50, key 1..128, value 0..256, keys unique case-insensitively. */
export function parseTags(params: Params): Record<string, string> {
  const items = memberStructs(params, 'Tags', ['Key', 'Value'])
  if (items.length > 50)
    throw validationError(
      'tags',
      `${items.length} tags`,
      'Member must have length less than or equal to 50',
    )
  const out = dict<string>() // a `__proto__` tag key is a key like any other (lib/dict.ts)
  // No tags and no TransitiveTagKeys (the usual AssumeRole): nothing else to check or build.
  if (items.length === 0 && memberIndexes(params, 'TransitiveTagKeys').length === 0) return out
  const seen = new Set<string>()
  for (const [i, t] of items.entries()) {
    const key = t['Key']
    const value = t['Value'] ?? ''
    const at = `tags.${i + 1}.member`
    if (key === undefined) throw validationError(`${at}.key`, undefined, 'Member must not be null')
    if (key.length < 1 || key.length > 128)
      throw validationError(`${at}.key`, key, 'Member must have length between 1 and 128')
    if (!TAG_KEY_RE.test(key))
      throw validationError(
        `${at}.key`,
        key,
        'Member must satisfy regular expression pattern: [\\p{L}\\p{Z}\\p{N}_.:/=+\\-@]+',
      )
    if (value.length > 256)
      throw validationError(
        `${at}.value`,
        value,
        'Member must have length less than or equal to 256',
      )
    if (!tagValueCharsOk(key, value))
      throw validationError(
        `${at}.value`,
        value,
        'Member must satisfy regular expression pattern: [\\p{L}\\p{Z}\\p{N}_.:/=+\\-@]*',
      )
    const lower = key.toLowerCase()
    if (seen.has(lower))
      throw new StsError(
        'ValidationError',
        'Duplicate tag keys found. Please note that Tag keys are case insensitive.',
      )
    seen.add(lower)
    out[key] = value
  }
  const transitive = memberList(params, 'TransitiveTagKeys')
  if (transitive.length > 50)
    throw validationError(
      'transitiveTagKeys',
      `${transitive.length} keys`,
      'Member must have length less than or equal to 50',
    )
  for (const k of transitive)
    if (!seen.has(k.toLowerCase()))
      throw new StsError(
        'ValidationError',
        `The key '${k}' in TransitiveTagKeys is not in the session tags.`,
      )
  // The reserved latchkey:* keys (upload caps): a bad value is a ValidationError naming the tag.
  try {
    parseSessionTags(out)
  } catch (e) {
    if (e instanceof TagError) throw new StsError('ValidationError', e.message)
    throw e
  }
  return out
}

/** TransitiveTagKeys as given (parseTags has checked them against the tags). */
export function parseTransitiveTagKeys(params: Params): string[] {
  return memberList(params, 'TransitiveTagKeys')
}

/** PolicyArns.member.N.arn: ≤ 10 well-formed ARNs (20..2048). */
export function parsePolicyArns(params: Params): string[] {
  const items = memberStructs(params, 'PolicyArns', ['arn'])
  if (items.length > 10)
    throw validationError(
      'policyArns',
      `${items.length} ARNs`,
      'Member must have length less than or equal to 10',
    )
  return items.map((it, i) => {
    const arn = it['arn']
    const at = `policyArns.${i + 1}.member.arn`
    if (arn === undefined) throw validationError(at, undefined, 'Member must not be null')
    if (arn.length < 20)
      throw validationError(at, arn, 'Member must have length greater than or equal to 20')
    if (arn.length > 2048)
      throw validationError(at, arn, 'Member must have length less than or equal to 2048')
    if (!ARN_RE.test(arn)) throw new StsError('ValidationError', `${arn} is not a valid ARN.`)
    return arn
  })
}

/** MFA parameters: accepted and shape-checked (botocore's limits); no role here demands MFA. */
export function checkMfa(params: Params): void {
  const out = new Violations()
  const serial = params.get('SerialNumber')
  if (serial !== undefined && serial.length < 9)
    out.add('serialNumber', serial, 'Member must have length greater than or equal to 9')
  if (serial !== undefined && serial.length > 256)
    out.add('serialNumber', serial, 'Member must have length less than or equal to 256')
  const code = params.get('TokenCode')
  if (code !== undefined && code.length < 6)
    out.add('tokenCode', code, 'Member must have length greater than or equal to 6')
  if (code !== undefined && code.length > 6)
    out.add('tokenCode', code, 'Member must have length less than or equal to 6')
  if (code !== undefined && !/^\d*$/.test(code))
    out.add('tokenCode', code, 'Member must satisfy regular expression pattern: [\\d]*')
  out.throwIfAny()
}

export type RoleArnKind =
  | { readonly kind: 'none' } // absent or a placeholder: the session acts for the caller
  | {
      readonly kind: 'role'
      readonly arn: string
      readonly accountId: string
      readonly name: string
    }

const ROLE_ARN_RE = /^arn:aws[\w-]*:iam::(\d{12}):role\/(?:[\u0021-\u007E]+\/)?([\w+=,.@-]{1,64})$/

/**
 * RoleArn: absent, or any value that does not claim to be an IAM ARN (4EVERLAND omits it, Lyve
 * sends `Required1`, MinIO examples send `arn:xxx:xxx:xxx:xxxx`) → the caller. Something that
 * claims to be an IAM ARN must be a well-formed role ARN (the caller then decides; no role exists).
 */
export function classifyRoleArn(v: string | undefined): RoleArnKind {
  if (v === undefined || v === '') return { kind: 'none' }
  if (!/^arn:aws[\w-]*:iam:/.test(v)) return { kind: 'none' }
  if (v.length < 20)
    throw validationError('roleArn', v, 'Member must have length greater than or equal to 20')
  if (v.length > 2048)
    throw validationError('roleArn', v, 'Member must have length less than or equal to 2048')
  const m = ROLE_ARN_RE.exec(v)
  if (m === null)
    throw new StsError(
      'ValidationError',
      `${quoteValue(v)} is not a valid role ARN (arn:aws:iam::ACCOUNT:role/NAME).`,
    )
  return { kind: 'role', arn: v, accountId: m[1] ?? '', name: m[2] ?? '' }
}

/**
 * PackedPolicySize: the percentage of the packed budget used by the session policy (compact
 * JSON), the managed policy ARNs and the tags, rounded up. Over 100 → PackedPolicyTooLarge.
 */
export function packedPolicySize(
  policyCompact: string | undefined,
  policyArns: readonly string[],
  tags: Readonly<Record<string, string>>,
): number {
  let size = policyCompact?.length ?? 0
  for (const a of policyArns) size += a.length
  for (const [k, v] of Object.entries(tags)) size += k.length + v.length
  return Math.ceil((size * 100) / PACKED_POLICY_BUDGET)
}

export function checkPacked(percent: number): void {
  if (percent > 100)
    throw new StsError(
      'PackedPolicyTooLarge',
      `Packed policy consumes ${percent}% of allotted space, please use smaller policy and/or tags.`,
    )
}
