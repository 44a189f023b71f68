/**
 * Session secrets at rest in both forms: new rows store a derived secret's salt (`d1.`), rows
 * written before it a sealed secret (`v1.`); a restarted service (fresh cache, same master key)
 * resolves both to the secret the caller was given.
 */
import { randomBytes } from 'node:crypto'
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { openDatabase } from '../backends/sqlite/db.js'
import { deriveKey, KEY_LABELS, seal } from '../crypto/index.js'
import { newSessionSecret, openSessionSecret } from '../crypto/session-secret.js'
import { aadSession } from './labels.js'
import { makeIam, READ_ONLY_POLICY, sessionReq, sqliteStores } from './fixtures.case.js'

describe('session secrets at rest', () => {
  it('derived: 40 alphanumerics, fresh per call, only the salt stored, bound to the row', () => {
    const key = randomBytes(32)
    const keys = { seal: randomBytes(32), derive: key }
    const a = newSessionSecret(key, aadSession('ASIAONE'))
    const b = newSessionSecret(key, aadSession('ASIAONE'))
    expect(a.secret).toMatch(/^[A-Za-z0-9]{40}$/)
    expect(a.secret).not.toBe(b.secret)
    expect(a.stored).toMatch(/^d1\.[A-Za-z0-9_-]{22}$/)
    expect(a.stored.includes(a.secret)).toBe(false)
    expect(openSessionSecret(keys, a.stored, aadSession('ASIAONE'))).toBe(a.secret)
    // another row's label, another key: another secret
    expect(openSessionSecret(keys, a.stored, aadSession('ASIATWO'))).not.toBe(a.secret)
    expect(
      openSessionSecret({ ...keys, derive: randomBytes(32) }, a.stored, aadSession('ASIAONE')),
    ).not.toBe(a.secret)
    expect(() => openSessionSecret(keys, 'd1.AAAA', aadSession('ASIAONE'))).toThrow(/bad salt/)
  })

  it('a derived row opens to the same secret as the first release of the derived form wrote', () => {
    // A fixed vector, computed by that release: a change to the derivation would strand every
    // session issued before it.
    const derive = Buffer.from(Array.from({ length: 32 }, (_, i) => i * 7 + 1))
    const stored = `d1.${Buffer.from('000102030405060708090a0b0c0d0e0f', 'hex').toString('base64url')}`
    expect(
      openSessionSecret({ seal: randomBytes(32), derive }, stored, 'session:ASIAEXAMPLE0000000001'),
    ).toBe('DzOUzOpXRbZZdM6uNxz8lO6NwONnT24HUsfA3yrn')
  })

  it('a restarted service resolves both a derived row and a sealed row written before', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'lk-session-secret-'))
    const db = openDatabase(join(dir, 'latchkey.db'))
    const masterKey = randomBytes(32)
    const f = await makeIam({ db, masterKey, bootstrap: {} })
    const now = f.clock.now()
    const root = await f.iam.resolve(f.generated.masterAccessKeyId!)
    const fresh = await f.iam.issue(
      sessionReq(root!.principal, { policyJson: READ_ONLY_POLICY }),
      now,
    )
    const row = await f.stores.store.getSession(fresh.accessKeyId)
    expect(row!.secret.startsWith('d1.')).toBe(true)

    // A row as the sealed form wrote it: the same session under another id, secret sealed.
    const oldId = 'ASIAOLDSEALEDROW0001'
    const oldSecret = 'OldSealedSecretOldSealedSecretOldSealed1'
    const sealKey = deriveKey(masterKey, KEY_LABELS.seal)
    await f.stores.store.insertSession({
      ...row!,
      accessKeyId: oldId,
      secret: seal(sealKey, oldSecret, aadSession(oldId)),
    })

    // Restart: a new service over the same database, nothing cached.
    const g = await makeIam({ db, masterKey, stores: sqliteStores(db, now), bootstrap: {} })
    g.clock.set(now)
    expect((await g.iam.resolve(fresh.accessKeyId))?.secretKey).toBe(fresh.secretAccessKey)
    expect((await g.iam.resolve(oldId))?.secretKey).toBe(oldSecret)

    db.close()
  })
})
