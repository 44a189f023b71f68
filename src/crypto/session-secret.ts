/**
 * Session secrets at rest. A new session's secret is not random-then-sealed but derived: 40
 * alphanumerics from HMAC-SHA512, under a master-key-derived key (`KEY_LABELS.sessionSecret`), of
 * a random 16-byte salt and the row's label (`session:<access key id>`); the row stores only
 * `d1.` + the salt. The protection is the sealed form's: without the master key neither a sealed
 * value nor a salt yields the secret, and a salt copied into another row derives another secret.
 * Why: AES-256-GCM sealing costs an OpenSSL cipher context per session (~13 µs inside the server,
 * a sixth of AssumeRole's budget); one HMAC from two one-shot hashes costs a few µs.
 *
 * Rows written before this (`v1.…`, sealed by crypto/seal.ts) stay readable: `openSessionSecret`
 * tells the two forms apart by their prefix.
 * @module
 */
import { hmacSha512Latin1 } from './hash.js'
import { unseal } from './seal.js'
import { sharedRandomPool } from '../lib/random-pool.js'

const DERIVED = 'd1.'
const SALT_BYTES = 16
const SECRET_CHARS = 40
const ALNUM = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789'

/** The keys a session secret may need: `seal` for old sealed rows, `derive` for derived ones. */
export interface SessionSecretKeys {
  readonly seal: Buffer
  readonly derive: Buffer
}

function derived(key: Buffer, salt: Buffer, label: string): string {
  // 64 HMAC-SHA512 bytes for 40 characters; `% 62` leaves a bias of under 1 bit in all (~238).
  const msg = Buffer.allocUnsafe(salt.length + Buffer.byteLength(label, 'utf8'))
  salt.copy(msg, 0)
  msg.write(label, salt.length, 'utf8')
  // The MAC as a string, not a Buffer (see hmacSha512Latin1); it is no more secret than the
  // secret made from it, which the session cache keeps as a string too.
  const mac = hmacSha512Latin1(key, msg)
  let out = ''
  for (let i = 0; i < SECRET_CHARS; i++) out += ALNUM[mac.charCodeAt(i) % 62]!
  return out
}

/** A new session's secret and what its row stores instead of it (`d1.` + base64url salt). */
export function newSessionSecret(key: Buffer, label: string): { secret: string; stored: string } {
  if (key.length !== 32) throw new Error('session secret key must be 32 bytes')
  const salt = sharedRandomPool.bytes(SALT_BYTES)
  return { secret: derived(key, salt, label), stored: DERIVED + salt.toString('base64url') }
}

/** True when `stored` is the derived form (nothing to decrypt, nothing to authenticate). */
export function isDerivedSecret(stored: string): boolean {
  return stored.startsWith(DERIVED)
}

/** The secret of a session row, derived (`d1.`) or sealed (`v1.`). Throws on a bad format. */
export function openSessionSecret(keys: SessionSecretKeys, stored: string, label: string): string {
  if (!isDerivedSecret(stored)) return unseal(keys.seal, stored, label)
  const salt = Buffer.from(stored.slice(DERIVED.length), 'base64url')
  if (salt.length !== SALT_BYTES) throw new Error('derived secret: bad salt')
  return derived(keys.derive, salt, label)
}
