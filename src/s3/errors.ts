/**
 * S3's error table: one closed code union, checked by `satisfies`, and the <Error> renderer.
 * Statuses follow AWS's S3 error list (docs.aws.amazon.com/AmazonS3/latest/API/ErrorResponses.html).
 * @module
 */
import { StorageError, type StorageErrorKind } from '../storage/errors.js'
import { NotSettledError } from '../lib/unavailable.js'
import { xmlEscape } from '../http/xml.js'
import { AuthError, type AuthErrorKind } from '../auth/errors.js'

export type S3ErrorCode =
  | 'AccessDenied'
  | 'AccessForbidden'
  | 'AuthorizationHeaderMalformed'
  | 'AuthorizationQueryParametersError'
  | 'BadDigest'
  | 'BucketAlreadyExists'
  | 'BucketAlreadyOwnedByYou'
  | 'BucketNotEmpty'
  | 'ConditionalRequestConflict'
  | 'EntityTooLarge'
  | 'EntityTooSmall'
  | 'ExpiredToken'
  | 'IncompleteBody'
  | 'InternalError'
  | 'InvalidAccessKeyId'
  | 'InvalidArgument'
  | 'InvalidBucketName'
  | 'InvalidDigest'
  | 'InvalidPart'
  | 'InvalidPartOrder'
  | 'InvalidPartNumber'
  | 'InvalidRange'
  | 'InvalidRequest'
  | 'InvalidToken'
  | 'KeyTooLongError'
  | 'MalformedPOSTRequest'
  | 'MalformedPolicy'
  | 'MalformedXML'
  | 'MaxMessageLengthExceeded'
  | 'MetadataTooLarge'
  | 'MethodNotAllowed'
  | 'MissingContentLength'
  | 'MissingSecurityHeader'
  | 'NoSuchBucket'
  | 'NoSuchBucketPolicy'
  | 'NoSuchCORSConfiguration'
  | 'NoSuchKey'
  | 'NoSuchLifecycleConfiguration'
  | 'NoSuchTagSet'
  | 'NoSuchUpload'
  | 'NotImplemented'
  | 'NotModified'
  | 'PreconditionFailed'
  | 'RequestTimeTooSkewed'
  | 'ServiceUnavailable'
  | 'SignatureDoesNotMatch'
  | 'SlowDown'
  | 'XAmzContentSHA256Mismatch'
  | 'InvalidTag'
  | 'InvalidStorageClass'
  | 'InvalidLocationConstraint'
  | 'IllegalLocationConstraintException'
  | 'RequestTimeout'
  | 'InvalidURI'
  | 'AccessControlListNotSupported'
  | 'MalformedACLError'
  | 'UnresolvableGrantByEmailAddress'
  | 'InvalidBucketAclWithObjectOwnership'
  | 'NoSuchPublicAccessBlockConfiguration'
  | 'OwnershipControlsNotFoundError'
  | 'NoSuchVersion'

interface Row {
  readonly status: number
  readonly message: string
}

