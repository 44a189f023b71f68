/**
 * Browser POST uploads with a SigV4-signed POST policy
 * (https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-HTTPPOSTConstructPolicy.html,
 * sigv4-authentication-HTTPPOST.html). The signature is HMAC(signingKey, base64 policy); the
 * policy's conditions then bound every form field and the upload size.
 *
 * Field maps use lower-case names. The caller adds `bucket` (the target bucket) to the map so
 * `{"bucket": ...}` conditions can be checked; `bucket` itself never counts as an extra field.
 * @module
 */
import { AuthError } from '../errors.js'
import { decodeBase64Strict } from '../../lib/base64.js'
import { parseAmzDate, parseCredential } from './parse.js'
import { hmacSha256, ALGORITHM, type Scope } from './string-to-sign.js'
import { signatureEquals } from './verify.js'

export type PostCondition =
  | { readonly kind: 'eq'; readonly field: string; readonly value: string }
  | { readonly kind: 'starts-with'; readonly field: string; readonly prefix: string }
  | { readonly kind: 'content-length-range'; readonly min: number; readonly max: number }

export interface PostPolicy {
  /** ms epoch */
  readonly expiration: number
  readonly conditions: readonly PostCondition[]
}

export interface PostAuth {
  readonly accessKeyId: string
  readonly scope: Scope
  readonly amzDate: string
  readonly requestTime: number
  readonly signature: string
  readonly policyB64: string
  readonly sessionToken?: string
}

const MAX_POLICY_B64 = 64 * 1024
const UNSUPPORTED_MECHANISM =
  'The authorization mechanism you have provided is not supported. Please use AWS4-HMAC-SHA256.'

function lower(fields: ReadonlyMap<string, string>): Map<string, string> {
  const m = new Map<string, string>()
  for (const [k, v] of fields) m.set(k.toLowerCase(), v)
  return m
}

/** True when the form carries any POST-policy signature material (else: anonymous POST). */
export function hasPostAuth(fields: ReadonlyMap<string, string>): boolean {
  const f = lower(fields)
  return (
    f.has('x-amz-signature') ||
    f.has('policy') ||
    f.has('x-amz-credential') ||
    f.has('signature') ||
    f.has('awsaccesskeyid')
  )
}

function missing(name: string): AuthError {
  return new AuthError(
    'invalid-argument',
    `Bucket POST must contain a field named '${name}'.  If it is specified, please check the order of the fields.`,
    {
      ArgumentName: name,
      ArgumentValue: '',
    },
  )
}

function badField(name: string, value: string, message: string): AuthError {
  return new AuthError('invalid-argument', message, {
    ArgumentName: name,
    ArgumentValue: value.slice(0, 128),
  })
}

/** Reads the SigV4 POST fields; throws InvalidArgument / InvalidRequest. */
export function parsePostAuth(fields: ReadonlyMap<string, string>): PostAuth {
  const f = lower(fields)
  if (!f.has('x-amz-signature') && (f.has('signature') || f.has('awsaccesskeyid'))) {
    throw new AuthError('unsupported-algorithm', UNSUPPORTED_MECHANISM)
  }
  const algorithm = f.get('x-amz-algorithm')
  const credential = f.get('x-amz-credential')
  const amzDate = f.get('x-amz-date')
  const signature = f.get('x-amz-signature')
  const policyB64 = f.get('policy')
  if (algorithm === undefined) throw missing('x-amz-algorithm')
  if (algorithm !== ALGORITHM) throw new AuthError('unsupported-algorithm', UNSUPPORTED_MECHANISM)
  if (credential === undefined) throw missing('x-amz-credential')
  if (amzDate === undefined) throw missing('x-amz-date')
  if (signature === undefined) throw missing('x-amz-signature')
  if (policyB64 === undefined) throw missing('policy')
  const cred = parseCredential(credential)
  if ('error' in cred)
    throw badField('x-amz-credential', credential, `Invalid credential: ${cred.error}`)
  if (cred.scope.service !== 's3') {
    throw badField(
      'x-amz-credential',
      credential,
      `Invalid credential: incorrect service "${cred.scope.service}". This endpoint belongs to "s3".`,
    )
  }
  const requestTime = parseAmzDate(amzDate)
  if (requestTime === undefined) {
    throw badField(
      'x-amz-date',
      amzDate,
      "X-Amz-Date must be in the ISO8601 Long Format \"yyyyMMdd'T'HHmmss'Z'\"",
    )
  }
  if (amzDate.slice(0, 8) !== cred.scope.date) {
    throw badField(
      'x-amz-credential',
      credential,
      'Invalid credential date. Date is not the same as X-Amz-Date.',
    )
  }
  if (!/^[0-9a-f]{64}$/.test(signature)) {
    throw badField(
      'x-amz-signature',
      signature,
      'X-Amz-Signature must be 64 lower-case hexadecimal characters.',
    )
  }
  const token = f.get('x-amz-security-token')
  return {
    accessKeyId: cred.accessKeyId,
    scope: cred.scope,
    amzDate,
    requestTime,
    signature,
    policyB64,
    ...(token !== undefined && token !== '' ? { sessionToken: token } : {}),
  }
}

