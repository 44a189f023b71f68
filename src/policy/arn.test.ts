import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import {
  compileArnPattern,
  compilePattern,
  EMPTY_CTX,
  formatArn,
  parseArn,
  s3Arn,
  wildcardMatch,
} from './arn.js'

/** Reference: the obvious (slow) RegExp translation. */
function refMatch(pattern: string, value: string): boolean {
  const re = pattern
    .replace(/[.+^${}()|[\]\\]/g, '\\$&')
    .replace(/\*/g, '[\\s\\S]*')
    .replace(/\?/g, '[\\s\\S]')
  return new RegExp(`^${re}$`).test(value)
}

describe('wildcards', () => {
  it.each([
    ['*', '', true],
    ['*', 'anything', true],
    ['a*', 'abc', true],
    ['a*', 'ba', false],
    ['a?c', 'abc', true],
    ['a?c', 'ac', false],
    ['*/k', 'b/k', true],
    ['a*b*c', 'aXbYbZc', true],
    ['a*b*c', 'aXbYbZ', false],
    ['arn:aws:s3:::b/*', 'arn:aws:s3:::b/', true],
    ['arn:aws:s3:::b/*', 'arn:aws:s3:::bb/x', false],
    ['exact', 'exact', true],
    ['exact', 'Exact', false],
    ['', '', true],
    ['**x', 'yyx', true],
    ['a\u{1f600}*b', 'a\u{1f600}XYb', true],
    ['*\u{1f600}', 'x\u{1f600}', true],
    ['\u{1f600}*', '\u{1f601}', false],
  ])('%s ~ %s = %s', (p, v, want) => {
    expect(wildcardMatch(p, v)).toBe(want)
  })

  it('ignore-case for actions', () => {
    expect(wildcardMatch('s3:Get*', 'S3:GETOBJECT', true)).toBe(true)
    expect(wildcardMatch('s3:Get*', 'S3:GETOBJECT')).toBe(false)
  })

  it('agrees with a RegExp reference on random patterns', () => {
    const ch = fc.constantFrom('a', 'b', '*', '?', '/')
    fc.assert(
      fc.property(
        fc.array(ch, { maxLength: 8 }),
        fc.array(fc.constantFrom('a', 'b', '/'), { maxLength: 10 }),
        (p, v) => {
          const pat = p.join('')
          const val = v.join('')
          expect(wildcardMatch(pat, val)).toBe(refMatch(pat, val))
        },
      ),
      { numRuns: 2000 },
    )
  })

  it('does not blow up on many stars', () => {
    const t0 = Date.now()
    expect(wildcardMatch('*a*a*a*a*a*a*a*a*a*b', 'a'.repeat(5000))).toBe(false)
    expect(Date.now() - t0).toBeLessThan(2000)
  })

  it('variables are literal text, escapes are literal', () => {
    const ctx = new Map([['aws:username', ['a*']]])
    const m = compilePattern('arn:aws:s3:::b/${aws:username}/*', {
      wildcards: true,
      variables: true,
    })
    expect(m.vars).toEqual(['aws:username'])
    expect(m.match('arn:aws:s3:::b/a*/x', ctx)).toBe(true)
    expect(m.match('arn:aws:s3:::b/abc/x', ctx)).toBe(false)
    expect(m.match('arn:aws:s3:::b/a*/x', EMPTY_CTX)).toBe(false)
    const e = compilePattern('a${*}b${?}${$}', { wildcards: true, variables: true })
    expect(e.match('a*b?$', EMPTY_CTX)).toBe(true)
    expect(e.match('axb?$', EMPTY_CTX)).toBe(false)
  })
})

describe('ARNs', () => {
  it('parses and formats', () => {
    const a = parseArn('arn:aws:s3:::bucket/key:with:colons')
    expect(a).toEqual({
      partition: 'aws',
      service: 's3',
      region: '',
      account: '',
      resource: 'bucket/key:with:colons',
    })
    expect(formatArn(a!)).toBe('arn:aws:s3:::bucket/key:with:colons')
    expect(parseArn('arn:aws:s3')).toBeUndefined()
    expect(parseArn('nope')).toBeUndefined()
    expect(s3Arn('b')).toBe('arn:aws:s3:::b')
    expect(s3Arn('b', 'k/x')).toBe('arn:aws:s3:::b/k/x')
  })
  it('ArnLike matches component by component', () => {
    const m = compileArnPattern('arn:aws:iam::*:user/*', false).match
    expect(m('arn:aws:iam::123456789012:user/alice', EMPTY_CTX)).toBe(true)
    expect(m('arn:aws:iam::123456789012:role/alice', EMPTY_CTX)).toBe(false)
    // '*' in the service part can't swallow colons
    const s = compileArnPattern('arn:aws:*:::x', false).match
    expect(s('arn:aws:s3:::x', EMPTY_CTX)).toBe(true)
    expect(s('arn:aws:s3:us:1:x', EMPTY_CTX)).toBe(false)
    expect(m('not-an-arn', EMPTY_CTX)).toBe(false)
  })
})
