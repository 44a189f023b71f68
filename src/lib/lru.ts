/**
 * A small bounded LRU over Map insertion order (the session and signing-key caches): set() evicts the least
 * recently used entry beyond `max`. get() moves an entry to the young end only once it has aged
 * past a quarter of the capacity: re-inserting on every hit (a Map delete and set) cost about half
 * a microsecond per lookup on the hottest path, and an entry refreshed that often can never reach
 * the eviction end: an entry used at least once every three quarters of `max` insertions is never
 * evicted, as with a strict LRU; only entries idle that long are ordered by their last refresh.
 * @module
 */
interface Slot<V> {
  readonly value: V
  /** `tick` when the entry was last (re)inserted. */
  stamp: number
}

export class Lru<K, V> {
  private readonly max: number
  private readonly refreshAfter: number
  private readonly map = new Map<K, Slot<V>>()
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
    this.map.set(key, { value, stamp: ++this.tick })
    while (this.map.size > this.max) {
      const first = this.map.keys().next()
      if (first.done) break
      this.map.delete(first.value)
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
