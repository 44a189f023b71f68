/**
 * SHA-256 and HMAC-SHA256 for the hot paths (SigV4 on every request, session tokens), and
 * HMAC-SHA512 (derived session secrets), in one native call per hash where Node offers it.
 * @module
 */
import * as crypto from 'node:crypto'
import { createHash, createHmac } from 'node:crypto'

// crypto.hash (Node ≥ 20.12) hashes in one native call, about twice as fast as createHash for the
// few hundred bytes of a canonical request; older 20.x releases fall back to createHash.
const oneShot = (crypto as { hash?: typeof crypto.hash }).hash

export function sha256Hex(data: string | Uint8Array): string {
  return oneShot !== undefined
    ? oneShot('sha256', data, 'hex')
    : createHash('sha256').update(data).digest('hex')
}

/**
 * HMAC-SHA256 (RFC 2104) from two one-shot hashes. Node's createHmac builds an OpenSSL MAC
 * context per call, which costs far more inside a busy server than the hashing itself (measured:
 * about 25 µs of a 4 KiB GET's CPU); SHA-256 over (key ⊕ ipad ‖ data), then over
 * (key ⊕ opad ‖ inner), is the same function (checked against createHmac in the tests).
 */
export function hmacSha256(key: Uint8Array | string, data: string | Uint8Array): Buffer {
  return hmacOneShot('sha256', 64, 32, key, data)
}

/** HMAC-SHA256 in lower-case hex (a stored token MAC): no Buffer for the digest. */
export function hmacSha256Hex(key: Uint8Array | string, data: string | Uint8Array): string {
  return hmacOneShot('sha256', 64, 32, key, data, 'hex')
}

/** HMAC-SHA512 the same way (64 bytes out: a derived session secret from one MAC). */
export function hmacSha512(key: Uint8Array | string, data: string | Uint8Array): Buffer {
  return hmacOneShot('sha512', 128, 64, key, data)
}

/**
 * HMAC-SHA512 as a latin1 string (one character per byte): what a caller that only reads the
 * bytes wants. A digest as a Buffer is a native ArrayBuffer of its own, which costs ~0.8 µs more to
 * make and collect than the whole HMAC's two hashes of a short message.
 */
export function hmacSha512Latin1(key: Uint8Array | string, data: string | Uint8Array): string {
  return hmacOneShot('sha512', 128, 64, key, data, 'latin1')
}

function hmacOneShot(
  alg: 'sha256' | 'sha512',
  block: number,
  size: number,
  key: Uint8Array | string,
  data: string | Uint8Array,
): Buffer
function hmacOneShot(
  alg: 'sha256' | 'sha512',
  block: number,
  size: number,
  key: Uint8Array | string,
  data: string | Uint8Array,
  out: 'hex' | 'latin1',
): string
function hmacOneShot(
  alg: 'sha256' | 'sha512',
  block: number,
  size: number,
  key: Uint8Array | string,
  data: string | Uint8Array,
  out?: 'hex' | 'latin1',
): Buffer | string {
  if (oneShot === undefined) {
    const mac = createHmac(alg, key).update(data)
    return out !== undefined ? mac.digest(out === 'latin1' ? 'binary' : 'hex') : mac.digest()
  }
  const fromText = typeof key === 'string' ? Buffer.from(key, 'utf8') : undefined
  let k: Uint8Array = fromText ?? (key as Uint8Array)
  if (k.length > block) k = oneShot(alg, k, 'buffer')
  const dataLength = typeof data === 'string' ? Buffer.byteLength(data, 'utf8') : data.length
  const inner = Buffer.allocUnsafe(block + dataLength)
  const outer = Buffer.allocUnsafe(block + size)
  for (let i = 0; i < block; i++) {
    const b = k[i] ?? 0
    inner[i] = b ^ 0x36
    outer[i] = b ^ 0x5c
  }
  if (typeof data === 'string') inner.write(data, block, 'utf8')
  else inner.set(data, block)
  // The inner digest as a latin1 string (one char per byte) rather than a Buffer: a native
  // Buffer is an ArrayBuffer of its own per call, which costs more to make and to collect.
  outer.write(oneShot(alg, inner, 'binary'), block, 'latin1')
  const mac =
    out === 'hex'
      ? oneShot(alg, outer, 'hex')
      : out === 'latin1'
        ? oneShot(alg, outer, 'binary')
        : oneShot(alg, outer, 'buffer')
  // The scratch buffers (and a key given as text) come from node's shared pool: leave no key
  // material behind in it.
  inner.fill(0, 0, block)
  outer.fill(0)
  fromText?.fill(0)
  return mac
}
