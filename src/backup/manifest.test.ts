/**
 * The backup manifest: what it records (sizes, SHA-256, counts, the master key named as kept
 * apart), what a manifest read from disk must be before restore trusts its paths, and the
 * verification that finds a missing, truncated or altered file.
 * @module
 */
import { createHash } from 'node:crypto'
import { mkdirSync, mkdtempSync, rmSync, truncateSync, writeFileSync } from 'node:fs'
import { readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import {
  blobPath,
  buildManifest,
  isBlobPath,
  masterKeyFingerprint,
  parseManifest,
  verifyFiles,
  type Manifest,
} from './manifest.js'

let dir: string
const REFS = ['abcdEFGH1234', 'zz99-_tail']
const KEY = Buffer.alloc(32, 7)
const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex')

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'lk-manifest-'))
  writeFileSync(join(dir, 'latchkey.db'), 'database bytes')
  for (const ref of REFS) {
    const p = join(dir, blobPath(ref))
    mkdirSync(dirname(p), { recursive: true })
    writeFileSync(p, `bytes of ${ref}`)
  }
})
afterEach(() => rmSync(dir, { recursive: true, force: true }))

const build = (): Promise<Manifest> =>
  buildManifest({
    dir,
    id: 'b1',
    createdAt: new Date(Date.UTC(2026, 11, 3)),
    latchkeyVersion: '9.9.9',
    masterKeyFingerprint: masterKeyFingerprint(KEY),
    blobRefs: REFS,
    tables: { objects: 2, users: 1 },
  })

describe('buildManifest', () => {
  it('records every file with its size and SHA-256, the counts, and the master key as not included', async () => {
    const m = await build()
    expect(m).toMatchObject({
      format: 'latchkey-backup',
      formatVersion: 1,
      id: 'b1',
      createdAt: '2026-12-03T00:00:00.000Z',
      latchkeyVersion: '9.9.9',
      database: { path: 'latchkey.db', size: 14, sha256: sha(Buffer.from('database bytes')) },
      counts: { blobs: 2, tables: { objects: 2, users: 1 } },
      masterKey: { included: false, fingerprint: masterKeyFingerprint(KEY) },
    })
    expect(m.masterKey.fingerprint).toMatch(/^[0-9a-f]{16}$/)
    expect(masterKeyFingerprint(Buffer.alloc(32, 8))).not.toBe(m.masterKey.fingerprint)
    expect(JSON.stringify(m)).not.toContain(KEY.toString('base64'))
    expect(m.masterKey.note).toMatch(/master key is NOT in this backup/)
    expect(m.blobs.map((b) => b.path)).toEqual([
      'objects/blobs/ab/cd/abcdEFGH1234',
      'objects/blobs/zz/99/zz99-_tail',
    ])
    expect(m.blobs[0]?.sha256).toBe(sha(Buffer.from('bytes of abcdEFGH1234')))
    expect(m.counts.blobBytes).toBe(m.blobs.reduce((n, b) => n + b.size, 0))
    expect(parseManifest(JSON.stringify(m))).toEqual(m)
  })
})

describe('parseManifest refuses what restore must not trust', () => {
  const mutate = async (f: (m: any) => void): Promise<string> => {
    const m = JSON.parse(JSON.stringify(await build()))
    f(m)
    return JSON.stringify(m)
  }
  it.each([
    [
      'a path outside the layout',
      (m: any) => (m.blobs[0].path = '../../etc/passwd'),
      /not a blob path/,
    ],
    ['an absolute path', (m: any) => (m.blobs[0].path = '/etc/passwd'), /not a blob path/],
    [
      'a fan-out that does not match the name',
      (m: any) => (m.blobs[0].path = 'objects/blobs/xx/cd/abcdEFGH1234'),
      /not a blob path/,
    ],
    ['a blob listed twice', (m: any) => (m.blobs[1] = m.blobs[0]), /listed twice/],
    ['another database file', (m: any) => (m.database.path = 'master.key'), /database must be/],
    ['a newer format', (m: any) => (m.formatVersion = 2), /format version 2/],
    ['counts that disagree', (m: any) => (m.counts.blobs = 5), /counts.blobs is 5/],
    [
      'a master key said to be included',
      (m: any) => (m.masterKey.included = true),
      /not a Latchkey backup manifest/,
    ],
    ['a bad checksum', (m: any) => (m.database.sha256 = 'zz'), /not a Latchkey backup manifest/],
  ])('%s', async (_name, f, why) => {
    const text = await mutate(f)
    expect(() => parseManifest(text)).toThrow(why)
  })
  it('text that is not JSON, or JSON that is not a manifest', () => {
    expect(() => parseManifest('{')).toThrow(/not JSON/)
    expect(() => parseManifest('{}')).toThrow(/not a Latchkey backup manifest/)
  })
  it('isBlobPath accepts only the blob layout', () => {
    expect(isBlobPath('objects/blobs/ab/cd/abcdef')).toBe(true)
    expect(isBlobPath('objects/blobs/ab/cd/abcdef/')).toBe(false)
    expect(isBlobPath('objects/blobs/ab/cd/../cd/abcdef')).toBe(false)
    expect(isBlobPath('latchkey.db')).toBe(false)
  })
})

describe('verifyFiles', () => {
  it('finds nothing wrong in a whole backup', async () => {
    expect(await verifyFiles(dir, await build())).toEqual([])
  })
  it('names a flipped byte, a truncated file and a missing one', async () => {
    const m = await build()
    const [first, second] = m.blobs
    const flipped = join(dir, first!.path)
    const bytes = readFileSync(flipped)
    bytes[0] = (bytes[0] ?? 0) ^ 0x80
    writeFileSync(flipped, bytes)
    truncateSync(join(dir, 'latchkey.db'), 3)
    rmSync(join(dir, second!.path))
    const problems = await verifyFiles(dir, m)
    expect(problems).toEqual([
      'latchkey.db: 3 bytes, the manifest says 14',
      expect.stringMatching(
        /^objects\/blobs\/ab\/cd\/abcdEFGH1234: SHA-256 [0-9a-f]{64} does not match/,
      ),
      'objects/blobs/zz/99/zz99-_tail: missing',
    ])
  })
})
