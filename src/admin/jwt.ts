/**
 * Admin bearer tokens: HS256 JWTs (jose) signed with a key derived from the master key, one
 * hour long. Claims are only a pointer (`sub`, `kind`, `account`); every request re-reads the
 * identity from IAM, so a deactivated or demoted SuperUser loses access at once.
 * @module
 */
import { SignJWT, jwtVerify } from 'jose'

export const ADMIN_TOKEN_TTL_SECONDS = 3600
const ISSUER = 'latchkey-admin'

export interface AdminClaims {
  readonly sub: string
  readonly kind: 'operator' | 'user'
  /** Account id for users; '' for the operator. */
  readonly account: string
}

export async function signAdminToken(
  key: Buffer,
  claims: AdminClaims,
  nowMs: number,
): Promise<{ token: string; expiresAt: number }> {
  const iat = Math.floor(nowMs / 1000)
  const exp = iat + ADMIN_TOKEN_TTL_SECONDS
  const token = await new SignJWT({ kind: claims.kind, account: claims.account })
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setSubject(claims.sub)
    .setIssuer(ISSUER)
    .setIssuedAt(iat)
    .setExpirationTime(exp)
    .sign(new Uint8Array(key))
  return { token, expiresAt: exp * 1000 }
}

/** The claims of a valid, unexpired token; undefined for anything else. */
export async function verifyAdminToken(
  key: Buffer,
  token: string,
  nowMs: number,
): Promise<AdminClaims | undefined> {
  try {
    const { payload } = await jwtVerify(token, new Uint8Array(key), {
      algorithms: ['HS256'],
      issuer: ISSUER,
      currentDate: new Date(nowMs),
      requiredClaims: ['exp', 'sub'],
    })
    const { sub, kind, account } = payload
    if (
      typeof sub !== 'string' ||
      (kind !== 'operator' && kind !== 'user') ||
      typeof account !== 'string'
    ) {
      return undefined
    }
    return { sub, kind, account }
  } catch {
    return undefined
  }
}
