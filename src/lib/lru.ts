/**
 * A small bounded LRU over Map insertion order (the session and signing-key caches): set() evicts the least
 * recently used entry beyond `max`. get() moves an entry to the young end only once it has aged
 * past a quarter of the capacity: re-inserting on every hit (a Map delete and set) cost about half
 * a microsecond per lookup on the hottest path, and an entry refreshed that often can never reach
 * the eviction end: an entry used at least once every three quarters of `max` insertions is never
 * evicted, as with a strict LRU; only entries idle that long are ordered by their last refresh.
 * @module
 */
import { OldestFirst } from './oldest-first.js'

interface Slot<V> {
  readonly value: V
  /** `tick` when the entry was last (re)inserted. */
  stamp: number
}

export class Lru<K, V> {
  private readonly max: number
  private readonly refreshAfter: number
  private readonly map = new Map<K, Slot<V>>()
  /** Eviction's place in the map (a kept iterator: see lib/oldest-first.ts). */
  private readonly oldest = new OldestFirst<K>(this.map)
  private tick = 0

  constructor(max: number) {
    this.max = Math.max(1, max)
    this.refreshAfter = Math.floor(this.max / 4)
  }

  get(key: K): V | undefined {
    const slot = this.map.get(key)
    if (slot === undefined) return undefined
    if (this.tick - slot.stamp > this.refreshAfter) {
      slot.stamp = ++this.tick
      this.map.delete(key)
      this.map.set(key, slot)
    }
    return slot.value
  }

  set(key: K, value: V): void {
    this.map.delete(key)
    this.add(key, value)
  }

  /**
   * `set` for a key the caller knows is absent (a new session's id, just inserted under the
   * sessions table's primary key): no lookup to take an old entry out first. Were the key present after all, its value
   * is replaced and it keeps its place in the order.
   */
  add(key: K, value: V): void {
    this.map.set(key, { value, stamp: ++this.tick })
    while (this.map.size > this.max) {
      const oldest = this.oldest.next()
      if (oldest === undefined) break
      this.map.delete(oldest)
    }
  }

  delete(key: K): boolean {
    return this.map.delete(key)
  }

  keys(): IterableIterator<K> {
    return this.map.keys()
  }

  *values(): IterableIterator<V> {
    for (const slot of this.map.values()) yield slot.value
  }

  get size(): number {
    return this.map.size
  }
}
