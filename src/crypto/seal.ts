/**
 * Secrets at rest: every secret Latchkey keeps (master-key secrets, user key secrets, session
 * secrets, TOTP seeds) is sealed with AES-256-GCM under a key derived from the master encryption
 * key, and bound by AAD to the row it belongs to, so a ciphertext copied into another row does
 * not open. The format is versioned (`v1.` + base64url(nonce | ciphertext | tag)) so the
 * algorithm or key can be rotated later without guessing what a stored value is.
 * @module
 */
import { createCipheriv, createDecipheriv, hkdfSync, timingSafeEqual } from 'node:crypto'
import { sharedRandomPool } from '../lib/random-pool.js'

const VERSION = 'v1'
const NONCE_BYTES = 12
const TAG_BYTES = 16

/** HKDF labels of the sub-keys derived from the master key; one purpose per key. */
export const KEY_LABELS = {
  seal: 'latchkey/seal/v1',
  sessionToken: 'latchkey/session-token-hmac/v1',
  adminJwt: 'latchkey/admin-jwt/v1',
  /** Session secrets derived per row (session-secret.ts), not sealed. */
  sessionSecret: 'latchkey/session-secret/v1',
} as const

/** A 32-byte sub-key for one purpose (HKDF-SHA256, empty salt, `label` as info). */
export function deriveKey(master: Buffer, label: string): Buffer {
  if (master.length !== 32) throw new Error('master key must be 32 bytes')
  return Buffer.from(hkdfSync('sha256', master, Buffer.alloc(0), label, 32))
}

/** Encrypt `plaintext` under `key` (32 bytes), authenticated together with `aad`. */
export function seal(key: Buffer, plaintext: string, aad: string): string {
  if (key.length !== 32) throw new Error('seal key must be 32 bytes')
  const nonce = sharedRandomPool.bytes(NONCE_BYTES)
  const cipher = createCipheriv('aes-256-gcm', key, nonce)
  cipher.setAAD(Buffer.from(aad, 'utf8'))
  const ct = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()])
  const tag = cipher.getAuthTag()
  return `${VERSION}.${Buffer.concat([nonce, ct, tag]).toString('base64url')}`
}

/** Decrypt a value made by `seal`. Throws on a wrong key, wrong AAD, tampering or bad format. */
export function unseal(key: Buffer, sealed: string, aad: string): string {
  const dot = sealed.indexOf('.')
  if (dot < 0 || sealed.slice(0, dot) !== VERSION) throw new Error('sealed value: unknown format')
  const raw = Buffer.from(sealed.slice(dot + 1), 'base64url')
  if (raw.length < NONCE_BYTES + TAG_BYTES) throw new Error('sealed value: truncated')
  const nonce = raw.subarray(0, NONCE_BYTES)
  const tag = raw.subarray(raw.length - TAG_BYTES)
  const ct = raw.subarray(NONCE_BYTES, raw.length - TAG_BYTES)
  const decipher = createDecipheriv('aes-256-gcm', key, nonce)
  decipher.setAAD(Buffer.from(aad, 'utf8'))
  decipher.setAuthTag(tag)
  try {
    return Buffer.concat([decipher.update(ct), decipher.final()]).toString('utf8')
  } catch {
    throw new Error('sealed value: authentication failed (wrong key or tampered)')
  }
}

/** Constant-time string equality (lengths are compared on SHA-256-free padded buffers). */
export function timingSafeEqualStr(a: string, b: string): boolean {
  const ab = Buffer.from(a, 'utf8')
  const bb = Buffer.from(b, 'utf8')
  if (ab.length !== bb.length) {
    // Still spend a comparison so the early exit does not depend on content.
    timingSafeEqual(ab, ab)
    return false
  }
  return timingSafeEqual(ab, bb)
}
