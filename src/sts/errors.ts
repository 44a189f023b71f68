/**
 * STS's error table: one closed code union checked by `satisfies`, the `StsError` every STS
 * module throws, the mapping from auth's AuthErrors (FROM_AUTH) and IAM errors to STS codes, and the two
 * renderers: AWS's query-protocol `<ErrorResponse>` (so the SDKs surface the right `name`) and the
 * JSON shape used by the Lyve RS* actions.
 * Statuses follow botocore's sts/2011-06-15 model and AWS's "Common Errors" page.
 * @module
 */
import { AuthError, type AuthErrorKind } from '../auth/errors.js'
import { xmlEscape } from '../http/xml.js'
import { IamError } from '../iam/types.js'
import { isUnavailableError } from '../lib/unavailable.js'
import { PolicyError } from '../policy/types.js'

export const STS_NS = 'https://sts.amazonaws.com/doc/2011-06-15/'

export type StsErrorCode =
  | 'AccessDenied'
  | 'ExpiredToken'
  | 'IncompleteSignature'
  | 'InternalFailure'
  | 'InvalidAction'
  | 'InvalidClientTokenId'
  | 'MalformedPolicyDocument'
  | 'MissingAuthenticationToken'
  | 'NotImplemented'
  | 'PackedPolicyTooLarge'
  | 'ServiceUnavailable'
  | 'SignatureDoesNotMatch'
  | 'Throttling'
  | 'ValidationError'

interface Row {
  readonly status: number
  readonly message: string
}

export const STS_ERRORS = {
  AccessDenied: { status: 403, message: 'Access denied' },
  ExpiredToken: { status: 403, message: 'The security token included in the request is expired' },
  IncompleteSignature: {
    status: 400,
    message: 'The request signature does not conform to AWS standards.',
  },
  InternalFailure: {
    status: 500,
    message: 'The request processing has failed because of an unknown error, exception or failure.',
  },
  InvalidAction: {
    status: 400,
    message:
      'The action or operation requested is invalid. Verify that the action is typed correctly.',
  },
  InvalidClientTokenId: {
    status: 403,
    message: 'The security token included in the request is invalid.',
  },
  MalformedPolicyDocument: { status: 400, message: 'The policy document is malformed.' },
  MissingAuthenticationToken: { status: 403, message: 'Request is missing Authentication Token' },
  NotImplemented: { status: 501, message: 'This action is not implemented by this server.' },
  PackedPolicyTooLarge: {
    status: 400,
    message: 'Packed policy consumes more than 100% of the allotted space.',
  },
  SignatureDoesNotMatch: {
    status: 403,
    message:
      'The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.',
  },
  ServiceUnavailable: {
    status: 503,
    message: 'The request has failed due to a temporary failure of the server.',
  },
  Throttling: { status: 400, message: 'Rate exceeded' },
  ValidationError: { status: 400, message: '1 validation error detected' },
} as const satisfies Record<StsErrorCode, Row>

export class StsError extends Error {
  override readonly name = 'StsError'
  readonly code: StsErrorCode
  readonly status: number
  /** Seconds to wait, for Throttling (the RS* JSON answers turn this into a 429). */
  readonly retryAfter?: number
  constructor(code: StsErrorCode, message?: string, opts: { retryAfter?: number } = {}) {
    super(message ?? STS_ERRORS[code].message)
    this.code = code
    this.status = STS_ERRORS[code].status
    if (opts.retryAfter !== undefined) this.retryAfter = opts.retryAfter
  }
}

/** Shorten a user-supplied value before echoing it in a message (already XML/JSON-escaped by the renderer). */
export function quoteValue(v: string, max = 128): string {
  return v.length > max ? `${v.slice(0, max)}...` : v
}

/** One failed constraint in AWS's query-protocol wording (without the count in front). */
export function violation(field: string, value: string | undefined, constraint: string): string {
  const shown = value === undefined ? 'null' : `'${quoteValue(value)}'`
  return `Value ${shown} at '${field}' failed to satisfy constraint: ${constraint}`
}

/**
 * ValidationError listing every violated constraint, as AWS words it: "2 validation errors
 * detected: Value … at 'roleSessionName' failed to satisfy constraint: …; Value … at …".
 */
export class StsValidationError extends StsError {
  readonly violations: readonly string[]
  constructor(violations: readonly string[]) {
    const n = violations.length
    super(
      'ValidationError',
      `${n} validation error${n === 1 ? '' : 's'} detected: ${violations.join('; ')}`,
    )
    this.violations = violations
  }
}

/** AWS's query-protocol wording for one failed constraint. */
export function validationError(
  field: string,
  value: string | undefined,
  constraint: string,
): StsError {
  return new StsValidationError([violation(field, value, constraint)])
}

/**
 * What STS answers for each way authentication fails (AWS STS's codes: a bad key or token is
 * InvalidClientTokenId, clock skew and a wrong service scope are SignatureDoesNotMatch, malformed
 * signature material is IncompleteSignature).
 */
