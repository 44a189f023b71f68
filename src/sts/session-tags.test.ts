/** STS's side of session tags: the reserved latchkey:* caps as AssumeRole parameters. */
import { describe, expect, it } from 'vitest'
import { StsError } from './errors.js'
import { parseTags, parseTransitiveTagKeys } from './validate.js'

const params = (o: Record<string, string>): Map<string, string> => new Map(Object.entries(o))

function codeAndMessage(f: () => unknown): { code: string; message: string } | undefined {
  try {
    f()
  } catch (e) {
    if (e instanceof StsError) return { code: e.code, message: e.message }
    throw e
  }
  return undefined
}

describe('AssumeRole Tags with upload caps', () => {
  it('accepts the caps, including `,` and `*` in latchkey:content-types (outside AWS’s value set)', () => {
    expect(
      parseTags(
        params({
          'Tags.member.1.Key': 'latchkey:content-types',
          'Tags.member.1.Value': 'image/*,application/pdf',
          'Tags.member.2.Key': 'latchkey:max-bytes',
          'Tags.member.2.Value': '1048576',
          'Tags.member.3.Key': 'team',
          'Tags.member.3.Value': 'web',
        }),
      ),
    ).toEqual({
      'latchkey:content-types': 'image/*,application/pdf',
      'latchkey:max-bytes': '1048576',
      team: 'web',
    })
  })

  it('a bad cap value is ValidationError naming the tag', () => {
    for (const [k, v] of [
      ['latchkey:max-bytes', '1.5'],
      ['latchkey:max-objects', 'ten'],
      ['latchkey:content-types', 'image'],
      ['latchkey:nope', '1'],
    ] as const) {
      const got = codeAndMessage(() =>
        parseTags(params({ 'Tags.member.1.Key': k, 'Tags.member.1.Value': v })),
      )
      expect(got?.code).toBe('ValidationError')
      expect(got?.message).toContain(k)
    }
    // `*` and `,` stay refused in other tags' values, as on AWS.
    expect(
      codeAndMessage(() =>
        parseTags(params({ 'Tags.member.1.Key': 'team', 'Tags.member.1.Value': 'a,b' })),
      )?.code,
    ).toBe('ValidationError')
  })

  it('TransitiveTagKeys are read as given', () => {
    expect(
      parseTransitiveTagKeys(
        params({ 'TransitiveTagKeys.member.1': 'team', 'TransitiveTagKeys.member.2': 'job' }),
      ),
    ).toEqual(['team', 'job'])
  })
})
