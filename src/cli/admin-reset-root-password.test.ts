/**
 * latchkey admin reset-root-password against a real data dir: where the password comes from, and
 * the refusals (usage, missing database, database locked by a server) that change nothing.
 */
import { Readable } from 'node:stream'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { openDatabase } from '../backends/sqlite/db.js'
import { SqliteIdentityStore } from '../backends/sqlite/identity-store.js'
import { IamService } from '../iam/service.js'
import { sqliteStores } from '../iam/fixtures.case.js'
import { verifyPassword } from '../iam/password.js'
import { ManualClock, randomIds } from '../lib/clock.js'
import { silentLogger } from '../lib/logger.js'
import { runResetRootPassword } from './admin-reset-root-password.js'

let dir: string
beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'latchkey-reset-'))
  const db = openDatabase(join(dir, 'latchkey.db'))
  await IamService.open({
    ...sqliteStores(db),
    masterKey: Buffer.alloc(32, 1),
    clock: new ManualClock(),
    ids: randomIds,
    log: silentLogger,
    bootstrap: { rootPassword: 'old-password-1' },
    scryptN: 1024,
  })
  db.close()
})
afterEach(() => rmSync(dir, { recursive: true, force: true }))

async function run(argv: string[], env: NodeJS.ProcessEnv = {}, stdin = '') {
  const out: string[] = []
  const err: string[] = []
  const code = await runResetRootPassword(argv, env, {
    out: (l) => void out.push(l),
    err: (l) => void err.push(l),
    stdin: Readable.from([Buffer.from(stdin)]),
  })
  return { code, out: out.join('\n'), err: err.join('\n') }
}

async function storedHash(): Promise<string> {
  const db = openDatabase(join(dir, 'latchkey.db'))
  const op = (await SqliteIdentityStore.open(db).loadAll()).operator
  db.close()
  return op?.passwordHash ?? ''
}

describe('latchkey admin reset-root-password', () => {
  it('generates and prints a password that then verifies', async () => {
    const r = await run(['--data-dir', dir])
    expect(r.code).toBe(0)
    const pw = /password: (\S+)$/m.exec(r.out)?.[1] ?? ''
    expect(pw).toMatch(/^[A-Za-z0-9]{24}$/)
    expect(await verifyPassword(pw, await storedHash())).toBe(true)
    expect(await verifyPassword('old-password-1', await storedHash())).toBe(false)
  })

  it('takes the first stdin line with --password-stdin (not echoed), else LATCHKEY_ROOT_PASSWORD', async () => {
    const a = await run([`--data-dir=${dir}`, '--password-stdin'], {}, 'from-stdin-123\r\nrest')
    expect(a.code).toBe(0)
    expect(a.out.includes('from-stdin-123')).toBe(false)
    expect(await verifyPassword('from-stdin-123', await storedHash())).toBe(true)
    const b = await run([], { LATCHKEY_DATA_DIR: dir, LATCHKEY_ROOT_PASSWORD: 'from-env-1234' })
    expect(b.code).toBe(0)
    expect(b.out.includes('from-env-1234')).toBe(false)
    expect(await verifyPassword('from-env-1234', await storedHash())).toBe(true)
  })

  it('refuses bad input (exit 2) and a locked or missing database (exit 1), changing nothing', async () => {
    const before = await storedHash()
    expect((await run(['--bogus'])).code).toBe(2)
    expect((await run(['--data-dir'])).code).toBe(2)
    expect((await run(['--data-dir', dir, '--password-stdin'], {}, 'short\n')).err).toMatch(
      /8-1024 characters/,
    )
    const missing = await run(['--data-dir', join(dir, 'nope')])
    expect(missing.code).toBe(1)
    expect(missing.err).toMatch(/no Latchkey database/)

    // A server holds its database with an exclusive lock (taken by its first read).
    const server = openDatabase(join(dir, 'latchkey.db'), { exclusive: true })
    server.prepare('SELECT COUNT(*) FROM iam_operator').get()
    const t0 = Date.now()
    const locked = await run(['--data-dir', dir])
    expect(Date.now() - t0).toBeLessThan(2000) // refuses at once, no 5 s busy wait
    server.close()
    expect(locked.code).toBe(1)
    expect(locked.err).toMatch(/is locked: a Latchkey server is running on this data dir/)
    expect(locked.out).toBe('')
    expect(await storedHash()).toBe(before)
  })

  it('--database (or LATCHKEY_DATABASE_URL) names a PostgreSQL cluster; bad combinations are usage errors', async () => {
    const before = await storedHash()
    const both = await run(['--data-dir', dir, '--database', 'postgres://u@127.0.0.1:1/db'])
    expect(both.code).toBe(2)
    expect(both.err).toMatch(/not both/)
    const notPg = await run(['--database', 'mysql://u@h/db'])
    expect(notPg.code).toBe(2)
    expect(notPg.err).toMatch(/--database must be a postgres:\/\/ URL/)
    // Nothing listens on port 1: refused with the driver's cause, exit 1.
    const down = await run([], { LATCHKEY_DATABASE_URL: 'postgres://u@127.0.0.1:1/db' })
    expect(down.code).toBe(1)
    expect(down.err).toMatch(/database unavailable.*ECONNREFUSED/)
    // An explicit --data-dir wins over LATCHKEY_DATABASE_URL in the environment.
    const local = await run(['--data-dir', dir], {
      LATCHKEY_DATABASE_URL: 'postgres://u@127.0.0.1:1/db',
      LATCHKEY_ROOT_PASSWORD: 'from-env-5678',
    })
    expect(local.code).toBe(0)
    expect(await verifyPassword('from-env-5678', await storedHash())).toBe(true)
    expect(before).not.toBe(await storedHash())
  })
})