/** HMAC(signingKey, policyB64) compared in constant time. */
export function verifyPostSignature(
  policyB64: string,
  signature: string,
  signingKey: Buffer,
): boolean {
  return signatureEquals(signature, hmacSha256(signingKey, policyB64))
}

function invalidPolicy(why: string): AuthError {
  return new AuthError('invalid-argument', `Invalid Policy: ${why}`, { ArgumentName: 'policy' })
}

const EXPIRATION_RE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,9})?Z$/

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
}

function toLength(v: unknown): number | undefined {
  const n =
    typeof v === 'number'
      ? v
      : typeof v === 'string' && /^\d{1,16}$/.test(v.trim())
        ? Number(v)
        : NaN
  return Number.isSafeInteger(n) && n >= 0 ? n : undefined
}

function fieldName(v: unknown): string | undefined {
  if (typeof v !== 'string' || !v.startsWith('$') || v.length < 2) return undefined
  return v.slice(1).toLowerCase()
}

function parseCondition(c: unknown): PostCondition[] {
  if (isRecord(c)) {
    const out: PostCondition[] = []
    for (const [k, v] of Object.entries(c)) {
      if (typeof v !== 'string') throw invalidPolicy(`Condition value for "${k}" must be a string.`)
      out.push({ kind: 'eq', field: k.toLowerCase(), value: v })
    }
    if (out.length === 0) throw invalidPolicy('Empty condition.')
    return out
  }
  if (!Array.isArray(c) || c.length !== 3)
    throw invalidPolicy('Each condition must be an object or a 3-element array.')
  const [op, a, b] = c as [unknown, unknown, unknown]
  const opName = typeof op === 'string' ? op.toLowerCase() : ''
  if (opName === 'content-length-range') {
    const min = toLength(a)
    const max = toLength(b)
    if (min === undefined || max === undefined || min > max)
      throw invalidPolicy('Invalid content-length-range.')
    return [{ kind: 'content-length-range', min, max }]
  }
  if (opName !== 'eq' && opName !== 'starts-with')
    throw invalidPolicy(`Unknown condition operator "${String(op)}".`)
  const field = fieldName(a)
  if (field === undefined) throw invalidPolicy('Condition field names must start with "$".')
  if (typeof b !== 'string') throw invalidPolicy(`Condition value for "${field}" must be a string.`)
  return [
    opName === 'eq' ? { kind: 'eq', field, value: b } : { kind: 'starts-with', field, prefix: b },
  ]
}

