/**
 * Runs the MetadataStore conformance suite against PostgreSQL, bare and under the cache
 * decorator (the cluster's bundle), on one throwaway cluster for the file and a fresh database per
 * harness; plus PostgreSQL specifics: a conditional race between two stores (two nodes) on one
 * database, a lost connection answered as StorageError('unavailable'), and a database that stops
 * answering: queued writes fail together (not one connect timeout after another), and a pooled
 * connection dying while checked out is no uncaught exception (it was, before the store guarded
 * its pool's clients). Skipped, saying so, when no PostgreSQL is installed.
 * @module
 */
import { createServer, connect, type AddressInfo, type Socket } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  metadataStoreConformance,
  naiveList,
  obj,
  type MetadataStoreHarness,
} from '../../../test/conformance/metadata-store.case.js'
import { startPostgres, type TestPostgres } from '../../../test/support/postgres.js'
import { compareKeys } from '../../lib/key-order.js'
import { StorageError } from '../../storage/errors.js'
import type { UploadRecord } from '../../storage/metadata-store.js'
import { CachedMetadataStore } from '../cached/metadata-store.js'
import { MemoryChangeFeed } from '../memory/change-feed.js'
import { openPostgres } from './db.js'
import { PgMetadataStore } from './metadata-store.js'

let server: TestPostgres | undefined
let started: Promise<TestPostgres | undefined> | undefined
/** Started once, lazily: conformance factories run inside the suite's beforeEach. */
const pgServer = (): Promise<TestPostgres | undefined> => (started ??= startPostgres())
beforeAll(async () => {
  server = await pgServer()
})
afterAll(async () => {
  await server?.stop()
})

const SKIP = 'no PostgreSQL installed (initdb/pg_ctl not found, LATCHKEY_TEST_DATABASE_URL unset)'

async function harness(cached: boolean): Promise<MetadataStoreHarness> {
  const pg = await pgServer()
  if (pg === undefined) throw new Error(SKIP)
  const db = await openPostgres(await pg.createDatabase())
  const changes = new MemoryChangeFeed()
  const inner = await PgMetadataStore.open(db, { closeDb: true, changes })
  const store = cached ? new CachedMetadataStore(inner, changes) : inner
  return { store, changes, cleanup: () => store.close() }
}

/** A TCP relay to PostgreSQL that a test can cut or turn into a black hole, as a network would. */
async function startRelay(target: URL): Promise<{
  readonly url: string
  blackhole(): void
  cut(): Promise<void>
  stop(): Promise<void>
}> {
  const sockets = new Set<Socket>()
  let forward = true
  const relay = createServer((inbound) => {
    sockets.add(inbound)
    inbound.on('error', () => {})
    if (!forward) return
    const outbound = connect(Number(target.port), target.hostname)
    sockets.add(outbound)
    inbound.pipe(outbound).pipe(inbound)
    inbound.on('close', () => outbound.destroy())
    outbound.on('error', () => inbound.destroy())
  })
  await new Promise<void>((resolve) => relay.listen(0, '127.0.0.1', resolve))
  const via = new URL(target)
  via.port = String((relay.address() as AddressInfo).port)
  const cut = (): Promise<void> => {
    for (const s of sockets) s.destroy()
    sockets.clear()
    return Promise.resolve()
  }
  return {
    url: via.toString(),
    blackhole: () => void (forward = false),
    cut,
    stop: async () => {
      const closed = new Promise<void>((resolve) => relay.close(() => resolve()))
      await cut()
      await closed
    },
  }
}

const available = (await pgServer()) !== undefined
if (available) {
  metadataStoreConformance('postgres', () => harness(false))
  metadataStoreConformance('cached over postgres', () => harness(true))
} else {
  it.skip(`MetadataStore conformance: postgres (${SKIP})`, () => {})
}

