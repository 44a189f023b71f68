/**
 * Browser POST uploads signed the SigV2 way, as boto3's `generate_presigned_post` does with a
 * default client (docs.aws.amazon.com/AmazonS3/latest/API/HTTPPOSTForms.html): the form carries
 * `AWSAccessKeyId`, `policy` and `signature` = base64(HMAC-SHA1(secret, base64 policy)), plus
 * `x-amz-security-token` for session credentials. Only who is calling differs from SigV4 POST:
 * the policy's expiration and conditions are checked by the same code (sigv4/post-policy.ts).
 * Field maps use lower-case names.
 * @module
 */
import { AuthError } from '../errors.js'
import { signV2 } from './string-to-sign.js'
import { signatureEqualsV2 } from './verify.js'

export interface PostAuthV2 {
  readonly accessKeyId: string
  readonly signature: string
  readonly policyB64: string
  readonly sessionToken?: string
}

/** A SigV2 form: V2 signature fields and no SigV4 signature. */
export function isPostAuthV2(fields: ReadonlyMap<string, string>): boolean {
  return !fields.has('x-amz-signature') && (fields.has('awsaccesskeyid') || fields.has('signature'))
}

function missing(name: string): AuthError {
  return new AuthError(
    'invalid-argument',
    `Bucket POST must contain a field named '${name}'.  If it is specified, please check the order of the fields.`,
    { ArgumentName: name, ArgumentValue: '' },
  )
}

/** Reads the SigV2 POST fields; a missing one is InvalidArgument, as AWS answers. */
export function parsePostAuthV2(fields: ReadonlyMap<string, string>): PostAuthV2 {
  const accessKeyId = fields.get('awsaccesskeyid')
  const signature = fields.get('signature')
  const policyB64 = fields.get('policy')
  if (accessKeyId === undefined || accessKeyId === '') throw missing('AWSAccessKeyId')
  if (signature === undefined || signature === '') throw missing('signature')
  if (policyB64 === undefined || policyB64 === '') throw missing('policy')
  const token = fields.get('x-amz-security-token')
  return {
    accessKeyId,
    signature,
    policyB64,
    ...(token !== undefined && token !== '' ? { sessionToken: token } : {}),
  }
}

/** base64(HMAC-SHA1(secret, policyB64)) compared in constant time. */
export function verifyPostSignatureV2(
  policyB64: string,
  signature: string,
  secret: string,
): boolean {
  return signatureEqualsV2(signature, signV2(secret, policyB64))
}
