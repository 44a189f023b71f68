/**
 * Upload-cap counters in process memory (storage/session-usage.ts): the memory and SQLite bundles
 * (one process owns a SQLite file, so an in-process map sees every write there is). Synchronous,
 * so a reservation is atomic by construction. Not persisted by itself: the SQLite bundle keeps
 * its checks here and writes every changed counter through to its database
 * (backends/sqlite/shared-limits.ts), loading them back with `seedUsage` when it opens.
 * @module
 */
import {
  crossedCap,
  type SessionUsage,
  type UsageCaps,
  type UsageDelta,
  type UsageRefusal,
} from '../../storage/session-usage.js'

export interface Counter {
  bytes: number
  objects: number
  expiresAt: number
}

export class MemorySessionUsage implements SessionUsage {
  private readonly counters = new Map<string, Counter>()

  reserveUsage(
    key: string,
    delta: UsageDelta,
    caps: UsageCaps,
    expiresAt: number,
  ): UsageRefusal | undefined {
    const c = this.counters.get(key) ?? { bytes: 0, objects: 0, expiresAt }
    const cap = crossedCap(c, delta, caps)
    if (cap !== undefined) return { cap, used: { bytes: c.bytes, objects: c.objects } }
    c.bytes += delta.bytes
    c.objects += delta.objects
    c.expiresAt = Math.max(c.expiresAt, expiresAt)
    this.counters.set(key, c)
    return undefined
  }

  commitUsage(key: string, reserved: UsageDelta, stored: UsageDelta): void {
    const c = this.counters.get(key)
    if (c === undefined) return
    c.bytes = Math.max(0, c.bytes + stored.bytes - reserved.bytes)
    c.objects = Math.max(0, c.objects + stored.objects - reserved.objects)
  }

  releaseUsage(key: string, delta: UsageDelta): void {
    const c = this.counters.get(key)
    if (c === undefined) return
    c.bytes = Math.max(0, c.bytes - delta.bytes)
    c.objects = Math.max(0, c.objects - delta.objects)
  }

  usageOf(keys: readonly string[]): ReadonlyMap<string, UsageDelta> {
    const out = new Map<string, UsageDelta>()
    for (const k of keys) {
      const c = this.counters.get(k)
      if (c !== undefined) out.set(k, { bytes: c.bytes, objects: c.objects })
    }
    return out
  }

  /** A counter as it is now, expiry included (what the SQLite bundle writes through). */
  counterOf(key: string): Readonly<Counter> | undefined {
    return this.counters.get(key)
  }

  /** Put back a counter read from storage (the SQLite bundle's open). */
  seedUsage(key: string, used: UsageDelta, expiresAt: number): void {
    this.counters.set(key, { bytes: used.bytes, objects: used.objects, expiresAt })
  }

  /** Forget the counters of sessions expired by `now`. */
  sweepUsage(now: number): void {
    for (const [k, c] of this.counters) if (c.expiresAt <= now) this.counters.delete(k)
  }
}
