/**
 * S3 orders keys by their UTF-8 bytes, which equals Unicode code-point order. JavaScript's `<`
 * compares UTF-16 code units (wrong above U+FFFF), so listing code uses these helpers instead.
 * SQLite's BINARY collation memcmp()s the stored UTF-8, so SQL ranges built from them agree.
 * @module
 */

/** Compare two strings in UTF-8 byte order (= code-point order). */
export function compareKeys(a: string, b: string): number {
  if (a === b) return 0
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'))
}

/**
 * The smallest string greater than every string that starts with `s`: `s` with its last code
 * point incremented (skipping the surrogate block; dropping trailing U+10FFFF). `undefined` when
 * no such string exists (empty, or all U+10FFFF), meaning "no upper bound".
 */
export function successor(s: string): string | undefined {
  const cps = Array.from(s)
  while (cps.length > 0) {
    const last = (cps.pop() ?? '').codePointAt(0) ?? 0x10ffff
    if (last < 0x10ffff) {
      let next = last + 1
      if (next >= 0xd800 && next <= 0xdfff) next = 0xe000
      cps.push(String.fromCodePoint(next))
      return cps.join('')
    }
  }
  return undefined
}
