/**
 * A string that owns its characters. V8 makes a substring of 13 characters or more (a form
 * field's value, a regex match) a "sliced string": a view that keeps the whole parent alive. A
 * value kept for long, as a cached session keeps its RoleSessionName, then pins the entire request
 * body it was read from (measured: a 1.7 KB form body per cached session). Concatenating one
 * character makes a new string, and slicing it off flattens that into fresh memory: the result
 * is still a view, but of a copy one character longer than the value, so the body can be
 * collected (checked with %DebugPrint on Node 20: SLICED_ONE_BYTE_STRING_TYPE over a fresh parent;
 * ~12 ns). Only a Buffer round trip gives a flat string (~190 ns): not worth the ~32 bytes.
 * @module
 */

/** The shortest substring V8 makes a view of (SlicedString::kMinLength); shorter ones are copies. */
const SLICE_MIN = 13

/** `s` with characters of its own (equal to `s`); short strings come back as they are. */
export function ownString(s: string): string {
  return s.length < SLICE_MIN ? s : (' ' + s).slice(1)
}
