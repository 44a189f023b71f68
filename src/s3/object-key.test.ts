/** checkObjectKey: the one key rule (length in UTF-8 bytes, no `..` segment). */
import { describe, expect, it } from 'vitest'
import { S3Error } from './errors.js'
import { MAX_KEY_BYTES, checkObjectKey } from './object-key.js'

function codeOf(key: string): string {
  try {
    checkObjectKey(key)
    return 'OK'
  } catch (e) {
    if (e instanceof S3Error) return e.code
    throw e
  }
}

describe('checkObjectKey', () => {
  it('accepts ordinary keys, dots that are not a whole segment, and exactly 1024 bytes', () => {
    for (const k of ['a', 'a/b/c.txt', '.', './a', 'a/./b', '...', 'a..b/..c', 'a/b..', '/a//b/']) {
      expect(codeOf(k), k).toBe('OK')
    }
    expect(codeOf('k'.repeat(MAX_KEY_BYTES))).toBe('OK')
    expect(codeOf('€'.repeat(341) + 'k')).toBe('OK') // 3 * 341 + 1 = 1024 bytes
  })

  it('KeyTooLongError beyond 1024 UTF-8 bytes (not UTF-16 units)', () => {
    expect(codeOf('k'.repeat(MAX_KEY_BYTES + 1))).toBe('KeyTooLongError')
    expect(codeOf('€'.repeat(342))).toBe('KeyTooLongError') // 342 units, 1026 bytes
    expect(codeOf('😀'.repeat(257))).toBe('KeyTooLongError') // 514 units, 1028 bytes
  })

  it("InvalidArgument for a '..' segment anywhere", () => {
    for (const k of ['..', '../a', 'a/..', 'a/../b', 'a/b/../../c', '/..', '../']) {
      expect(codeOf(k), k).toBe('InvalidArgument')
    }
    try {
      checkObjectKey('a/../b')
    } catch (e) {
      expect((e as S3Error).message).toBe(
        "Object key contains a '..' path segment, which is not allowed.",
      )
    }
  })

  it('InvalidArgument for a NUL character anywhere (PostgreSQL text and XML 1.0 cannot hold it)', () => {
    for (const k of ['\u0000', 'a\u0000b', 'dir/\u0000']) expect(codeOf(k)).toBe('InvalidArgument')
    expect(codeOf('a\u0001b')).toBe('OK')
  })
})
