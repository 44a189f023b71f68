/**
 * POST /api/admin/backup through the admin handler: the operator gets the backup's id, path and
 * manifest; an account's SuperUser is refused whatever its policies grant; a node that cannot
 * back itself up (PostgreSQL, an upstream S3 blob store) answers 501 with the reason and where
 * to read more (compose.ts backupOf decides which).
 * @module
 */
import { randomBytes } from 'node:crypto'
import { Readable } from 'node:stream'
import { describe, expect, it } from 'vitest'
import { backupOf } from '../../app/compose.js'
import type { Config } from '../../config/config.js'
import { systemClock } from '../../lib/clock.js'
import { silentLogger } from '../../lib/logger.js'
import type { Stores } from '../../storage/stores.js'
import { makeIam } from '../../iam/fixtures.case.js'
import { simulate } from '../../policy/simulate.js'
import type { BackupMade } from '../../backup/manifest.js'
import type { AdminDeps } from '../deps.js'
import { createAdminHandler } from '../handler.js'

async function setup(backup: AdminDeps['backup']) {
  const f = await makeIam({ bootstrap: { rootPassword: 'operator-pass-1' } })
  const handler = createAdminHandler({
    iam: f.iam,
    clock: f.clock,
    log: silentLogger,
    jwtKey: randomBytes(32),
    simulate,
    ...(backup !== undefined ? { backup } : {}),
  })
  const call = async (method: string, path: string, token?: string, body?: unknown) => {
    const res = await handler(
      {
        method,
        rawPath: path,
        rawQuery: '',
        headers: {
          ...(token !== undefined ? { authorization: `Bearer ${token}` } : {}),
          'content-type': 'application/json',
        },
        body: Readable.from(body === undefined ? [] : [Buffer.from(JSON.stringify(body))]),
        remoteAddress: '127.0.0.1',
        secure: false,
      },
      { requestId: 'r', clock: f.clock, log: silentLogger, receivedAt: f.clock.now() },
    )
    const text =
      typeof res.body === 'string' ? res.body : Buffer.isBuffer(res.body) ? res.body.toString() : ''
    return { status: res.status, json: text === '' ? undefined : JSON.parse(text) }
  }
  const login = async (username: string, password: string) =>
    (await call('POST', '/api/admin/login', undefined, { username, password })).json.token as string
  return { call, login }
}

const made = {
  id: 'b1',
  dir: '/data/backups/b1',
  manifest: { counts: { blobs: 0, blobBytes: 0 }, database: { size: 1 } },
} as unknown as BackupMade

describe('POST /api/admin/backup', () => {
  it('the operator gets the backup; a SuperUser of an account is refused', async () => {
    let taken = 0
    const t = await setup(async () => {
      taken++
      return made
    })
    const root = await t.login('root', 'operator-pass-1')
    const ok = await t.call('POST', '/api/admin/backup', root)
    expect(ok.status).toBe(201)
    expect(ok.json).toMatchObject({ id: 'b1', path: '/data/backups/b1' })
    const u = await t.call('POST', '/api/admin/users', root, {
      username: 'su',
      password: 'password-1',
      role: 'SuperUser',
    })
    expect(u.status).toBe(201)
    const su = await t.login('su', 'password-1')
    const refused = await t.call('POST', '/api/admin/backup', su)
    expect(refused).toMatchObject({ status: 403, json: { error: { code: 'Forbidden' } } })
    expect(refused.json.error.message).toMatch(/Only the operator/)
    expect(taken).toBe(1)
  })

  it('PostgreSQL mode answers 501 naming pg_dump and docs/deploy.md', async () => {
    const pg = backupOf(
      { db: {}, blobs: {} } as unknown as Stores,
      { databaseUrl: 'postgres://u:p@h/db', dataDir: '/d' } as unknown as Config,
      systemClock,
      randomBytes(32),
    )
    expect(pg).toMatchObject({ unsupported: expect.stringMatching(/pg_dump.*docs\/deploy\.md/) })
    const t = await setup(pg)
    const r = await t.call('POST', '/api/admin/backup', await t.login('root', 'operator-pass-1'))
    expect(r).toMatchObject({ status: 501, json: { error: { code: 'NotImplemented' } } })
    expect(r.json.error.message).toMatch(/docs\/deploy\.md/)
  })
})
