import { describe, expect, it } from 'vitest'
import { parseTemplate, renderTemplate } from './variables.js'

const ctx = new Map<string, readonly string[]>([
  ['aws:username', ['alice']],
  ['aws:userid', ['AIDA1']],
  ['aws:principalaccount', ['111122223333']],
  ['aws:sourceip', ['10.0.0.1']],
  ['aws:currenttime', ['2026-01-01T00:00:00Z']],
  ['aws:securetransport', ['true']],
])

describe('policy variables', () => {
  it.each([
    ['home/${aws:username}/', 'home/alice/'],
    ['${aws:userid}', 'AIDA1'],
    ['${AWS:PrincipalAccount}', '111122223333'],
    [
      '${aws:SourceIp}|${aws:CurrentTime}|${aws:SecureTransport}',
      '10.0.0.1|2026-01-01T00:00:00Z|true',
    ],
    ['${*}${?}${$}', '*?$'],
    ["${aws:missing, 'dflt'}", 'dflt'],
    ['${unclosed', '${unclosed'],
    ['${not a key}', '${not a key}'],
    ['no vars', 'no vars'],
  ])('%s → %s', (t, want) => {
    expect(renderTemplate(parseTemplate(t, true), ctx)).toBe(want)
  })
  it('a missing variable renders as undefined', () => {
    expect(renderTemplate(parseTemplate('x/${aws:missing}', true), ctx)).toBeUndefined()
  })
  it('2008-10-17: no substitution at all', () => {
    expect(parseTemplate('${aws:username}', false)).toEqual([{ t: 'raw', s: '${aws:username}' }])
  })
  it('escape segments are literal, raw text keeps its wildcards', () => {
    expect(parseTemplate('a*${*}', true)).toEqual([
      { t: 'raw', s: 'a*' },
      { t: 'lit', s: '*' },
    ])
  })
})