export const S3_ERRORS = {
  AccessDenied: { status: 403, message: 'Access Denied' },
  AccessForbidden: { status: 403, message: 'CORSResponse: This CORS request is not allowed.' },
  AuthorizationHeaderMalformed: { status: 400, message: 'The authorization header is malformed.' },
  AuthorizationQueryParametersError: {
    status: 400,
    message: 'Error parsing the X-Amz-Credential parameter.',
  },
  BadDigest: {
    status: 400,
    message: 'The Content-MD5 or checksum you specified did not match what we received.',
  },
  BucketAlreadyExists: {
    status: 409,
    message:
      'The requested bucket name is not available. The bucket namespace is shared by all users of the system. Please select a different name and try again.',
  },
  BucketAlreadyOwnedByYou: {
    status: 409,
    message: 'Your previous request to create the named bucket succeeded and you already own it.',
  },
  BucketNotEmpty: { status: 409, message: 'The bucket you tried to delete is not empty' },
  EntityTooLarge: { status: 400, message: 'Your proposed upload exceeds the maximum allowed size' },
  EntityTooSmall: {
    status: 400,
    message: 'Your proposed upload is smaller than the minimum allowed object size.',
  },
  ExpiredToken: { status: 400, message: 'The provided token has expired.' },
  IncompleteBody: {
    status: 400,
    message: 'You did not provide the number of bytes specified by the Content-Length HTTP header.',
  },
  InternalError: { status: 500, message: 'We encountered an internal error. Please try again.' },
  InvalidAccessKeyId: {
    status: 403,
    message: 'The AWS Access Key Id you provided does not exist in our records.',
  },
  InvalidArgument: { status: 400, message: 'Invalid Argument' },
  InvalidBucketName: { status: 400, message: 'The specified bucket is not valid.' },
  InvalidDigest: { status: 400, message: 'The Content-MD5 you specified is not valid.' },
  InvalidPart: {
    status: 400,
    message:
      "One or more of the specified parts could not be found. The part may not have been uploaded, or the specified entity tag may not match the part's entity tag.",
  },
  InvalidPartOrder: {
    status: 400,
    message:
      'The list of parts was not in ascending order. The parts list must be specified in order by part number.',
  },
  InvalidPartNumber: { status: 416, message: 'The requested partnumber is not satisfiable' },
  InvalidRange: { status: 416, message: 'The requested range is not satisfiable' },
  InvalidRequest: { status: 400, message: 'Invalid Request' },
  InvalidToken: { status: 400, message: 'The provided token is malformed or otherwise invalid.' },
  KeyTooLongError: { status: 400, message: 'Your key is too long' },
  MalformedPOSTRequest: {
    status: 400,
    message: 'The body of your POST request is not well-formed multipart/form-data.',
  },
  MalformedPolicy: { status: 400, message: 'Policy has invalid resource' },
  MalformedXML: {
    status: 400,
    message:
      'The XML you provided was not well-formed or did not validate against our published schema.',
  },
  MaxMessageLengthExceeded: { status: 400, message: 'Your request was too big.' },
  MetadataTooLarge: {
    status: 400,
    message: 'Your metadata headers exceed the maximum allowed metadata size.',
  },
  MethodNotAllowed: {
    status: 405,
    message: 'The specified method is not allowed against this resource.',
  },
  MissingContentLength: {
    status: 411,
    message: 'You must provide the Content-Length HTTP header.',
  },
  MissingSecurityHeader: { status: 400, message: 'Your request is missing a required header.' },
  NoSuchBucket: { status: 404, message: 'The specified bucket does not exist' },
  NoSuchBucketPolicy: { status: 404, message: 'The bucket policy does not exist' },
  ConditionalRequestConflict: {
    status: 409,
    message:
      'A conflicting operation occurred. If using PutObject you can retry the request. If using multipart upload you should initiate another CreateMultipartUpload request and re-upload each part.',
  },
  NoSuchCORSConfiguration: { status: 404, message: 'The CORS configuration does not exist' },
  NoSuchKey: { status: 404, message: 'The specified key does not exist.' },
  NoSuchLifecycleConfiguration: {
    status: 404,
    message: 'The lifecycle configuration does not exist',
  },
  NoSuchTagSet: { status: 404, message: 'The TagSet does not exist' },
  NoSuchUpload: {
    status: 404,
    message:
      'The specified upload does not exist. The upload ID may be invalid, or the upload may have been aborted or completed.',
  },
  NotImplemented: {
    status: 501,
    message: 'A header or query you provided implies functionality that is not implemented.',
  },
  NotModified: { status: 304, message: 'Not Modified' },
  PreconditionFailed: {
    status: 412,
    message: 'At least one of the pre-conditions you specified did not hold',
  },
  RequestTimeTooSkewed: {
    status: 403,
    message: "The difference between the request time and the server's time is too large.",
  },
  ServiceUnavailable: { status: 503, message: 'Service is unable to handle request.' },
  SignatureDoesNotMatch: {
    status: 403,
    message:
      'The request signature we calculated does not match the signature you provided. Check your key and signing method.',
  },
  SlowDown: { status: 503, message: 'Please reduce your request rate.' },
  XAmzContentSHA256Mismatch: {
    status: 400,
    message: "The provided 'x-amz-content-sha256' header does not match what was computed.",
  },
  InvalidTag: { status: 400, message: 'The tag provided was not a valid tag.' },
  InvalidStorageClass: { status: 400, message: 'The storage class you specified is not valid' },
  InvalidLocationConstraint: {
    status: 400,
    message: 'The specified location constraint is not valid.',
  },
  IllegalLocationConstraintException: {
    status: 400,
    message: 'The location constraint is not compatible with this endpoint.',
  },
  AccessControlListNotSupported: { status: 400, message: 'The bucket does not allow ACLs' },
  MalformedACLError: {
    status: 400,
    message:
      'The XML you provided was not well-formed or did not validate against our published schema.',
  },
  UnresolvableGrantByEmailAddress: {
    status: 400,
    message: 'The email address you provided does not match any account on record.',
  },
  InvalidBucketAclWithObjectOwnership: {
    status: 400,
    message: "Bucket cannot have ACLs set with ObjectOwnership's BucketOwnerEnforced setting",
  },
  NoSuchPublicAccessBlockConfiguration: {
    status: 404,
    message: 'The public access block configuration was not found',
  },
  OwnershipControlsNotFoundError: {
    status: 404,
    message: 'The bucket ownership controls were not found',
  },
  InvalidURI: { status: 400, message: 'Could not parse the specified URI.' },
  NoSuchVersion: { status: 404, message: 'The specified version does not exist.' },
  RequestTimeout: {
    status: 400,
    message:
      'Your socket connection to the server was not read from or written to within the timeout period.',
  },
} as const satisfies Record<S3ErrorCode, Row>

