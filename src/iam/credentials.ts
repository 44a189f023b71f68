/**
 * Credentials: auth's CredentialProvider. `resolve` runs on every signed request, so it answers
 * from memory (the directory for long-term keys, the session cache for sessions) without awaiting
 * anything in the common case; `checkSessionToken` proves X-Amz-Security-Token against the stored
 * HMAC once per token and then by a constant-time compare with the bytes last proven.
 * @module
 */
import { timingSafeEqual } from 'node:crypto'
import { hmacSha256 } from '../crypto/hash.js'
import { SESSION_KEY_RE, TOKEN_PREFIX, type IamContext } from './common.js'
import type { Directory } from './directory.js'
import type { SessionCache, SessionEntry } from './session-cache.js'
import type { CredentialProvider, ResolvedCredential, TokenCheck } from './types.js'

/** Room for the longest token accepted (256 UTF-16 units, at most 3 UTF-8 bytes each). */
const SCRATCH = Buffer.allocUnsafeSlow(1024)

export class Credentials implements CredentialProvider {
  private readonly ctx: IamContext
  private readonly cache: SessionCache
  private readonly dir: Directory

  constructor(ctx: IamContext, cache: SessionCache) {
    this.ctx = ctx
    this.cache = cache
    this.dir = ctx.dir
  }

  /**
   * A key's or a cached live session's credential from memory, without an await (every signed
   * request asks); a promise only when a session has to be loaded or its liveness checked.
   */
  resolve(
    accessKeyId: string,
  ): ResolvedCredential | undefined | Promise<ResolvedCredential | undefined> {
    const longTerm = this.dir.longTermCredential(accessKeyId)
    if (longTerm !== null) return longTerm
    if (!SESSION_KEY_RE.test(accessKeyId)) return undefined
    const cached = this.cache.lru.get(accessKeyId)
    if (cached !== undefined) {
      if (cached.revoked) return undefined
      if (this.cache.aliveFromMemory(cached) === true) return cached.cred
    }
    return this.resolveSession(accessKeyId, cached)
  }

  private async resolveSession(
    accessKeyId: string,
    cached: SessionEntry | undefined,
  ): Promise<ResolvedCredential | undefined> {
    const e = cached ?? (await this.cache.entry(accessKeyId))
    if (!e || e.revoked) return undefined
    const live = this.cache.aliveFromMemory(e)
    if (live === false || (live === undefined && !(await this.cache.alive(e)))) {
      await this.cache.kill(e)
      return undefined
    }
    return e.cred
  }

  checkSessionToken(cred: ResolvedCredential, token: string | undefined, now: number): TokenCheck {
    const given = token ?? ''
    if (!cred.session) return given === '' ? 'ok' : 'invalid'
    const e = this.cache.of(cred)
    if (!e || e.revoked) return 'invalid'
    if (e.tokenHmac) {
      if (given === '') return 'missing'
      if (!given.startsWith(TOKEN_PREFIX) || given.length > 256) return 'invalid'
      // The token's bytes in a scratch buffer (used synchronously): a request allocates nothing
      // for its token, and what is kept is a buffer of its own, not a slice pinning Node's pool.
      const n = SCRATCH.write(given)
      const bytes = SCRATCH.subarray(0, n)
      const known = e.verifiedToken
      if (known === undefined || known.length !== n || !timingSafeEqual(known, bytes)) {
        const mac = hmacSha256(this.ctx.tokenKey, bytes)
        if (!timingSafeEqual(mac, Buffer.from(e.tokenHmac, 'hex'))) return 'invalid'
        const copy = Buffer.allocUnsafeSlow(n)
        bytes.copy(copy)
        e.verifiedToken = copy
      }
    } else if (given !== '') {
      return 'invalid'
    }
    return now >= e.row.expiresAt ? 'expired' : 'ok'
  }
}
