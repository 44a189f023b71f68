/**
 * LATCHKEY_ROOT_* seed the default master key and the operator password; they must not undo a
 * later change at the next restart. An operator who reset a leaked master key through the admin
 * API (or changed the password) and left the old values in the service's environment must not get
 * the leaked secret back: start-up keeps the stored value and says so in one warning line.
 */
import { describe, it, expect, afterEach } from 'vitest'
import { rmSync } from 'node:fs'
import { join } from 'node:path'
import { ListBucketsCommand } from '@aws-sdk/client-s3'
import { openDatabase } from '../../src/backends/sqlite/db.js'
import { SqliteIdentityStore } from '../../src/backends/sqlite/identity-store.js'
import { hashPassword } from '../../src/iam/password.js'
import { ROOT_PASSWORD, ROOT_SECRET_KEY, startServer, type TestServer, outcome } from './harness.js'
import { adminLogin } from './admin-client.js'

/** Every server a test started, stopped after it even when an assertion failed midway. */
const live: TestServer[] = []
afterEach(async () => {
  for (const s of live.splice(0)) await s.stop()
})

const code = outcome

async function loginStatus(server: TestServer, password: string): Promise<number> {
  const res = await fetch(`${server.endpoint}/api/admin/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username: 'root', password }),
  })
  await res.arrayBuffer()
  return res.status
}

describe('stale LATCHKEY_ROOT_* at restart', () => {
  it('REGRESSION stale-env-master-key: a master key reset through the admin API survives a restart with the old LATCHKEY_ROOT_SECRET_KEY still set', async () => {
    const first = await startServer({ keepDataDir: true })
    live.push(first)
    const dataDir = first.dataDir
    try {
      const admin = await adminLogin(first)
      const reset = await admin.call('POST', '/api/admin/customers/default/master-key/reset')
      expect(reset.status).toBe(200)
      const fresh = { accessKeyId: reset.json.access_key, secretAccessKey: reset.json.secret_key }
      expect(fresh.accessKeyId).toBe(first.accessKeyId)
      await first.stop()

      // Same environment as before (the harness always sets LATCHKEY_ROOT_SECRET_KEY).
      const second = await startServer({ dataDir })
      live.push(second)
      try {
        expect(await code(second.s3().send(new ListBucketsCommand({})))).toBe(
          'SignatureDoesNotMatch',
        )
        expect(await code(second.s3(fresh).send(new ListBucketsCommand({})))).toBe('OK')
        const warnings = second.output.filter((l) => l.includes('LATCHKEY_ROOT_SECRET_KEY'))
        expect(warnings, second.output.join('\n')).toHaveLength(1)
        const out = second.output.join('\n')
        expect(out.includes(ROOT_SECRET_KEY)).toBe(false)
        expect(out.includes(fresh.secretAccessKey)).toBe(false)
      } finally {
        await second.stop()
      }
    } finally {
      rmSync(dataDir, { recursive: true, force: true })
    }
  })

  it('REGRESSION stale-env-root-password: a changed operator password survives a restart with the old LATCHKEY_ROOT_PASSWORD still set', async () => {
    const first = await startServer({ keepDataDir: true })
    live.push(first)
    const dataDir = first.dataDir
    try {
      expect(await loginStatus(first, ROOT_PASSWORD)).toBe(200)
      await first.stop()

      // Change the stored password while the server is down (what a password change does to the
      // operator row), leaving LATCHKEY_ROOT_PASSWORD as it was.
      const db = openDatabase(join(dataDir, 'latchkey.db'))
      const store = SqliteIdentityStore.open(db)
      const snap = await store.loadAll()
      await store.putOperator({
        username: snap.operator?.username ?? 'root',
        passwordHash: await hashPassword('changed-password-1'),
      })
      db.close()

      const second = await startServer({ dataDir })
      live.push(second)
      try {
        expect(await loginStatus(second, ROOT_PASSWORD)).toBe(401)
        expect(await loginStatus(second, 'changed-password-1')).toBe(200)
        const warnings = second.output.filter((l) => l.includes('LATCHKEY_ROOT_PASSWORD'))
        expect(warnings, second.output.join('\n')).toHaveLength(1)
        expect(second.output.join('\n').includes(ROOT_PASSWORD)).toBe(false)
      } finally {
        await second.stop()
      }
    } finally {
      rmSync(dataDir, { recursive: true, force: true })
    }
  })
})