/** Thrown by S3 handlers; rendered by the S3 surface (auth's failures arrive via FROM_AUTH). */
export class S3Error extends Error {
  override readonly name = 'S3Error'
  readonly code: S3ErrorCode
  readonly status: number
  /** Extra elements rendered inside <Error> (e.g. BucketName, Key, ArgumentName). */
  readonly extra: Readonly<Record<string, string>>
  /** Extra response headers (e.g. Retry-After, x-amz-checksum mismatch details). */
  readonly headers: Readonly<Record<string, string>>
  constructor(
    code: S3ErrorCode,
    message?: string,
    extra: Record<string, string> = {},
    headers: Record<string, string> = {},
  ) {
    super(message ?? S3_ERRORS[code].message)
    this.code = code
    this.status = S3_ERRORS[code].status
    this.extra = extra
    this.headers = headers
  }
}

const KIND_TO_CODE = {
  'bucket-not-found': 'NoSuchBucket',
  'bucket-exists': 'BucketAlreadyExists',
  'bucket-not-empty': 'BucketNotEmpty',
  'key-not-found': 'NoSuchKey',
  'upload-not-found': 'NoSuchUpload',
  precondition: 'PreconditionFailed',
  conflict: 'InvalidRequest',
  'not-found': 'NoSuchKey',
  'too-large': 'EntityTooLarge',
  // What AWS S3 answers when it sheds load: every SDK backs off and retries it.
  unavailable: 'SlowDown',
} as const satisfies Record<StorageErrorKind, S3ErrorCode>

/**
 * What S3 answers for each way authentication fails. The messages are the auth layer's (S3's own
 * wording, written where the failure is found) or, when it gave none, this table's; `detail`
 * becomes extra `<Error>` elements (AWSAccessKeyId, StringToSign, RequestTime, …).
 */
