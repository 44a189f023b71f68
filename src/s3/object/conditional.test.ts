import { describe, expect, it } from 'vitest'
import { etagListMatches, evaluateConditions, type Conditions } from './conditional.js'

const ETAG = '0123456789abcdef0123456789abcdef'
const LM = Date.UTC(2026, 0, 1, 12, 0, 0, 500) // ms are dropped when compared
const before = new Date(LM - 60_000).toUTCString()
const same = new Date(LM).toUTCString()
const after = new Date(LM + 60_000).toUTCString()

describe('etagListMatches', () => {
  it('matches quoted, unquoted, weak, lists and *', () => {
    expect(etagListMatches(`"${ETAG}"`, ETAG)).toBe(true)
    expect(etagListMatches(ETAG, ETAG)).toBe(true)
    expect(etagListMatches(`W/"${ETAG}"`, ETAG)).toBe(true)
    expect(etagListMatches(`"x", "${ETAG}"`, ETAG)).toBe(true)
    expect(etagListMatches('*', ETAG)).toBe(true)
    expect(etagListMatches('"nope"', ETAG)).toBe(false)
  })
})

describe('evaluateConditions (RFC 7232 order, S3 rules)', () => {
  const cases: [string, Conditions, ReturnType<typeof evaluateConditions>][] = [
    ['none', {}, 'ok'],
    ['If-Match true', { ifMatch: `"${ETAG}"` }, 'ok'],
    ['If-Match false', { ifMatch: '"other"' }, 'precondition-failed'],
    ['If-Unmodified-Since after', { ifUnmodifiedSince: after }, 'ok'],
    ['If-Unmodified-Since same second', { ifUnmodifiedSince: same }, 'ok'],
    ['If-Unmodified-Since before', { ifUnmodifiedSince: before }, 'precondition-failed'],
    [
      'If-Match true beats If-Unmodified-Since false',
      { ifMatch: ETAG, ifUnmodifiedSince: before },
      'ok',
    ],
    ['If-None-Match match', { ifNoneMatch: `"${ETAG}"` }, 'not-modified'],
    ['If-None-Match other', { ifNoneMatch: '"other"' }, 'ok'],
    ['If-Modified-Since before', { ifModifiedSince: before }, 'ok'],
    ['If-Modified-Since same', { ifModifiedSince: same }, 'not-modified'],
    ['If-Modified-Since after', { ifModifiedSince: after }, 'not-modified'],
    [
      'If-None-Match false + If-Modified-Since true → 304',
      { ifNoneMatch: ETAG, ifModifiedSince: before },
      'not-modified',
    ],
    [
      'If-None-Match true beats If-Modified-Since false',
      { ifNoneMatch: '"other"', ifModifiedSince: after },
      'ok',
    ],
    [
      'If-Match false wins over If-None-Match',
      { ifMatch: '"other"', ifNoneMatch: ETAG },
      'precondition-failed',
    ],
    ['bad dates are ignored', { ifModifiedSince: 'yesterday', ifUnmodifiedSince: 'nope' }, 'ok'],
  ]
  for (const [name, c, want] of cases) {
    it(name, () => expect(evaluateConditions(c, ETAG, LM)).toBe(want))
  }
})
