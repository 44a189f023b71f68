/** access-log.ts: what a logged query keeps, the --access-log values, sampling. */
import { describe, expect, it } from 'vitest'
import { AccessSampler, parseAccessLogMode, redactQuery } from './access-log.js'

describe('redactQuery', () => {
  it('drops signatures, tokens, passwords and secrets; keeps the rest as sent', () => {
    expect(
      redactQuery(
        'X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKID%2F20260101%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Date=20260101T000000Z&X-Amz-Expires=300&X-Amz-SignedHeaders=host&X-Amz-Security-Token=TOKEN&X-Amz-Signature=SIG&x-id=GetObject',
      ),
    ).toBe(
      'X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKID%2F20260101%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Date=20260101T000000Z&X-Amz-Expires=300&X-Amz-SignedHeaders=host&x-id=GetObject',
    )
    expect(redactQuery('AWSAccessKeyId=AKID&Expires=1&Signature=c2ln')).toBe(
      'AWSAccessKeyId=AKID&Expires=1',
    )
    expect(redactQuery('Action=RSLogin&Password=p&TokenCode=123456&SecretKey=s')).toBe(
      'Action=RSLogin',
    )
    // Encoded or oddly cased names are judged decoded.
    expect(redactQuery('%53ignature=x&x-amz-SIGNATURE=y&list-type=2')).toBe('list-type=2')
    expect(redactQuery('')).toBe('')
    expect(redactQuery('uploads')).toBe('uploads')
  })
})

describe('--access-log', () => {
  it('takes on, off and sample=N', () => {
    expect(parseAccessLogMode('on')).toEqual({ kind: 'on', every: 1 })
    expect(parseAccessLogMode('off')).toEqual({ kind: 'off' })
    expect(parseAccessLogMode('sample=10')).toEqual({ kind: 'on', every: 10 })
    for (const bad of ['sample=0', 'sample=', 'sample=-1', 'yes', 'sample=1.5'])
      expect(parseAccessLogMode(bad), bad).toBeUndefined()
  })

  it('sample=N logs one request in N, and every 5xx', () => {
    const s = new AccessSampler({ kind: 'on', every: 4 })
    const logged = Array.from({ length: 12 }, () => s.shouldLog(200))
    expect(logged.filter(Boolean)).toHaveLength(3)
    expect(s.shouldLog(503)).toBe(true)
    const off = new AccessSampler({ kind: 'off' })
    expect(off.shouldLog(200) || off.shouldLog(500)).toBe(false)
  })
})
