/**
 * Policies: the policy engine's PolicyProvider. Answers are shared, never copied per request
 * (they are read-only): the directory rebuilds a user's whenever the feed says the user changed,
 * and a session's answer is rebuilt when its parent's identity policies are no longer the same
 * objects.
 * @module
 */
import { MASTER_KEY_POLICY } from '../policy/presets.js'
import type { ParentRef } from '../auth/principal.js'
import type { Directory } from './directory.js'
import type { KnownPrincipal } from './model.js'
import type { SessionCache, SessionEntry } from './session-cache.js'
import type { PolicyProvider, PrincipalPolicies } from './types.js'

/** policiesFor answers shared by every request (frozen: callers only read them). */
const MASTER_POLICIES: PrincipalPolicies = Object.freeze({
  identity: Object.freeze([MASTER_KEY_POLICY]),
})
const NO_POLICIES: PrincipalPolicies = Object.freeze({ identity: Object.freeze([]) })

export class Policies implements PolicyProvider {
  private readonly dir: Directory
  private readonly cache: SessionCache

  constructor(dir: Directory, cache: SessionCache) {
    this.dir = dir
    this.cache = cache
  }

  private userPolicies(userId: string): PrincipalPolicies {
    return this.dir.user(userId)?.policies ?? NO_POLICIES
  }

  private parentPolicies(parent: ParentRef): PrincipalPolicies {
    return parent.kind === 'account-root' ? MASTER_POLICIES : this.userPolicies(parent.userId)
  }

  /** From memory for a key, a user or a cached session; a session not cached is loaded first. */
  policiesFor(p: KnownPrincipal): PrincipalPolicies | Promise<PrincipalPolicies> {
    switch (p.kind) {
      case 'account-root':
        return MASTER_POLICIES
      case 'user':
        return this.userPolicies(p.userId)
      case 'session': {
        const e = this.cache.lru.get(p.accessKeyId)
        return e !== undefined ? this.sessionPolicies(e) : this.loadedSessionPolicies(p.accessKeyId)
      }
    }
  }

  private async loadedSessionPolicies(accessKeyId: string): Promise<PrincipalPolicies> {
    const e = await this.cache.entry(accessKeyId)
    return e ? this.sessionPolicies(e) : NO_POLICIES
  }

  private sessionPolicies(e: SessionEntry): PrincipalPolicies {
    const parent = this.parentPolicies(e.parent)
    if (e.layers.length === 0) return parent
    const identity = parent.identity
    if (e.policies?.identity !== identity)
      e.policies = { identity, session: e.flat, sessionLayers: e.layers }
    return e.policies
  }
}
