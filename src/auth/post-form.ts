/**
 * Browser POST uploads (S3 POST Object) authenticate from form fields instead of headers: resolve
 * the credential named by x-amz-credential, check x-amz-security-token, verify x-amz-signature
 * over the base64 policy with the cached signing key, and apply the caller's account allow-list.
 * A form without signature fields is anonymous. The policy's conditions are checked by the
 * operation (it sees the whole form); this only says who is calling. Throws AuthError.
 * @module
 */
import { resolveCredential, type AuthDeps } from './authenticate.js'
import { AuthError, assertAddressAllowed, type AddressPolicy } from './errors.js'
import type { Principal } from './principal.js'
import { parsePostAuth, verifyPostSignature } from './sigv4/post-policy.js'

export async function authenticatePostForm(
  fields: ReadonlyMap<string, string>,
  deps: AuthDeps,
  addresses: AddressPolicy,
  remoteAddress: string,
): Promise<Principal> {
  if (!fields.has('x-amz-signature') && !fields.has('policy')) return { kind: 'anonymous' }
  const a = parsePostAuth(fields)
  const cred = await resolveCredential(deps, a.accessKeyId, a.sessionToken)
  const key = deps.keyCache.get(cred.accessKeyId, cred.secretVersion, cred.secretKey, a.scope)
  if (!verifyPostSignature(a.policyB64, a.signature, key)) throw new AuthError('signature-mismatch')
  assertAddressAllowed(addresses, cred.principal.accountId, remoteAddress)
  return cred.principal
}
