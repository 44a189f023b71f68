/**
 * A string that owns its characters. V8 makes a substring of 13 characters or more (a form
 * field's value, a regex match) a "sliced string": a view that keeps the whole parent alive. A
 * value kept for long, as a cached session keeps its RoleSessionName, then pins the entire request
 * body it was read from (measured: a 1.7 KB form body per cached session). Concatenating one
 * character makes a new string and slicing it off flattens that into fresh memory of the value's
 * own length, so the parent can be collected.
 * @module
 */

/** The shortest substring V8 makes a view of (SlicedString::kMinLength); shorter ones are copies. */
const SLICE_MIN = 13

/** `s` with characters of its own (equal to `s`); short strings come back as they are. */
export function ownString(s: string): string {
  return s.length < SLICE_MIN ? s : (' ' + s).slice(1)
}
