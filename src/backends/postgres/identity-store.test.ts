/**
 * Runs the IdentityStore conformance suite against PgIdentityStore on a throwaway PostgreSQL
 * (test/support/postgres.ts; skipped, saying why, when PostgreSQL is not installed), one fresh
 * database per case. Also: two stores on two pools (two nodes) see each other's writes at once,
 * a compare-and-set race between them has exactly one winner, and a lost database is
 * StorageError('unavailable'), never a crash.
 * @module
 */
import { createServer, connect, type AddressInfo, type Server, type Socket } from 'node:net'
import { afterAll, describe, expect, it } from 'vitest'
import { identityStoreConformance } from '../../../test/conformance/identity-store.case.js'
import { startPostgres, type TestPostgres } from '../../../test/support/postgres.js'
import { StorageError } from '../../storage/errors.js'
import type { AccountRow } from '../../storage/identity-store.js'
import { MemoryChangeFeed } from '../memory/change-feed.js'
import { openPostgres } from './db.js'
import { PgIdentityStore } from './identity-store.js'

// Top-level: the conformance suite is only declared when there is a server to run it on.
const server: TestPostgres | undefined = await startPostgres()
afterAll(async () => {
  await server?.stop()
})

/** A TCP proxy to the database that a test can cut (drop every connection, refuse new ones). */
async function tcpProxy(target: number) {
  const sockets = new Set<Socket>()
  let srv: Server | undefined
  let port = 0
  const listen = () =>
    new Promise<void>((resolve) => {
      srv = createServer((inbound) => {
        const out = connect(target, '127.0.0.1')
        for (const s of [inbound, out]) {
          sockets.add(s)
          s.on('error', () => s.destroy())
          s.on('close', () => sockets.delete(s))
        }
        inbound.pipe(out).pipe(inbound)
        inbound.on('close', () => out.destroy())
        out.on('close', () => inbound.destroy())
      })
      srv.listen(port, '127.0.0.1', () => {
        port = (srv!.address() as AddressInfo).port
        resolve()
      })
    })
  const cut = async () => {
    const s = srv
    srv = undefined
    for (const c of sockets) c.destroy()
    if (s !== undefined) await new Promise((resolve) => s.close(resolve))
  }
  await listen()
  return { port, cut, restore: listen, close: cut }
}

const account: AccountRow = {
  id: '111111111111',
  name: 'acct',
  type: 'customer',
  createdAt: 1000,
  allowlist: [],
  masterAccessKeyId: 'S4AKroot',
  masterSecret: 'sealed',
  secretVersion: 1,
  version: 0,
}

if (server === undefined)
  describe.skip('PgIdentityStore conformance: no PostgreSQL installed', () => {})
else
  identityStoreConformance('postgres', async () => {
    const db = await openPostgres(await server.createDatabase(), { max: 4 })
    const changes = new MemoryChangeFeed()
    return {
      store: await PgIdentityStore.open(db, { changes }),
      changes,
      close: async () => {
        await changes.close()
        await db.close()
      },
    }
  })

describe('PgIdentityStore across nodes', () => {
  it('a write on one node is read on the other; a CAS race has exactly one winner', async (ctx) => {
    if (server === undefined) return ctx.skip('no PostgreSQL installed')
    const url = await server.createDatabase()
    const [a, b] = await Promise.all([openPostgres(url), openPostgres(url)])
    try {
      const [sa, sb] = await Promise.all([PgIdentityStore.open(a!), PgIdentityStore.open(b!)])
      await sa.insertAccount(account)
      expect(await sb.getAccount(account.id)).toEqual(account)
      const results = await Promise.allSettled([
        sa.updateAccount({ ...account, allowlist: ['10.0.0.0/8'] }, 0),
        sb.updateAccount({ ...account, allowlist: ['192.168.0.0/16'] }, 0),
      ])
      expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1)
      const lost = results.find((r) => r.status === 'rejected')
      expect((lost as PromiseRejectedResult).reason).toMatchObject({ kind: 'precondition' })
      expect((await sa.getAccount(account.id))!.version).toBe(1)
    } finally {
      await Promise.all([a!.close(), b!.close()])
    }
  })

  it('a lost database is StorageError(unavailable), publishes nothing, and recovers', async (ctx) => {
    if (server === undefined) return ctx.skip('no PostgreSQL installed')
    const url = new URL(await server.createDatabase())
    const proxy = await tcpProxy(Number(url.port))
    url.port = String(proxy.port)
    const db = await openPostgres(url.toString(), { connectTimeoutMs: 1000 })
    const changes = new MemoryChangeFeed()
    try {
      const store = await PgIdentityStore.open(db, { changes })
      const seen: unknown[] = []
      changes.subscribe({ change: (c) => void seen.push(c), resync() {} })
      await proxy.cut() // every connection dropped, new ones refused
      for (const op of [
        () => store.insertAccount(account),
        () => store.getUser('u1'),
        () => store.loadAll(),
      ]) {
        const err = await op().catch((e: unknown) => e)
        expect(err).toBeInstanceOf(StorageError)
        expect((err as StorageError).kind).toBe('unavailable')
      }
      expect(seen).toEqual([])
      await proxy.restore()
      await store.insertAccount(account) // recovers by itself
      expect(seen).toEqual([{ kind: 'account', id: account.id }])
    } finally {
      await db.close()
      await proxy.close()
    }
  })
})