describe('postgres metadata specifics', () => {
  it('two nodes racing If-None-Match * on one database: exactly one wins', async (ctx) => {
    if (server === undefined) return ctx.skip(SKIP)
    const url = await server.createDatabase()
    const a = await PgMetadataStore.open(await openPostgres(url), { closeDb: true })
    const b = await PgMetadataStore.open(await openPostgres(url), { closeDb: true })
    try {
      await a.createBucket({ name: 'b', accountId: 'acct1', createdAt: 1, region: 'r' })
      for (let round = 0; round < 10; round++) {
        const key = `k${round}`
        const settled = await Promise.allSettled([
          a.putObject(obj('b', key, { etag: 'a'.repeat(32) }), { ifNoneMatch: '*' }),
          b.putObject(obj('b', key, { etag: 'b'.repeat(32) }), { ifNoneMatch: '*' }),
        ])
        expect(settled.filter((r) => r.status === 'fulfilled')).toHaveLength(1)
        const lost = settled.find((r) => r.status === 'rejected')
        expect(lost?.status === 'rejected' && (lost.reason as StorageError).kind).toBe(
          'precondition',
        )
        const winner = settled[0]?.status === 'fulfilled' ? 'a' : 'b'
        expect((await b.getObject('b', key))?.etag).toBe(winner.repeat(32))
      }
    } finally {
      await a.close()
      await b.close()
    }
  })

  it('delimiter listings read in growing batches and resume after a full one', async (ctx) => {
    if (server === undefined) return ctx.skip(SKIP)
    const store = await PgMetadataStore.open(await openPostgres(await server.createDatabase()), {
      closeDb: true,
    })
    try {
      await store.createBucket({ name: 'b', accountId: 'acct1', createdAt: 1, region: 'r' })
      // 150 plain keys between roll-ups: several full batches (16, 32, 64…) in a row.
      const keys = ['a/1', 'a/2', ...Array.from({ length: 150 }, (_, i) => `k${i}`), 'm/x', 'z']
      await Promise.all(keys.map((k) => store.putObject(obj('b', k))))
      for (const maxKeys of [1000, 40]) {
        const seen: string[] = []
        let after: string | undefined
        for (;;) {
          const q = {
            prefix: '',
            delimiter: '/',
            maxKeys,
            ...(after !== undefined ? { after } : {}),
          }
          const page = await store.listObjects('b', q)
          const want = naiveList(keys, q)
          const got = [...page.objects.map((o) => o.key), ...page.commonPrefixes]
          expect(got.sort(compareKeys)).toEqual(want.entries.map((e) => e.value))
          expect(page.isTruncated).toBe(want.isTruncated)
          seen.push(...got)
          if (!page.isTruncated) break
          after = page.lastReturned
        }
        expect(seen).toHaveLength(keys.length - 1) // a/1 and a/2 roll up into a/
      }
      // One key with more uploads than a batch, between two roll-ups.
      const up = (id: string, key: string, at: number): UploadRecord => ({
        uploadId: id,
        bucket: 'b',
        key,
        initiatedAt: at,
        headers: {},
        userMetadata: {},
        tags: {},
        ownerAccountId: 'acct1',
        initiator: 'x',
      })
      await store.createUpload(up('first', 'a/1', 0))
      const ids = Array.from({ length: 40 }, (_, i) => `u${String(i).padStart(2, '0')}`)
      for (const [i, id] of ids.entries()) await store.createUpload(up(id, 'same', i % 7))
      await store.createUpload(up('last', 'z/1', 0))
      const page = await store.listUploads('b', { prefix: '', delimiter: '/', maxUploads: 1000 })
      const byTime = [...ids].sort(
        (x, y) => (Number(x.slice(1)) % 7) - (Number(y.slice(1)) % 7) || x.localeCompare(y),
      )
      expect(page.uploads.map((u) => u.uploadId)).toEqual(byTime)
      expect(page.commonPrefixes).toEqual(['a/', 'z/'])
      expect(page.isTruncated).toBe(false)
    } finally {
      await store.close()
    }
  })

  it('a lost connection is StorageError unavailable, for reads and writes', async (ctx) => {
    if (server === undefined) return ctx.skip(SKIP)
    const relay = await startRelay(new URL(await server.createDatabase()))
    const store = await PgMetadataStore.open(
      await openPostgres(relay.url, { connectTimeoutMs: 1000 }),
      { closeDb: true },
    )
    try {
      await store.createBucket({ name: 'b', accountId: 'acct1', createdAt: 1, region: 'r' })
      await store.putObject(obj('b', 'k'))
      await relay.stop()
      await expect(store.getObject('b', 'k')).rejects.toMatchObject({ kind: 'unavailable' })
      await expect(store.putObject(obj('b', 'k2'))).rejects.toMatchObject({ kind: 'unavailable' })
      await expect(store.listObjects('b', { prefix: '', maxKeys: 10 })).rejects.toBeInstanceOf(
        StorageError,
      )
    } finally {
      await store.close()
    }
  })

  it('a database that stops answering fails queued writes together, each unavailable, nothing uncaught', async (ctx) => {
    if (server === undefined) return ctx.skip(SKIP)
    const relay = await startRelay(new URL(await server.createDatabase()))
    const timeout = 800
    const store = await PgMetadataStore.open(
      await openPostgres(relay.url, { connectTimeoutMs: timeout }),
      { closeDb: true },
    )
    try {
      await store.createBucket({ name: 'b', accountId: 'acct1', createdAt: 1, region: 'r' })
      relay.blackhole() // new connections are accepted and never answered
      await relay.cut()
      const started = performance.now()
      const settled = await Promise.allSettled(
        Array.from({ length: 4 }, (_, i) => store.putObject(obj('b', `k${i}`))),
      )
      const elapsed = performance.now() - started
      for (const r of settled)
        expect(r.status === 'rejected' && (r.reason as StorageError).kind).toBe('unavailable')
      // One after the other would take 4 timeouts; together, about one.
      expect(elapsed).toBeLessThan(2.5 * timeout)
    } finally {
      await relay.stop()
      await store.close()
    }
  })
})
