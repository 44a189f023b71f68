/**
 * What can go wrong while establishing who is calling, in auth's own words. Auth serves several
 * surfaces (S3, STS, later the IAM Query API and OIDC), each with its own wire codes, so it names
 * the failure (`kind`) and each surface maps the kind with an exhaustive `satisfies` table
 * (`FROM_AUTH` in s3/errors.ts and sts/errors.ts): adding a kind fails to compile until every
 * surface has decided how to answer it. No surface has to guess from a message any more.
 *
 * `message` is the text S3 clients see today (S3 was the first surface; the SDKs and the e2e suite
 * pin it); `custom` says whether it was written at the throw site or is only the kind's neutral
 * default, so a surface can put its own table text instead. `detail` carries the facts behind the
 * failure (access key id, string to sign, request and server time, …): S3 renders them as extra
 * elements of `<Error>`, STS uses a few to word its own message.
 * @module
 */

export type AuthErrorKind =
  // The Authorization header is malformed (SigV4).
  | 'malformed'
  // The Authorization header's Credential component is malformed (SigV4).
  | 'malformed-credential'
  // A presigned URL's X-Amz-* parameters are malformed or out of range (SigV4).
  | 'malformed-query'
  // A V2 presigned URL is incomplete or its Expires is not a number.
  | 'malformed-presign'
  // A malformed value that names its argument (lengths, payload-hash literal, POST form fields).
  | 'invalid-argument'
  // A mechanism or algorithm this server does not verify (SigV2 query with V4, not HMAC-SHA256).
  | 'unsupported-algorithm'
  // A well-formed request that cannot be authenticated as sent (missing header, V2 + aws-chunked).
  | 'invalid-request'
  // The credential scope names another service than the endpoint's (header).
  | 'wrong-service'
  // The credential scope names another service than the endpoint's (presigned URL).
  | 'wrong-service-query'
  | 'unknown-key'
  | 'token-missing'
  | 'token-invalid'
  | 'token-expired'
  | 'request-skewed'
  // Neither Date nor x-amz-date (or unparseable).
  | 'date-missing'
  // Headers that must be signed (x-amz-*, Content-MD5, …) are not in SignedHeaders.
  | 'headers-not-signed'
  | 'presign-expired'
  | 'presign-not-yet-valid'
  // A presigned URL that lives longer than the server's limit.
  | 'presign-too-long'
  | 'signature-mismatch'
  | 'payload-hash-mismatch'
  | 'chunk-signature-mismatch'
  // An aws-chunked body whose framing is broken.
  | 'chunk-malformed'
  // The body is shorter or longer than its declared length, or the client went away.
  | 'incomplete-body'
  // aws-chunked without x-amz-decoded-content-length.
  | 'length-missing'
  // A browser POST whose form breaks its own signed policy (conditions, expiration).
  | 'post-policy-violated'
  | 'post-too-small'
  | 'post-too-large'
  // The caller's (or the bucket owner's) account does not accept requests from this address.
  | 'address-not-allowed'
  // SigV4a streaming payloads.
  | 'not-implemented'
  // A programming error in a caller of auth (e.g. no body hash for an STS-style request).
  | 'internal'

/**
 * Texts for throw sites that give none: S3's wording, which is what clients have always read (a
 * surface with other wording uses its own table text instead, see `custom`).
 */
const DEFAULT_TEXT = {
  malformed: 'The authorization header is malformed.',
  'malformed-credential': 'The Credential is malformed.',
  'malformed-query': 'Error parsing the X-Amz-Credential parameter.',
  'malformed-presign': 'The presigned URL is malformed.',
  'invalid-argument': 'Invalid Argument',
  'unsupported-algorithm': 'The authorization mechanism you have provided is not supported.',
  'invalid-request': 'Invalid Request',
  'wrong-service': 'The credential scope names another service.',
  'wrong-service-query': 'The credential scope names another service.',
  'unknown-key': 'The AWS Access Key Id you provided does not exist in our records.',
  'token-missing': 'The provided token is malformed or otherwise invalid.',
  'token-invalid': 'The provided token is malformed or otherwise invalid.',
  'token-expired': 'The provided token has expired.',
  'request-skewed': "The difference between the request time and the server's time is too large.",
  'date-missing': 'AWS authentication requires a valid Date or x-amz-date header',
  'headers-not-signed': 'There were headers present in the request which were not signed',
  'presign-expired': 'Request has expired',
  'presign-not-yet-valid': 'Request is not valid yet',
  'presign-too-long': 'The presigned URL lives longer than allowed.',
  'signature-mismatch':
    'The request signature we calculated does not match the signature you provided. Check your key and signing method.',
  'payload-hash-mismatch':
    "The provided 'x-amz-content-sha256' header does not match what was computed.",
  'chunk-signature-mismatch': 'The chunk signature does not match.',
  'chunk-malformed': 'Malformed aws-chunked body.',
  'incomplete-body':
    'You did not provide the number of bytes specified by the Content-Length HTTP header.',
  'length-missing': 'Missing required header for this request: x-amz-decoded-content-length',
  'post-policy-violated': 'The form does not satisfy its policy.',
  'post-too-small': 'Your proposed upload is smaller than the minimum allowed object size.',
  'post-too-large': 'Your proposed upload exceeds the maximum allowed size',
  'address-not-allowed': "The address is not on the account's allow-list.",
  'not-implemented': 'Not implemented.',
  internal: 'Internal error in authentication.',
} as const satisfies Record<AuthErrorKind, string>

export class AuthError extends Error {
  override readonly name = 'AuthError'
  readonly kind: AuthErrorKind
  /** True when `message` was written at the throw site (else it is the kind's default text). */
  readonly custom: boolean
  /** Facts behind the failure; S3 renders them as extra `<Error>` elements. */
  readonly detail: Readonly<Record<string, string>>
  constructor(kind: AuthErrorKind, message?: string, detail: Record<string, string> = {}) {
    super(message ?? DEFAULT_TEXT[kind])
    this.kind = kind
    this.custom = message !== undefined
    this.detail = detail
  }
}

/** The allow-list refusal every surface raises (S3 and STS word it from `detail.address`). */
export function addressNotAllowed(address: string): AuthError {
  return new AuthError(
    'address-not-allowed',
    `Access from ${address} is not allowed by the account's address allow-list`,
    { address },
  )
}

/** The one question the allow-list check asks the account directory. */
export interface AddressPolicy {
  addressAllowed(accountId: string, address: string): boolean
}

/**
 * The allow-list check, once for every surface: refuses with AuthError('address-not-allowed')
 * when `accountId`'s list (the caller's, the bucket owner's, …) does not admit `address`.
 */
export function assertAddressAllowed(dir: AddressPolicy, accountId: string, address: string): void {
  if (!dir.addressAllowed(accountId, address)) throw addressNotAllowed(address)
}