export const FROM_AUTH = {
  malformed: 'IncompleteSignature',
  'malformed-credential': 'SignatureDoesNotMatch',
  'malformed-query': 'IncompleteSignature',
  'malformed-presign': 'AccessDenied',
  'invalid-argument': 'IncompleteSignature',
  'unsupported-algorithm': 'IncompleteSignature',
  'invalid-request': 'IncompleteSignature',
  'wrong-service': 'SignatureDoesNotMatch',
  'wrong-service-query': 'IncompleteSignature',
  'unknown-key': 'InvalidClientTokenId',
  'token-missing': 'InvalidClientTokenId',
  'token-invalid': 'InvalidClientTokenId',
  'token-expired': 'ExpiredToken',
  'request-skewed': 'SignatureDoesNotMatch',
  'date-missing': 'AccessDenied',
  'headers-not-signed': 'AccessDenied',
  'presign-expired': 'AccessDenied',
  'presign-not-yet-valid': 'AccessDenied',
  'presign-too-long': 'AccessDenied',
  'signature-mismatch': 'SignatureDoesNotMatch',
  'payload-hash-mismatch': 'SignatureDoesNotMatch',
  'chunk-signature-mismatch': 'SignatureDoesNotMatch',
  'chunk-malformed': 'IncompleteSignature',
  'incomplete-body': 'InternalFailure',
  'length-missing': 'InternalFailure',
  'post-policy-violated': 'AccessDenied',
  'post-too-small': 'InternalFailure',
  'post-too-large': 'InternalFailure',
  'address-not-allowed': 'AccessDenied',
  'not-implemented': 'NotImplemented',
  internal: 'InternalFailure',
} as const satisfies Record<AuthErrorKind, StsErrorCode>

/**
 * The message STS gives: the table's for codes whose AWS wording is fixed (a bad key, an expired
 * token, a signature mismatch), auth's own text where it explains a malformed request.
 */
function authMessage(e: AuthError, code: StsErrorCode): string | undefined {
  switch (e.kind) {
    case 'wrong-service':
    case 'malformed-credential':
      return "Credential should be scoped to correct service: 'sts'. "
    case 'request-skewed': {
      // "Signature expired: X is now earlier than Y (Z - 15 min.)", as AWS STS words clock skew.
      const req = e.detail['RequestTime']
      const server = e.detail['ServerTime']
      if (req === undefined || server === undefined)
        return 'Signature expired: the request time is too far from the server time (15 min.)'
      return `Signature expired: ${req} is now earlier or later than ${server} +/- 15 min.`
    }
    case 'address-not-allowed':
      return `Access from ${e.detail['address'] ?? 'this address'} is not allowed for this account`
    default:
      break
  }
  switch (code) {
    case 'IncompleteSignature':
    case 'AccessDenied':
    case 'NotImplemented':
      return e.message
    default:
      return undefined
  }
}

/** The STS answer to an auth failure. */
export function fromAuthError(e: AuthError): StsError {
  const code = FROM_AUTH[e.kind]
  return new StsError(code, authMessage(e, code))
}

/** Map anything thrown while answering an STS request to an StsError (unknown → InternalFailure). */
export function toStsError(err: unknown): StsError {
  if (err instanceof StsError) return err
  if (err instanceof AuthError) return fromAuthError(err)
  if (err instanceof PolicyError) return new StsError('MalformedPolicyDocument', err.message)
  if (isUnavailableError(err))
    return new StsError('ServiceUnavailable', undefined, { retryAfter: 1 })
  if (err instanceof IamError) {
    switch (err.code) {
      case 'throttled':
        return new StsError(
          'Throttling',
          err.message.startsWith('Rate exceeded') ? err.message : 'Rate exceeded',
          err.retryAfter !== undefined ? { retryAfter: err.retryAfter } : {},
        )
      case 'unauthorized':
      case 'forbidden':
        return new StsError('AccessDenied', err.message)
      case 'invalid':
        return new StsError('ValidationError', err.message)
      case 'not-found':
      case 'conflict':
        return new StsError('AccessDenied', 'Access denied')
    }
  }
  return new StsError('InternalFailure')
}

/** `<ErrorResponse>` as AWS STS sends it; Type is Receiver for 5xx. */
export function renderStsErrorXml(e: StsError, requestId: string): string {
  const type = e.status >= 500 ? 'Receiver' : 'Sender'
  return (
    `<ErrorResponse xmlns="${STS_NS}">\n` +
    `  <Error>\n    <Type>${type}</Type>\n    <Code>${e.code}</Code>\n` +
    `    <Message>${xmlEscape(e.message)}</Message>\n  </Error>\n` +
    `  <RequestId>${xmlEscape(requestId)}</RequestId>\n</ErrorResponse>\n`
  )
}

/** The RS* (Lyve) JSON error body. */
export function stsErrorJson(
  e: StsError,
  requestId: string,
): { Error: { Code: string; Message: string }; RequestId: string } {
  return { Error: { Code: e.code, Message: e.message }, RequestId: requestId }
}
