/**
 * The one invalidation path. Every cache in Latchkey (the IAM directory, sessions, bucket
 * policy/CORS/owner, object records) learns that the truth changed only from this feed, never
 * from a callback the writer must remember to call. Stores publish after their write commits
 * (inside the same transaction where the engine allows an outbox), so a change made by another
 * node, by an offline tool, or by a test behind the service's back reaches every cache the same
 * way as a change this process made.
 *
 * Delivery is at least once and in commit order. A subscriber that may have missed changes (a
 * reconnect to a shared database) is told to `resync`: reload whatever it caches. A subscriber's
 * `change` may return a promise (a reload from the store); `applied(seq)` resolves once every
 * subscriber has finished applying every change up to `seq`, which is how an admin revoke or
 * reset makes "refused on the very next request" a property of the call's return.
 * @module
 */

export type Change =
  /** A bucket's policy, CORS, lifecycle rules, ACL, public access block, ownership, existence or owner changed. */
  | {
      readonly kind: 'bucket'
      readonly bucket: string
      readonly part:
        | 'policy'
        | 'cors'
        | 'lifecycle'
        | 'acl'
        | 'public-access-block'
        | 'ownership'
        | 'created'
        | 'deleted'
    }
  /** An object record was written or removed (caches of object records drop the key). */
  | { readonly kind: 'object'; readonly bucket: string; readonly key: string }
  /** An account row changed: master key, allow-list, … */
  | { readonly kind: 'account'; readonly id: string }
  /** A user row or its access key changed (or the user was deleted). */
  | { readonly kind: 'user'; readonly id: string }
  /** The operator (admin login) changed. */
  | { readonly kind: 'operator' }
  /** One session was revoked. */
  | { readonly kind: 'session-revoked'; readonly accessKeyId: string }
  /** Every session under a user, a long-term key, or an account's master key was revoked. */
  | {
      readonly kind: 'sessions-revoked'
      readonly by: 'user' | 'origin-key' | 'account'
      readonly id: string
    }

export interface ChangeSubscriber {
  /** Apply one change. A returned promise is awaited by `applied()`. */
  change(c: Change, seq: number): void | Promise<void>
  /** Changes may have been missed: reload everything cached. */
  resync(): void | Promise<void>
}

export interface ChangeFeed {
  /** Announce committed changes; returns the sequence number of the last one. */
  publish(changes: readonly Change[]): number
  /** The sequence number of the last change this feed delivered (0 before any). */
  head(): number
  /**
   * Whether this node's caches may be trusted for the next request. False while a node sharing
   * the feed may have missed changes: it lost touch with the database long enough that other
   * nodes' `applied()` stopped waiting for it, or it missed notifications and has not finished
   * reloading. Checked on every request (app/dispatch.ts): a node that is not current answers 503
   * rather than authorize from a cache that may still hold a revoked key. Always true in-process.
   */
  readonly current: boolean
  subscribe(s: ChangeSubscriber): () => void
  /**
   * Resolves true once every subscriber has applied every change up to `seq` (on every live node
   * for a shared feed), false when `timeoutMs` passed first.
   */
  applied(seq: number, timeoutMs: number): Promise<boolean>
  close(): Promise<void>
}
