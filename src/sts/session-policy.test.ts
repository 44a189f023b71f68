/**
 * The cache of compiled inline session policies (session-policy.ts): the same text minted again
 * is not re-parsed, a different text never gets another's compiled form, the cache stays bounded,
 * a refused policy is never cached, and the audit digest is SHA-256 of the text's UTF-8 bytes
 * whether or not the text is cached.
 */
import { createHash } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { PolicyError } from '../policy/types.js'
import {
  compileSessionPolicy,
  resolveManagedPolicies,
  SESSION_POLICY_CACHE_MAX,
  sessionPolicyCacheSize,
  sessionPolicySha256,
} from './session-policy.js'

function policy(bucket: string, action = 's3:GetObject'): string {
  return JSON.stringify({
    Version: '2012-10-17',
    Statement: [{ Effect: 'Allow', Action: action, Resource: `arn:aws:s3:::${bucket}/*` }],
  })
}

const sha256 = (text: string): string =>
  createHash('sha256').update(Buffer.from(text, 'utf8')).digest('hex')

describe('compiled session policy cache', () => {
  it('returns the same compiled object for the same text, even as a different string', () => {
    const text = policy('cache-same')
    const a = compileSessionPolicy(text)
    // A copy built at runtime (not the interned literal) must still hit.
    const copy = [...text].join('')
    expect(compileSessionPolicy(copy)).toBe(a)
  })

  it('never reuses a compiled form for a different text, even one character apart', () => {
    const a = compileSessionPolicy(policy('bucket-a'))
    const b = compileSessionPolicy(policy('bucket-b'))
    expect(b).not.toBe(a)
    expect(a.text).toContain('bucket-a')
    expect(b.text).toContain('bucket-b')
    expect(b.text).not.toContain('bucket-a')
    // Same grammar, different meaning (Get vs Put): compiled separately.
    const put = compileSessionPolicy(policy('bucket-a', 's3:PutObject'))
    expect(put).not.toBe(a)
    expect(put.text).toContain('s3:PutObject')
    // Whitespace differences are different texts too (the digest in the audit trail differs).
    const spaced = policy('bucket-a').replace('{', '{ ')
    const c = compileSessionPolicy(spaced)
    expect(c).not.toBe(a)
    expect(c.text).toBe(a.text) // the same normalized document, compiled on its own
  })

  it('stays bounded however many distinct policies pass, and keeps the recent ones', () => {
    const texts: string[] = []
    for (let i = 0; i < SESSION_POLICY_CACHE_MAX + 100; i++) {
      const t = policy(`bounded-${String(i)}`)
      texts.push(t)
      compileSessionPolicy(t)
      expect(sessionPolicyCacheSize()).toBeLessThanOrEqual(SESSION_POLICY_CACHE_MAX)
    }
    expect(sessionPolicyCacheSize()).toBe(SESSION_POLICY_CACHE_MAX)
    const last = texts[texts.length - 1] ?? ''
    expect(compileSessionPolicy(last)).toBe(compileSessionPolicy(last))
    // An evicted one is compiled again into an equal, correct policy.
    const first = texts[0] ?? ''
    const again = compileSessionPolicy(first)
    expect(again.text).toContain('bounded-0/')
  })

  it('does not cache a refused policy: it is refused every time', () => {
    const bad = JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Maybe' }] })
    const before = sessionPolicyCacheSize()
    for (let i = 0; i < 3; i++) expect(() => compileSessionPolicy(bad)).toThrow(PolicyError)
    expect(sessionPolicyCacheSize()).toBeLessThanOrEqual(before)
  })

  it('digests the UTF-8 bytes of the text as sent, cached or not', () => {
    const text = policy('digest-ü-€')
    expect(sessionPolicySha256(text)).toBe(sha256(text)) // not cached yet
    compileSessionPolicy(text)
    expect(sessionPolicySha256(text)).toBe(sha256(text)) // cached, computed once
    expect(sessionPolicySha256(text)).toBe(sha256(text)) // cached value
    const other = policy('digest-other')
    compileSessionPolicy(other)
    expect(sessionPolicySha256(other)).toBe(sha256(other))
    expect(sessionPolicySha256(other)).not.toBe(sessionPolicySha256(text))
  })

  it('managed policies resolve to one compiled object each', () => {
    const arn = 'arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess'
    const [a] = resolveManagedPolicies([arn])
    const [b] = resolveManagedPolicies([arn])
    expect(a).toBe(b)
    const [full] = resolveManagedPolicies(['arn:aws:iam::aws:policy/AmazonS3FullAccess'])
    expect(full).not.toBe(a)
  })
})
