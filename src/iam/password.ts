/**
 * Password hashing with scrypt (node:crypto), a fresh 16-byte salt per hash, parameters stored
 * in the hash string so they can be raised later: `scrypt$N$r$p$salt$hash` (base64url parts).
 * Verification is constant-time; a dummy hash lets callers spend the same time on unknown users.
 * @module
 */
import { randomBytes, scrypt, timingSafeEqual, type ScryptOptions } from 'node:crypto'

/** scrypt work factor N (2^14, OWASP's minimum for r=8, p=1); tests may lower it. */
export const DEFAULT_SCRYPT_N = 16384
const R = 8
const P = 1
const KEY_BYTES = 32
/** Passwords longer than this are refused before hashing (scrypt cost is per byte anyway). */
export const MAX_PASSWORD_LENGTH = 1024

function scryptAsync(password: string, salt: Buffer, opts: ScryptOptions): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    scrypt(
      password,
      salt,
      KEY_BYTES,
      Object.assign({}, opts, { maxmem: 64 * 1024 * 1024 }),
      (err, key) => {
        if (err) reject(err)
        else resolve(key)
      },
    )
  })
}

export async function hashPassword(
  password: string,
  N: number = DEFAULT_SCRYPT_N,
): Promise<string> {
  if (!Number.isInteger(Math.log2(N)) || N < 2) throw new Error('scrypt N must be a power of two')
  const salt = randomBytes(16)
  const key = await scryptAsync(password, salt, { N, r: R, p: P })
  return `scrypt$${N}$${R}$${P}$${salt.toString('base64url')}$${key.toString('base64url')}`
}

/** True when `password` matches `hash`; false (never a throw) for a malformed hash. */
export async function verifyPassword(password: string, hash: string): Promise<boolean> {
  const parts = hash.split('$')
  if (parts.length !== 6 || parts[0] !== 'scrypt') return false
  const [N, r, p] = [Number(parts[1]), Number(parts[2]), Number(parts[3])]
  if (![N, r, p].every((n) => Number.isInteger(n) && n > 0) || N > 1 << 20) return false
  const salt = Buffer.from(parts[4] ?? '', 'base64url')
  const expected = Buffer.from(parts[5] ?? '', 'base64url')
  if (expected.length !== KEY_BYTES || password.length > MAX_PASSWORD_LENGTH) return false
  const got = await scryptAsync(password, salt, { N, r, p })
  return timingSafeEqual(got, expected)
}

const dummies = new Map<number, Promise<string>>()
/** Burn one verification's worth of time (unknown user), always false. */
export async function verifyAgainstDummy(
  password: string,
  N: number = DEFAULT_SCRYPT_N,
): Promise<false> {
  let dummy = dummies.get(N)
  if (dummy === undefined) {
    dummy = hashPassword(randomBytes(16).toString('hex'), N)
    dummies.set(N, dummy)
  }
  await verifyPassword(password.slice(0, MAX_PASSWORD_LENGTH), await dummy)
  return false
}
