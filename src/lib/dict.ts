/**
 * Records keyed by user input (tag keys, metadata names, form fields), made without a prototype
 * so `__proto__`, `constructor`, `toString`, ... are ordinary own keys. On a plain `{}`,
 * `o['__proto__'] = v` sets the prototype instead of storing a key (the key silently vanished and
 * `Object.hasOwn` then missed a duplicate), and `o['constructor']` reads Object's own function.
 * The storage interfaces keep records (JSON-serialised, which keeps such keys as data), so the
 * records themselves are made safe rather than swapped for Maps at every boundary.
 * @module
 */

/** An empty record with no prototype. */
export function dict<V>(): Record<string, V> {
  return Object.create(null) as Record<string, V>
}
