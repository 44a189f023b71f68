/**
 * Browser POST uploads (S3 POST Object) authenticate from form fields instead of headers: resolve
 * the credential named by x-amz-credential, check x-amz-security-token, verify x-amz-signature
 * over the base64 policy with the cached signing key, and apply the caller's account allow-list.
 * A SigV2 form (AWSAccessKeyId + signature, what boto3's default generate_presigned_post makes)
 * gets the same credential, token and allow-list checks with HMAC-SHA1 over the policy.
 * A form without signature fields is anonymous. The policy's conditions are checked by the
 * operation (it sees the whole form, V2 or V4 alike); this only says who is calling. Throws
 * AuthError.
 * @module
 */
import { resolveCredential, type AuthDeps } from './authenticate.js'
import { AuthError, assertAddressAllowed, type AddressPolicy } from './errors.js'
import type { Principal } from './principal.js'
import { parsePostAuth, verifyPostSignature } from './sigv4/post-policy.js'
import { isPostAuthV2, parsePostAuthV2, verifyPostSignatureV2 } from './sigv2/post-policy.js'

export async function authenticatePostForm(
  fields: ReadonlyMap<string, string>,
  deps: AuthDeps,
  addresses: AddressPolicy,
  remoteAddress: string,
): Promise<Principal> {
  if (isPostAuthV2(fields)) {
    const v2 = parsePostAuthV2(fields)
    const cred = await resolveCredential(deps, v2.accessKeyId, v2.sessionToken)
    if (!verifyPostSignatureV2(v2.policyB64, v2.signature, cred.secretKey))
      throw new AuthError('signature-mismatch')
    assertAddressAllowed(addresses, cred.principal.accountId, remoteAddress)
    return cred.principal
  }
  if (!fields.has('x-amz-signature') && !fields.has('policy')) return { kind: 'anonymous' }
  const a = parsePostAuth(fields)
  const cred = await resolveCredential(deps, a.accessKeyId, a.sessionToken)
  const key = deps.keyCache.get(cred.accessKeyId, cred.secretVersion, cred.secretKey, a.scope)
  if (!verifyPostSignature(a.policyB64, a.signature, key)) throw new AuthError('signature-mismatch')
  assertAddressAllowed(addresses, cred.principal.accountId, remoteAddress)
  return cred.principal
}
