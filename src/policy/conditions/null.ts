/**
 * Null: `{"Null": {"key": "true"}}` holds when the key is absent (or has no values);
 * `"false"` when it is present. It takes no IfExists or set qualifier.
 * @module
 */
import { PolicyError } from '../types.js'

/** Compile the policy's values into a presence test. */
export function compileNull(
  values: readonly string[],
  where: string,
): (present: boolean) => boolean {
  let wantAbsent = false
  let wantPresent = false
  for (const s of values) {
    const l = s.toLowerCase()
    if (l === 'true') wantAbsent = true
    else if (l === 'false') wantPresent = true
    else throw new PolicyError(`${where}: '${s}' is not a boolean (true or false)`)
  }
  return (present) => (present ? wantPresent : wantAbsent)
}
