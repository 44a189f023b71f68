import { describe, expect, it } from 'vitest'
import { DEFAULT_SCRYPT_N, hashPassword, verifyAgainstDummy, verifyPassword } from './password.js'

describe('password hashing', () => {
  it('uses scrypt with a per-hash salt and the default cost', async () => {
    const a = await hashPassword('correct horse')
    const b = await hashPassword('correct horse')
    expect(a).toMatch(
      new RegExp(`^scrypt\\$${DEFAULT_SCRYPT_N}\\$8\\$1\\$[A-Za-z0-9_-]{22}\\$[A-Za-z0-9_-]{43}$`),
    )
    expect(a).not.toBe(b)
    expect(a).not.toContain('correct horse')
    expect(await verifyPassword('correct horse', a)).toBe(true)
    expect(await verifyPassword('correct horsE', a)).toBe(false)
  })

  it('refuses malformed hashes without throwing', async () => {
    for (const h of [
      '',
      'plain',
      'scrypt$1$8$1$AA$AA',
      'bcrypt$x$y$z$a$b',
      'scrypt$99999999$8$1$AA$' + 'A'.repeat(43),
    ]) {
      expect(await verifyPassword('x', h)).toBe(false)
    }
    expect(await verifyAgainstDummy('anything', 1024)).toBe(false)
  })
})
