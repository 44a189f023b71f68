/**
 * kill -9 durability: a child process writes objects (inline and blob-sized, new keys and
 * overwrites) through the real stores and the durable-write protocol (storage/commit.ts, with the
 * SQLite blob ledger), printing a line only after each put is acknowledged. We SIGKILL it
 * mid-stream, reopen, run the garbage collector past its grace periods, and check that every
 * acknowledged write reads back intact (or a newer version of it does), that no object is ever
 * partial, and that no temp file survives the reopen and no orphan the collector. The child is TypeScript bundled on the fly with rolldown (Node 20
 * cannot run .ts itself).
 * @module
 */
import { spawn } from 'node:child_process'
import { createHash } from 'node:crypto'
import { mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { rolldown } from 'rolldown'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { readAll } from '../../../test/conformance/blob-store.case.js'
import { collectGarbage } from '../../storage/gc.js'
import { readBody } from '../../storage/object-bodies.js'
import { SqliteBlobLedger } from '../sqlite/blob-ledger.js'
import { openDatabase } from '../sqlite/db.js'
import { SqliteMetadataStore } from '../sqlite/metadata-store.js'
import { FsBlobStore } from './blob-store.js'

const here = fileURLToPath(new URL('.', import.meta.url))
const src = resolve(here, '../..')

/** Deterministic, self-describing content: "<key>:<version>:" then bytes derived from both.
 * Plain JS source, shared verbatim by the child and by the checks below. */
const CONTENT_JS = `function content(key, version, size) {
  const head = Buffer.from(key + ':' + version + ':')
  const out = Buffer.alloc(Math.max(size, head.length))
  head.copy(out)
  const seed = createHash('sha256').update(key + '/' + version).digest()
  for (let i = head.length; i < out.length; i++) out[i] = seed[i % 32]
  return out
}`
// eslint-disable-next-line @typescript-eslint/no-implied-eval
const content = new Function('createHash', `${CONTENT_JS}; return content`)(createHash) as (
  key: string,
  version: number,
  size: number,
) => Buffer

const CHILD = `
import { createHash } from 'node:crypto'
import { Readable } from 'node:stream'
import { openSqlite } from ${JSON.stringify(join(src, 'backends/sqlite/index.ts'))}
import { writeBody } from ${JSON.stringify(join(src, 'storage/object-bodies.ts'))}
import { commitWrite } from ${JSON.stringify(join(src, 'storage/commit.ts'))}
import { silentLogger } from ${JSON.stringify(join(src, 'lib/logger.ts'))}
${CONTENT_JS}
const dir = process.argv[2]
const { metadata: meta, blobs, ledger } = await openSqlite(dir + '/meta.db', { ...JSON.parse(process.argv[3]), blobDir: dir + '/blobs' })
await meta.createBucket({ name: 'b', accountId: 'a', createdAt: 0, region: 'r' })
let n = 0
async function writer(w) {
  for (;;) {
    const i = n++
    // every 4th write overwrites one of 20 hot keys; sizes alternate inline / blob
    const key = i % 4 === 0 ? 'hot' + (i % 20) : 'k' + i
    const size = i % 3 === 0 ? 40000 + (i % 7) * 1000 : 200 + (i % 50)
    const data = content(key, i, size)
    const md5 = createHash('md5').update(data).digest('hex')
    const now = Date.now()
    await commitWrite({ blobs, ledger, log: silentLogger, now }, {
      write: () => writeBody(Readable.from([data.subarray(0, 100), data.subarray(100)], { objectMode: false }), { blobs, ledger, now, inlineMax: 4096, maxSize: 1 << 24 }),
      async commit(r) {
        const res = await meta.putObject({ bucket: 'b', key, size: r.size, etag: md5, lastModified: i, headers: {}, userMetadata: {}, tags: {}, body: r.body, ownerAccountId: 'a' })
        // Acks are printed in commit order (group-commit promises settle in queue order).
        process.stdout.write('ack ' + key + ' ' + i + '\\n')
        return { result: undefined, freed: [res.replaced] }
      },
    })
  }
}
for (let w = 0; w < 8; w++) void writer(w)
`

describe('crash safety (kill -9)', () => {
  let dir: string
  let bundle: string
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'lk-crash-'))
    const entry = join(dir, 'child.ts')
    writeFileSync(entry, CHILD)
    // Inside the project so the bundle resolves better-sqlite3 from node_modules.
    const cache = join(resolve(src, '..'), 'node_modules', '.cache')
    mkdirSync(cache, { recursive: true })
    bundle = join(cache, `latchkey-crash-child-${process.pid}.mjs`)
    const b = await rolldown({
      input: entry,
      platform: 'node',
      external: [/^node:/, 'better-sqlite3'],
      resolve: { extensionAlias: { '.js': ['.ts', '.js'] } },
      logLevel: 'silent',
    })
    await b.write({ file: bundle, format: 'esm' })
    await b.close()
  })
  afterAll(() => {
    rmSync(dir, { recursive: true, force: true })
    rmSync(bundle, { force: true })
  })

  // The server's own mode (fsync of the WAL on the thread pool, checkpoints that hold writes until
  // the database file is synced), with a tiny checkpoint threshold so several happen mid-stream;
  // and plain synchronous=FULL.
  it.each([
    [
      'async durability with frequent checkpoints',
      { exclusive: true, asyncDurability: true, checkpointBytes: 256 * 1024 },
    ],
    ['synchronous=FULL', {}],
  ])('%s: loses no acknowledged write and shows no partial object', async (mode, opts) => {
    const data = join(dir, `data-${mode.replace(/\W+/g, '-')}`)
    const child = spawn(process.execPath, [bundle, data, JSON.stringify(opts)], {
      stdio: ['ignore', 'pipe', 'pipe'],
      cwd: resolve(src, '..'),
    })
    let out = ''
    let err = ''
    child.stderr.on('data', (c: Buffer) => (err += c.toString()))
    const exited = new Promise<void>((r) => child.on('exit', () => r()))
    await new Promise<void>((done) => {
      const timer = setTimeout(() => done(), 4000)
      child.stdout.on('data', (c: Buffer) => {
        out += c.toString()
        if ((out.match(/\n/g)?.length ?? 0) >= 600) {
          clearTimeout(timer)
          done()
        }
      })
    })
    child.kill('SIGKILL')
    await exited
    expect(err).toBe('')
    // Checkpoints really ran before the kill: the database file itself holds data.
    if ('checkpointBytes' in opts)
      expect(statSync(join(data, 'meta.db')).size).toBeGreaterThan(128 * 1024)

    // Only complete lines are acknowledgements; a torn last line is not.
    // Concurrent writers may commit an older-started write after a newer one: the winner is
    // the last *commit*. So per key: the last acknowledged version, and all acknowledged ones.
    const acked = new Map<string, number>()
    const ackedAll = new Set<string>()
    for (const line of out.split('\n').slice(0, -1)) {
      const [, key, v] = line.split(' ')
      if (key === undefined || v === undefined) continue
      acked.set(key, Number(v))
      ackedAll.add(`${key}:${v}`)
    }
    expect(acked.size).toBeGreaterThan(50)

    const db = openDatabase(join(data, 'meta.db'))
    const meta = new SqliteMetadataStore(db, { closeDb: true })
    const ledger = new SqliteBlobLedger(db)
    const blobs = await FsBlobStore.open(join(data, 'blobs'))
    try {
      expect(readdirSync(join(data, 'blobs', 'tmp'))).toEqual([])
      // Once every grace period has passed, the collector resolves what the crash left.
      await collectGarbage(ledger, blobs, meta, Number.MAX_SAFE_INTEGER)
      // Every object present, acknowledged or not, is whole and self-consistent.
      const page = await meta.listObjects('b', { prefix: '', maxKeys: 1000 })
      const seen = new Map<string, number>()
      let after: string | undefined
      for (let p = page; ;) {
        for (const o of p.objects) {
          const rec = await meta.getObject('b', o.key)
          expect(rec).toBeDefined()
          if (rec === undefined) continue
          const bytes = await readAll(readBody(rec.body, blobs))
          const [k, v] = bytes.subarray(0, 64).toString('latin1').split(':')
          expect(k).toBe(o.key)
          const version = Number(v)
          expect(bytes.equals(content(o.key, version, bytes.length))).toBe(true)
          expect(createHash('md5').update(bytes).digest('hex')).toBe(rec.etag)
          expect(bytes.length).toBe(rec.size)
          seen.set(o.key, version)
        }
        if (!p.isTruncated) break
        after = p.lastReturned
        p = await meta.listObjects('b', { prefix: '', maxKeys: 1000, ...(after ? { after } : {}) })
      }
      // Every key's last acknowledged write is there, or one committed after it (never acked).
      for (const [key, version] of acked) {
        expect(seen.has(key), `acknowledged ${key} lost`).toBe(true)
        const v = seen.get(key) ?? -1
        if (v !== version)
          expect(ackedAll.has(`${key}:${v}`), `${key}: ${v} over ${version}`).toBe(false)
      }
      // No blob is left that metadata does not reference.
      for await (const ref of blobs.list()) {
        expect(await meta.isBlobReferenced(ref), `orphan blob ${ref}`).toBe(true)
      }
    } finally {
      await meta.close()
    }
  })
})
