import { randomBytes } from 'node:crypto'
import { mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { deriveKey, loadMasterKey, seal, timingSafeEqualStr, unseal } from './index.js'

describe('seal/unseal', () => {
  const key = randomBytes(32)

  it('round-trips any text and never contains it', () => {
    fc.assert(
      fc.property(fc.string({ minLength: 1 }), fc.string(), (text, aad) => {
        const s = seal(key, text, aad)
        expect(s.startsWith('v1.')).toBe(true)
        expect(unseal(key, s, aad)).toBe(text)
      }),
      { numRuns: 200 },
    )
  })

  it('uses a fresh nonce each time', () => {
    expect(seal(key, 'same', 'a')).not.toBe(seal(key, 'same', 'a'))
  })

  it('fails with a wrong key, wrong AAD, tampering or bad format', () => {
    const s = seal(key, 'secret-value', 'row:1')
    expect(() => unseal(randomBytes(32), s, 'row:1')).toThrow(/authentication failed/)
    expect(() => unseal(key, s, 'row:2')).toThrow(/authentication failed/)
    const raw = Buffer.from(s.slice(3), 'base64url')
    raw[14] = (raw[14] ?? 0) ^ 1
    expect(() => unseal(key, 'v1.' + raw.toString('base64url'), 'row:1')).toThrow()
    expect(() => unseal(key, 'v9.' + s.slice(3), 'row:1')).toThrow(/unknown format/)
    expect(() => unseal(key, 'v1.AAAA', 'row:1')).toThrow(/truncated/)
  })
})

describe('deriveKey', () => {
  it('is deterministic per label and differs across labels and masters', () => {
    const m = randomBytes(32)
    expect(deriveKey(m, 'a').equals(deriveKey(m, 'a'))).toBe(true)
    expect(deriveKey(m, 'a').equals(deriveKey(m, 'b'))).toBe(false)
    expect(deriveKey(randomBytes(32), 'a').equals(deriveKey(m, 'a'))).toBe(false)
    expect(deriveKey(m, 'a')).toHaveLength(32)
  })
})

describe('timingSafeEqualStr', () => {
  it('agrees with ===', () => {
    fc.assert(
      fc.property(fc.string(), fc.string(), (a, b) => timingSafeEqualStr(a, b) === (a === b)),
    )
    expect(timingSafeEqualStr('abc', 'abc')).toBe(true)
  })
})

describe('loadMasterKey', () => {
  it('creates a 0600 key file once and reads it back', () => {
    const dir = mkdtempSync(join(tmpdir(), 'lk-mk-'))
    const k1 = loadMasterKey(dir)
    expect(k1).toHaveLength(32)
    expect(statSync(join(dir, 'master.key')).mode & 0o777).toBe(0o600)
    expect(loadMasterKey(dir).equals(k1)).toBe(true)
  })

  it('takes a base64 env value and rejects bad ones with one clear line', () => {
    const k = randomBytes(32)
    expect(loadMasterKey('/nonexistent', k.toString('base64')).equals(k)).toBe(true)
    expect(() => loadMasterKey('/nonexistent', 'not base64!!')).toThrow(
      /^LATCHKEY_MASTER_KEY: not base64$/,
    )
    expect(() => loadMasterKey('/nonexistent', randomBytes(16).toString('base64'))).toThrow(
      /LATCHKEY_MASTER_KEY: must be 32 bytes/,
    )
  })

  it('rejects a corrupt key file', () => {
    const dir = mkdtempSync(join(tmpdir(), 'lk-mk-'))
    writeFileSync(join(dir, 'master.key'), 'c2hvcnQ=\n', { mode: 0o600 })
    expect(() => loadMasterKey(dir)).toThrow(/master key file .*must be 32 bytes/)
    expect(readFileSync(join(dir, 'master.key'), 'utf8')).toBe('c2hvcnQ=\n')
  })
})
