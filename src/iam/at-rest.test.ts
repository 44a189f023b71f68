/**
 * Security regression: no secret or password is stored in plain text. Generates every kind of
 * secret, then greps the raw SQLite files (main + WAL) for each of them.
 */
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { openDatabase } from '../backends/sqlite/db.js'
import { makeIam, READ_ONLY_POLICY, sessionReq } from './fixtures.case.js'

describe('secrets at rest', () => {
  it('the data files contain no generated secret, token or password', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'lk-at-rest-'))
    const db = openDatabase(join(dir, 'latchkey.db'))
    const f = await makeIam({ db, bootstrap: {} })
    const def = f.iam.byName('default')!
    const now = f.clock.now()
    const password = 'Pl41n-Text-Pa55word-xyz'
    const user = await f.iam.createUser(
      { accountId: def.id, username: 'alice', password, role: 'Writer' },
      now,
    )
    const key = await f.iam.generateKey(user.id, now)
    const cred = await f.iam.resolve(key.accessKeyId)
    const session = await f.iam.issue(
      sessionReq(cred!.principal, { policyJson: READ_ONLY_POLICY }),
      now,
    )
    const totp = await f.iam.enrollTotp(user.id)
    const cust = await f.iam.createAccount({ name: 'acme', type: 'customer' }, now)
    const reset = await f.iam.resetMasterKey(cust.account.id)
    await f.iam.updateUser(user.id, { password: password + '-2' })

    const secrets = {
      rootPassword: f.generated.rootPassword!,
      masterSecret: f.generated.masterSecretKey!,
      password,
      password2: password + '-2',
      userSecret: key.secretKey,
      sessionSecret: session.secretAccessKey,
      sessionToken: session.sessionToken,
      sessionTokenBody: session.sessionToken.slice(4),
      totpSecret: totp.secret,
      customerSecret: cust.masterKey.secretKey,
      resetSecret: reset.secretKey,
    }
    const files = readdirSync(dir).filter((n) => n.startsWith('latchkey.db'))
    expect(files).toContain('latchkey.db')
    const bytes = Buffer.concat(files.map((n) => readFileSync(join(dir, n))))
    // sanity: the grep does find non-secret identifiers
    expect(bytes.includes(Buffer.from(key.accessKeyId))).toBe(true)
    for (const [name, value] of Object.entries(secrets)) {
      expect(value.length, name).toBeGreaterThan(8)
      expect(bytes.includes(Buffer.from(value)), `${name} found in the data files`).toBe(false)
    }
    db.close()
    const after = Buffer.concat(
      readdirSync(dir)
        .filter((n) => n.startsWith('latchkey.db'))
        .map((n) => readFileSync(join(dir, n))),
    )
    for (const [name, value] of Object.entries(secrets)) {
      expect(after.includes(Buffer.from(value)), `${name} found after checkpoint`).toBe(false)
    }
  })
})
