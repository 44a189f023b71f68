/**
 * The policy engine's port to the identity domain: the compiled policies that decide one
 * principal's requests. iam/ implements it (role presets, user policies, session layers, compiled
 * once and cached); `authorize` (authorize.ts) consumes it for every surface.
 * @module
 */
import type { Principal } from '../auth/principal.js'
import type { CompiledPolicy } from './document.js'

/** The policies that decide a principal's requests (compiled once, cached). */
export interface PrincipalPolicies {
  /** Identity-based policies: role preset, user extra policy, master key's full-rights policy. */
  readonly identity: readonly CompiledPolicy[]
  /**
   * Every session policy of the session in one list (inline + PolicyArns, and those inherited
   * through role chaining). Enough for a session with one layer; with several, decide with
   * `sessionLayers` (a flat list would union what must be intersected).
   */
  readonly session?: readonly CompiledPolicy[]
  /**
   * Role chaining: one layer per AssumeRole that gave session policies, oldest ancestor first.
   * The session may do only what its parent's identity policies AND every layer allow (within a
   * layer allows union). Present whenever `session` is.
   */
  readonly sessionLayers?: readonly (readonly CompiledPolicy[])[]
}

export interface PolicyProvider {
  /** From memory when it can be (a key, a user, a cached session): then there is no await. */
  policiesFor(
    p: Exclude<Principal, { kind: 'anonymous' }>,
  ): PrincipalPolicies | Promise<PrincipalPolicies>
}
