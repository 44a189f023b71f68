import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import {
  TagError,
  capTags,
  contentTypeAllowed,
  intersectContentTypes,
  parseContentTypes,
  parseSessionTags,
  tightenCaps,
} from './upload-caps.js'

describe('parseSessionTags: caps from the reserved keys', () => {
  it('reads the four caps, case-insensitively, and ignores other tags', () => {
    expect(
      parseSessionTags({
        'Latchkey:Max-Bytes': '1048576',
        'latchkey:max-objects': '3',
        'latchkey:max-object-size': '0',
        'latchkey:content-types': 'image/*, Video/MP4,image/*',
        team: 'web',
      }),
    ).toEqual({
      maxBytes: 1048576,
      maxObjects: 3,
      maxObjectSize: 0,
      contentTypes: ['image/*', 'video/mp4'],
    })
    expect(parseSessionTags({ team: 'web' })).toEqual({})
  })

  it.each([
    ['latchkey:max-bytes', '-1'],
    ['latchkey:max-bytes', '1e6'],
    ['latchkey:max-bytes', '1.5'],
    ['latchkey:max-objects', ''],
    ['latchkey:max-object-size', '0x10'],
    ['latchkey:max-bytes', '1234567890123456'],
    ['latchkey:content-types', 'image'],
    ['latchkey:content-types', 'image/*/x'],
    ['latchkey:content-types', 'image/png;charset=utf-8'],
    ['latchkey:content-types', '*/png'],
    ['latchkey:content-types', 'image/png,,'],
  ])('a bad value of %s (%j) is a TagError naming the tag', (key, value) => {
    expect(() => parseSessionTags({ [key]: value })).toThrow(TagError)
    expect(() => parseSessionTags({ [key]: value })).toThrow(key)
  })

  it('refuses an unknown key of the reserved namespace (a typo never means "no cap")', () => {
    expect(() => parseSessionTags({ 'latchkey:max-byte': '5' })).toThrow(/reserved/)
  })

  it('applies AWS limits: 50 tags, key 128, value 256, characters, case-insensitive duplicates', () => {
    const many: Record<string, string> = {}
    for (let i = 0; i < 51; i++) many[`k${i}`] = 'v'
    expect(() => parseSessionTags(many)).toThrow(/At most 50/)
    expect(() => parseSessionTags({ ['k'.repeat(129)]: 'v' })).toThrow(/1 to 128/)
    expect(() => parseSessionTags({ k: 'v'.repeat(257) })).toThrow(/256/)
    expect(() => parseSessionTags({ 'a*b': 'v' })).toThrow(/may contain only/)
    expect(() => parseSessionTags({ k: 'a,b' })).toThrow(/may contain only/)
    expect(() => parseSessionTags({ Team: 'a', team: 'b' })).toThrow(/Duplicate/)
  })
})

describe('content types', () => {
  it('matches exact types and wildcards, ignoring parameters and case', () => {
    expect(contentTypeAllowed(['image/*'], 'image/PNG')).toBe(true)
    expect(contentTypeAllowed(['image/*'], 'image/png; charset=binary')).toBe(true)
    expect(contentTypeAllowed(['image/*'], 'imagex/png')).toBe(false)
    expect(contentTypeAllowed(['image/*'], 'text/plain')).toBe(false)
    expect(contentTypeAllowed(['text/plain'], 'text/plain')).toBe(true)
    expect(contentTypeAllowed(['*/*'], 'application/pdf')).toBe(true)
    // A wildcard in the object's own type never passes as a concrete type.
    expect(contentTypeAllowed(['image/*'], 'image/*')).toBe(false)
    expect(contentTypeAllowed(['image/png'], '')).toBe(false)
  })

  const token = fc.stringMatching(/^[a-z0-9][a-z0-9.+-]{0,10}$/)
  const concrete = fc.tuple(token, token).map(([t, s]) => `${t}/${s}`)
  const range = fc.oneof(
    concrete,
    token.map((t) => `${t}/*`),
    fc.constant('*/*'),
  )

  it('property: a parsed list round-trips and allows exactly what one of its ranges covers', () => {
    fc.assert(
      fc.property(fc.array(range, { minLength: 1, maxLength: 6 }), concrete, (list, t) => {
        const parsed = parseContentTypes(list.join(','))
        expect(parseContentTypes(parsed.join(','))).toEqual(parsed)
        const [type] = t.split('/')
        const expected = list.some((r) => r === '*/*' || r === t || r === `${type}/*`)
        expect(contentTypeAllowed(parsed, t)).toBe(expected)
      }),
    )
  })

  it('property: the intersection allows a type iff both lists allow it', () => {
    fc.assert(
      fc.property(
        fc.array(range, { minLength: 1, maxLength: 5 }),
        fc.array(range, { minLength: 1, maxLength: 5 }),
        concrete,
        (a, b, t) => {
          const both = intersectContentTypes(a, b)
          expect(contentTypeAllowed(both, t)).toBe(
            contentTypeAllowed(a, t) && contentTypeAllowed(b, t),
          )
        },
      ),
    )
  })
})

describe('tightenCaps: a chained session can only tighten', () => {
  it('takes the smaller number and intersects content types', () => {
    expect(
      tightenCaps(
        { maxBytes: 100, maxObjects: 5, contentTypes: ['image/*'] },
        { maxBytes: 1000, maxObjectSize: 10, contentTypes: ['image/png', 'text/plain'] },
      ),
    ).toEqual({ maxBytes: 100, maxObjects: 5, maxObjectSize: 10, contentTypes: ['image/png'] })
  })

  it('refuses an intersection that allows nothing', () => {
    expect(() =>
      tightenCaps({ contentTypes: ['image/*'] }, { contentTypes: ['text/plain'] }),
    ).toThrow(/latchkey:content-types/)
  })

  it('property: the result is never looser than the inherited caps', () => {
    const n = fc.option(fc.nat(1_000_000), { nil: undefined })
    const caps = fc
      .record({ maxBytes: n, maxObjects: n, maxObjectSize: n })
      .map((c) => Object.fromEntries(Object.entries(c).filter(([, v]) => v !== undefined)))
    fc.assert(
      fc.property(caps, caps, (a, b) => {
        const t = tightenCaps(a, b) as Record<string, number | undefined>
        for (const k of ['maxBytes', 'maxObjects', 'maxObjectSize'] as const) {
          const inherited = (a as Record<string, number | undefined>)[k]
          if (inherited !== undefined) expect(t[k]).toBeLessThanOrEqual(inherited)
        }
      }),
    )
  })

  it('shows the effective caps as latchkey:* tags', () => {
    expect(capTags({ maxBytes: 5, contentTypes: ['image/*', 'text/plain'] })).toEqual({
      'latchkey:max-bytes': '5',
      'latchkey:content-types': 'image/*,text/plain',
    })
  })
})
