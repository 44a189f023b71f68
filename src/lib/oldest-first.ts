/**
 * The oldest key of a Map used as an insertion-ordered queue (LRU caches, bounded tables), for
 * evicting one entry after another. Why not `map.keys().next()` per eviction: a Map keeps deleted
 * entries as holes in its insertion order until it rehashes, and a full cache deletes its oldest
 * entry on every insertion, so each fresh iterator walked every hole since the last rehash (up to
 * the table's spare capacity: ~100 µs per eviction at 100,000 entries, which made AssumeRole twice
 * as costly once the session cache was full). One iterator kept over the map moves only forward: a
 * Map iterator skips deleted entries and reaches entries added after it was made (so an entry
 * refreshed by delete-and-set comes up again in its new place), so the holes are walked once.
 * @module
 */
export class OldestFirst<K> {
  private readonly map: Map<K, unknown>
  private it: IterableIterator<K> | undefined

  constructor(map: Map<K, unknown>) {
    this.map = map
  }

  /** The oldest key still in the map, or undefined when it is empty. */
  next(): K | undefined {
    let r = this.it?.next()
    if (r === undefined || r.done === true) {
      // Walked off the end (every key it passed was deleted or moved on): start over.
      this.it = this.map.keys()
      r = this.it.next()
    }
    return r.done === true ? undefined : r.value
  }
}
