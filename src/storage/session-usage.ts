/**
 * Upload-cap counters of temporary credentials (latchkey:max-bytes, latchkey:max-objects): what a
 * session has written, counted for the whole cluster, apart from the issuance buckets of
 * shared-limits.ts (same port, separate methods and rows).
 *
 * A counter is keyed by a session's access key id (the S3 writers use the first session of a role
 * chain, so every chained session counts into one total and none can escape its caller's cap).
 * A write reserves before it stores: `reserve` adds its bytes/objects to the counter only if every
 * given cap still holds afterwards (atomically: on PostgreSQL one INSERT … ON CONFLICT DO UPDATE
 * … WHERE … RETURNING, in memory one synchronous step), so concurrent writers on any node cannot
 * together cross a cap. What was reserved but not stored is given back with `release`; `commit`
 * settles a reservation with the amount actually stored (releasing the difference). In-flight
 * reservations count as used: a crash between reserve and release leaves them counted, failing
 * closed. A counter expires with its session (`expiresAt`, the latest of the sessions using it)
 * and is dropped by the limits' sweep.
 * @module
 */

export type Awaitable<T> = T | Promise<T>

export interface UsageDelta {
  readonly bytes: number
  readonly objects: number
}

export interface UsageCaps {
  readonly maxBytes?: number
  readonly maxObjects?: number
}

/** Refused: which cap, and the counter's values at the time. */
export interface UsageRefusal {
  readonly cap: 'max-bytes' | 'max-objects'
  readonly used: UsageDelta
}

export interface SessionUsage {
  /** Add `delta` unless a cap would be crossed: undefined when reserved, else the refusal. */
  reserveUsage(
    key: string,
    delta: UsageDelta,
    caps: UsageCaps,
    expiresAt: number,
  ): Awaitable<UsageRefusal | undefined>
  /**
   * A reservation of `reserved` stored `stored`: the counter is set right by the difference (the
   * unused rest given back; more than reserved, possible only for what no cap bounds, e.g. the
   * bytes of a session with only an object cap, added so the usage shown is what was written).
   */
  commitUsage(key: string, reserved: UsageDelta, stored: UsageDelta): Awaitable<void>
  /** Give back a reservation that stored nothing. */
  releaseUsage(key: string, delta: UsageDelta): Awaitable<void>
  /** Counters by key (absent: nothing written). */
  usageOf(keys: readonly string[]): Awaitable<ReadonlyMap<string, UsageDelta>>
}

/** What crossing `caps` by adding `delta` to `used` would cross, if anything. */
export function crossedCap(
  used: UsageDelta,
  delta: UsageDelta,
  caps: UsageCaps,
): UsageRefusal['cap'] | undefined {
  if (caps.maxBytes !== undefined && delta.bytes > 0 && used.bytes + delta.bytes > caps.maxBytes)
    return 'max-bytes'
  if (
    caps.maxObjects !== undefined &&
    delta.objects > 0 &&
    used.objects + delta.objects > caps.maxObjects
  )
    return 'max-objects'
  return undefined
}
