import { describe, expect, it } from 'vitest'
import { ownString } from './own-string.js'

describe('ownString', () => {
  it('returns an equal string, long or short', () => {
    const body = 'Action=AssumeRole&RoleSessionName=bench-session-long-name&Policy=x'
    const slice = body.slice(34, 58)
    expect(ownString(slice)).toBe('bench-session-long-name&')
    expect(ownString('ab')).toBe('ab')
    expect(ownString('')).toBe('')
    expect(ownString('é'.repeat(20))).toBe('é'.repeat(20))
  })
})
