/**
 * A small bounded LRU over Map insertion order, for the session cache: get() refreshes, set()
 * evicts the least recently used entry beyond `max`.
 * @module
 */
export class Lru<K, V> {
  private readonly max: number
  private readonly map = new Map<K, V>()

  constructor(max: number) {
    this.max = Math.max(1, max)
  }

  get(key: K): V | undefined {
    const v = this.map.get(key)
    if (v !== undefined) {
      this.map.delete(key)
      this.map.set(key, v)
    }
    return v
  }

  set(key: K, value: V): void {
    this.map.delete(key)
    this.map.set(key, value)
    while (this.map.size > this.max) {
      const first = this.map.keys().next()
      if (first.done) break
      this.map.delete(first.value)
    }
  }

  delete(key: K): boolean {
    return this.map.delete(key)
  }

  values(): IterableIterator<V> {
    return this.map.values()
  }

  get size(): number {
    return this.map.size
  }
}