/** base64 JSON → PostPolicy; throws InvalidArgument "Invalid Policy: …". */
export function parsePostPolicy(policyB64: string): PostPolicy {
  if (policyB64.length > MAX_POLICY_B64) throw invalidPolicy('Policy document too large.')
  const bytes = decodeBase64Strict(policyB64.replace(/\s+/g, ''))
  if (bytes === undefined) throw invalidPolicy('Policy is not valid base64.')
  let doc: unknown
  try {
    doc = JSON.parse(bytes.toString('utf8'))
  } catch {
    throw invalidPolicy('Invalid JSON.')
  }
  if (!isRecord(doc)) throw invalidPolicy('Policy must be a JSON object.')
  const exp = doc['expiration']
  if (typeof exp !== 'string') throw invalidPolicy('Policy missing expiration.')
  const expiration = EXPIRATION_RE.test(exp) ? Date.parse(exp) : NaN
  if (Number.isNaN(expiration)) throw invalidPolicy(`Invalid expiration "${exp.slice(0, 64)}".`)
  const conds = doc['conditions']
  if (!Array.isArray(conds)) throw invalidPolicy('Policy missing conditions.')
  return { expiration, conditions: conds.flatMap((c: unknown) => parseCondition(c)) }
}

function conditionText(c: PostCondition): string {
  switch (c.kind) {
    case 'eq':
      return `["eq", "$${c.field}", ${JSON.stringify(c.value)}]`
    case 'starts-with':
      return `["starts-with", "$${c.field}", ${JSON.stringify(c.prefix)}]`
    case 'content-length-range':
      return `["content-length-range", ${c.min}, ${c.max}]`
  }
}

function denied(why: string): AuthError {
  return new AuthError('post-policy-violated', `Invalid according to Policy: ${why}`)
}

/** Fields that never need a condition (the SigV2 form's AWSAccessKeyId and signature too). */
function exempt(name: string): boolean {
  return (
    name === 'x-amz-signature' ||
    name === 'awsaccesskeyid' ||
    name === 'signature' ||
    name === 'file' ||
    name === 'policy' ||
    name === 'bucket' ||
    name.startsWith('x-ignore-')
  )
}

/**
 * Checks expiration, every eq/starts-with condition, and that every form field (except
 * x-amz-signature, file, policy, bucket, x-ignore-*) is named by a condition. Throws AccessDenied.
 */
export function checkPostPolicy(
  policy: PostPolicy,
  fields: ReadonlyMap<string, string>,
  now: number,
): void {
  if (now >= policy.expiration) throw denied('Policy expired.')
  const f = lower(fields)
  const covered = new Set<string>()
  for (const c of policy.conditions) {
    if (c.kind === 'content-length-range') continue
    covered.add(c.field)
    const value = f.get(c.field)
    let ok: boolean
    if (c.kind === 'eq') {
      ok = value === c.value
    } else if (value === undefined) {
      ok = false
    } else if (c.field === 'content-type' && c.prefix !== '') {
      ok = value.split(',').every((v) => v.trim().startsWith(c.prefix))
    } else {
      ok = value.startsWith(c.prefix)
    }
    if (!ok) throw denied(`Policy Condition failed: ${conditionText(c)}`)
  }
  for (const name of f.keys()) {
    if (!exempt(name) && !covered.has(name)) throw denied(`Extra input fields: ${name}`)
  }
}

/** The allowed size range (the intersection when given more than once), if any. */
export function contentLengthRange(policy: PostPolicy): { min: number; max: number } | undefined {
  let range: { min: number; max: number } | undefined
  for (const c of policy.conditions) {
    if (c.kind !== 'content-length-range') continue
    range =
      range === undefined
        ? { min: c.min, max: c.max }
        : { min: Math.max(range.min, c.min), max: Math.min(range.max, c.max) }
  }
  return range
}

/** EntityTooSmall / EntityTooLarge when `size` is outside the policy's content-length-range. */
export function checkContentLengthRange(policy: PostPolicy, size: number): void {
  const r = contentLengthRange(policy)
  if (r === undefined) return
  if (size < r.min) {
    throw new AuthError('post-too-small', undefined, {
      ProposedSize: String(size),
      MinSizeAllowed: String(r.min),
    })
  }
  if (size > r.max) {
    throw new AuthError('post-too-large', undefined, {
      ProposedSize: String(size),
      MaxSizeAllowed: String(r.max),
    })
  }
}