export const FROM_AUTH = {
  malformed: 'AuthorizationHeaderMalformed',
  'malformed-credential': 'AuthorizationHeaderMalformed',
  'malformed-query': 'AuthorizationQueryParametersError',
  'malformed-presign': 'AccessDenied',
  'invalid-argument': 'InvalidArgument',
  'unsupported-algorithm': 'InvalidRequest',
  'invalid-request': 'InvalidRequest',
  'wrong-service': 'AuthorizationHeaderMalformed',
  'wrong-service-query': 'AuthorizationQueryParametersError',
  'unknown-key': 'InvalidAccessKeyId',
  'token-missing': 'InvalidToken',
  'token-invalid': 'InvalidToken',
  'token-expired': 'ExpiredToken',
  'request-skewed': 'RequestTimeTooSkewed',
  'date-missing': 'AccessDenied',
  'headers-not-signed': 'AccessDenied',
  'presign-expired': 'AccessDenied',
  'presign-not-yet-valid': 'AccessDenied',
  'presign-too-long': 'AccessDenied',
  'signature-mismatch': 'SignatureDoesNotMatch',
  'payload-hash-mismatch': 'XAmzContentSHA256Mismatch',
  'chunk-signature-mismatch': 'SignatureDoesNotMatch',
  'chunk-malformed': 'InvalidRequest',
  'incomplete-body': 'IncompleteBody',
  'length-missing': 'MissingContentLength',
  'post-policy-violated': 'AccessDenied',
  'post-too-small': 'EntityTooSmall',
  'post-too-large': 'EntityTooLarge',
  'address-not-allowed': 'AccessDenied',
  'not-implemented': 'NotImplemented',
  internal: 'InternalError',
} as const satisfies Record<AuthErrorKind, S3ErrorCode>

/** The S3 answer to an auth failure. */
export function fromAuthError(e: AuthError): S3Error {
  // The allow-list refusal names the address in its message only (no extra element), as before.
  const extra = e.kind === 'address-not-allowed' ? {} : { ...e.detail }
  return new S3Error(FROM_AUTH[e.kind], e.custom ? e.message : undefined, extra)
}

/**
 * A request body stream failed: auth's verifier errors (payload hash, chunk signatures, length)
 * and S3Errors pass as they are; anything else is the client going away (IncompleteBody).
 */
export function bodyStreamError(e: unknown): S3Error {
  if (e instanceof S3Error) return e
  if (e instanceof AuthError) return fromAuthError(e)
  return new S3Error('IncompleteBody')
}

/** Map anything thrown during an S3 request to an S3Error (unknown errors → InternalError). */
export function toS3Error(err: unknown, callerAccountId?: string): S3Error {
  if (err instanceof S3Error) return err
  if (err instanceof AuthError) return fromAuthError(err)
  if (err instanceof NotSettledError)
    return new S3Error('SlowDown', err.message, {}, { 'retry-after': '1' })
  if (err instanceof StorageError) {
    if (
      err.kind === 'bucket-exists' &&
      callerAccountId !== undefined &&
      err.detail['ownerAccountId'] === callerAccountId
    )
      return new S3Error('BucketAlreadyOwnedByYou')
    if (err.kind === 'unavailable')
      return new S3Error(
        'SlowDown',
        'The service is briefly unavailable (its database or blob store is not answering). Please retry.',
        {},
        { 'retry-after': '1' },
      )
    return new S3Error(KIND_TO_CODE[err.kind])
  }
  return new S3Error('InternalError')
}

/** Re-exported for the S3 modules that import it from here; it lives in http/xml.ts. */
export { xmlEscape }

/** Render S3's <Error> document. */
export function renderS3Error(e: S3Error, resource: string, requestId: string): string {
  let extra = ''
  for (const [k, v] of Object.entries(e.extra)) extra += `<${k}>${xmlEscape(v)}</${k}>`
  return (
    '<?xml version="1.0" encoding="UTF-8"?>\n' +
    `<Error><Code>${e.code}</Code><Message>${xmlEscape(e.message)}</Message>${extra}` +
    `<Resource>${xmlEscape(resource)}</Resource><RequestId>${requestId}</RequestId>` +
    `<HostId>${requestId}</HostId></Error>`
  )
}
