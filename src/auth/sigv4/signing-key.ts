/**
 * SigV4 signing keys: the HMAC chain "AWS4"+secret → date → region → service → aws4_request,
 * and a bounded cache of derived keys. The cache key includes the credential's secret version,
 * so resetting a secret misses at once; the secret itself is never stored.
 * @module
 */
import { Lru } from '../../lib/lru.js'
import { hmacSha256, SCOPE_TERMINATOR, type Scope } from './string-to-sign.js'

export function deriveSigningKey(
  secret: string,
  date: string,
  region: string,
  service: string,
): Buffer {
  const kDate = hmacSha256(`AWS4${secret}`, date)
  const kRegion = hmacSha256(kDate, region)
  const kService = hmacSha256(kRegion, service)
  return hmacSha256(kService, SCOPE_TERMINATOR)
}

/**
 * LRU of derived keys (the shared Lru). Keys are valid for one scope date, so entries age out.
 */
export class SigningKeyCache {
  private readonly entries: Lru<string, Buffer>

  constructor(maxEntries = 4096) {
    this.entries = new Lru(Math.max(1, maxEntries))
  }

  get size(): number {
    return this.entries.size
  }

  get(accessKeyId: string, secretVersion: string | number, secret: string, scope: Scope): Buffer {
    const id = `${accessKeyId}\u0000${secretVersion}\u0000${scope.date}\u0000${scope.region}\u0000${scope.service}`
    const hit = this.entries.get(id)
    if (hit !== undefined) return hit
    const key = deriveSigningKey(secret, scope.date, scope.region, scope.service)
    this.entries.set(id, key)
    return key
  }

  /** Drop every cached key of one access key (e.g. on revocation). */
  forget(accessKeyId: string): void {
    const prefix = `${accessKeyId}\u0000`
    for (const k of [...this.entries.keys()]) if (k.startsWith(prefix)) this.entries.delete(k)
  }
}
