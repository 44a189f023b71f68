/** loadConfig: the --presign-max-age flag (duration syntax, env fallback, AWS's 7-day ceiling). */
import { describe, expect, it } from 'vitest'
import { ConfigError, loadConfig } from './config.js'
import { describeDuration } from '../lib/duration.js'

describe('--presign-max-age', () => {
  it('defaults to 7 days; takes seconds or a duration from the flag or LATCHKEY_PRESIGN_MAX_AGE', () => {
    expect(loadConfig([], {}).presignMaxAge).toBe(604800)
    expect(loadConfig(['--presign-max-age', '1h'], {}).presignMaxAge).toBe(3600)
    expect(loadConfig(['--presign-max-age=900'], {}).presignMaxAge).toBe(900)
    expect(loadConfig([], { LATCHKEY_PRESIGN_MAX_AGE: '2d' }).presignMaxAge).toBe(172800)
    expect(
      loadConfig(['--presign-max-age', '7d'], { LATCHKEY_PRESIGN_MAX_AGE: '1h' }).presignMaxAge,
    ).toBe(604800)
  })

  it('refuses more than 7 days and non-durations with one clear line', () => {
    for (const v of ['8d', '604801', 'soon', '0', '-5']) {
      expect(() => loadConfig(['--presign-max-age', v], {}), v).toThrow(ConfigError)
    }
    expect(() => loadConfig(['--presign-max-age', '8d'], {})).toThrow(
      "--presign-max-age must be at most 7d (604800 seconds, AWS's limit for presigned URLs), got 691200",
    )
  })
})

describe('describeDuration', () => {
  it('names the largest exact unit', () => {
    expect(describeDuration(604800)).toBe('7 days')
    expect(describeDuration(86400)).toBe('1 day')
    expect(describeDuration(3600)).toBe('1 hour')
    expect(describeDuration(5400)).toBe('90 minutes')
    expect(describeDuration(61)).toBe('61 seconds')
    expect(describeDuration(1)).toBe('1 second')
  })
})
