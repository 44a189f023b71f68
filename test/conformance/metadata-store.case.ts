/**
 * MetadataStore conformance suite: every backend (sqlite today, postgres later) runs these same
 * cases through its own factory. Listing is checked against a naive reference model with
 * fast-check (random key sets, prefixes, delimiters, markers and page sizes, paginated to the end).
 * Conditional writes are decided atomically (of two racing conditional writers exactly one wins),
 * and every committed change is published to the store's feed, nothing for a refused write.
 * @module
 */
import fc from 'fast-check'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { StorageError } from '../../src/storage/errors.js'
import type { Change, ChangeFeed } from '../../src/storage/change-feed.js'
import type {
  BodyRef,
  ListObjectsPage,
  MetadataStore,
  ObjectRecord,
  PartRecord,
  UploadRecord,
} from '../../src/storage/metadata-store.js'

export interface MetadataStoreHarness {
  readonly store: MetadataStore
  /** The feed the store publishes to (the published-changes cases run when given). */
  readonly changes?: ChangeFeed
  cleanup(): Promise<void>
}

const T0 = Date.UTC(2026, 0, 1)

function utf8Compare(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a), Buffer.from(b))
}

export function obj(bucket: string, key: string, over: Partial<ObjectRecord> = {}): ObjectRecord {
  return {
    bucket,
    key,
    size: 3,
    etag: 'd41d8cd98f00b204e9800998ecf8427e',
    lastModified: T0,
    headers: { contentType: 'text/plain' },
    userMetadata: {},
    tags: {},
    body: { kind: 'inline', bytes: Buffer.from('abc') },
    ownerAccountId: 'acct1',
    ...over,
  }
}

function upload(bucket: string, key: string, uploadId: string, initiatedAt = T0): UploadRecord {
  return {
    uploadId,
    bucket,
    key,
    initiatedAt,
    headers: { contentType: 'application/octet-stream' },
    userMetadata: { a: '1' },
    tags: { t: 'v' },
    checksumAlgorithm: 'CRC32',
    checksumType: 'COMPOSITE',
    ownerAccountId: 'acct1',
    initiator: 'arn:aws:iam::111111111111:root',
  }
}

function part(partNumber: number, ref: string, size = 5): PartRecord {
  return {
    partNumber,
    size,
    etag: `${partNumber}`.padStart(32, '0'),
    lastModified: T0 + partNumber,
    body: { kind: 'blob', ref, size },
  }
}

async function expectKind(p: Promise<unknown>, kind: StorageError['kind']): Promise<StorageError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  )
  expect(err).toBeInstanceOf(StorageError)
  expect((err as StorageError).kind).toBe(kind)
  return err as StorageError
}

// ----- naive listing model --------------------------------------------------------------------

interface NaiveQuery {
  prefix: string
  delimiter?: string
  after?: string
  maxKeys: number
}

interface NaivePage {
  entries: { value: string; cp: boolean }[]
  isTruncated: boolean
}

export function naiveList(keys: readonly string[], q: NaiveQuery): NaivePage {
  const sorted = keys.filter((k) => k.startsWith(q.prefix)).sort(utf8Compare)
  const entries: { value: string; cp: boolean }[] = []
  for (const k of sorted) {
    let entry = { value: k, cp: false }
    if (q.delimiter !== undefined && q.delimiter !== '') {
      const at = k.indexOf(q.delimiter, q.prefix.length)
      if (at >= 0) entry = { value: k.slice(0, at + q.delimiter.length), cp: true }
    }
    if (q.after !== undefined && utf8Compare(entry.value, q.after) <= 0) continue
    const last = entries[entries.length - 1]
    if (last !== undefined && last.cp && entry.cp && last.value === entry.value) continue
    entries.push(entry)
  }
  if (q.maxKeys <= 0) return { entries: [], isTruncated: false }
  return { entries: entries.slice(0, q.maxKeys), isTruncated: entries.length > q.maxKeys }
}

function pageEntries(p: ListObjectsPage): { value: string; cp: boolean }[] {
  const all = [
    ...p.objects.map((o) => ({ value: o.key, cp: false })),
    ...p.commonPrefixes.map((c) => ({ value: c, cp: true })),
  ]
  return all.sort((a, b) => utf8Compare(a.value, b.value))
}

// ----- the suite ------------------------------------------------------------------------------

export function metadataStoreConformance(
  name: string,
  factory: () => Promise<MetadataStoreHarness>,
): void {
  describe(`MetadataStore conformance: ${name}`, () => {
    let h: MetadataStoreHarness
    let s: MetadataStore
    beforeEach(async () => {
      h = await factory()
      s = h.store
    })
    afterEach(async () => {
      await h.cleanup()
    })

    const bucket = async (name = 'b1', accountId = 'acct1'): Promise<string> => {
      await s.createBucket({ name, accountId, createdAt: T0, region: 'us-east-1' })
      return name
    }

    describe('buckets', () => {
      it('creates, reads, lists by account in name order, deletes', async () => {
        await bucket('zeta')
        await bucket('alpha')
        await bucket('other', 'acct2')
        expect(await s.getBucket('alpha')).toEqual({
          name: 'alpha',
          accountId: 'acct1',
          createdAt: T0,
          region: 'us-east-1',
        })
        expect((await s.listBuckets('acct1')).map((b) => b.name)).toEqual(['alpha', 'zeta'])
        expect((await s.listBuckets('acct2')).map((b) => b.name)).toEqual(['other'])
        await s.deleteBucket('alpha')
        expect(await s.getBucket('alpha')).toBeUndefined()
        expect((await s.listBuckets('acct1')).map((b) => b.name)).toEqual(['zeta'])
      })

      it('refuses a duplicate name, telling who owns it', async () => {
        await bucket('dup', 'acct9')
        const e = await expectKind(
          s.createBucket({ name: 'dup', accountId: 'acct1', createdAt: T0, region: 'x' }),
          'bucket-exists',
        )
        expect(e.detail['ownerAccountId']).toBe('acct9')
      })

      it('refuses to delete a missing bucket or one holding objects', async () => {
        await expectKind(s.deleteBucket('nope'), 'bucket-not-found')
        await bucket('full')
        await s.putObject(obj('full', 'k'))
        await s.createUpload(upload('full', 'k', 'u1'))
        await expectKind(s.deleteBucket('full'), 'bucket-not-empty')
        expect(await s.getUpload('full', 'k', 'u1')).toBeDefined()
        await s.deleteObject('full', 'k')
        await s.abortUpload('u1')
        expect(await s.deleteBucket('full')).toEqual([])
        expect(await s.getBucket('full')).toBeUndefined()
      })

      it('REGRESSION mp-delete-bucket-uploads: deletes a bucket holding only incomplete uploads, with them, returning their parts', async () => {
        await bucket('abandoned')
        await bucket('kept')
        await s.createUpload(upload('abandoned', 'a', 'ua'))
        await s.createUpload(upload('abandoned', 'b', 'ub'))
        await s.createUpload(upload('kept', 'a', 'uk'))
        await s.putPart('ua', part(1, 'pa1'))
        await s.putPart('ua', part(2, 'pa2'))
        await s.putPart('ub', part(1, 'pb1'))
        await s.putPart('uk', part(1, 'pk1'))
        const freed = await s.deleteBucket('abandoned')
        expect(freed.map((b) => (b.kind === 'blob' ? b.ref : b.kind)).sort()).toEqual([
          'pa1',
          'pa2',
          'pb1',
        ])
        expect(await s.getBucket('abandoned')).toBeUndefined()
        await expectKind(s.listParts('ua', 0, 10), 'upload-not-found')
        await expectKind(s.listParts('ub', 0, 10), 'upload-not-found')
        expect(await s.isBlobReferenced('pa1')).toBe(false)
        // Another bucket's upload is untouched; a re-created bucket has no uploads.
        expect((await s.listParts('uk', 0, 10)).map((p) => p.partNumber)).toEqual([1])
        await bucket('abandoned')
        const page = await s.listUploads('abandoned', { prefix: '', maxUploads: 10 })
        expect(page.uploads).toEqual([])
      })

      it('stores, replaces and deletes sub-resources', async () => {
        await bucket()
        expect(await s.getBucketSubresource('b1', 'policy')).toBeUndefined()
        await s.setBucketSubresource('b1', 'policy', '{"v":1}')
        await s.setBucketSubresource('b1', 'cors', '<cors/>')
        await s.setBucketSubresource('b1', 'policy', '{"v":2}')
        expect(await s.getBucketSubresource('b1', 'policy')).toBe('{"v":2}')
        expect(await s.getBucketSubresource('b1', 'cors')).toBe('<cors/>')
        await s.setBucketSubresource('b1', 'policy', null)
        expect(await s.getBucketSubresource('b1', 'policy')).toBeUndefined()
        await expectKind(s.setBucketSubresource('nope', 'tagging', 'x'), 'bucket-not-found')
      })

      it('drops sub-resources with the bucket', async () => {
        await bucket('gone')
        await s.setBucketSubresource('gone', 'tagging', '<t/>')
        await s.deleteBucket('gone')
        await bucket('gone')
        expect(await s.getBucketSubresource('gone', 'tagging')).toBeUndefined()
      })
    })

    describe('objects', () => {
      it('round-trips every field of a record', async () => {
        await bucket()
        const bodies: BodyRef[] = [
          { kind: 'inline', bytes: Buffer.from([0, 1, 2, 255]) },
          { kind: 'blob', ref: 'abcdef0123', size: 9000 },
          {
            kind: 'parts',
            parts: [
              { ref: { kind: 'blob', ref: 'p1p1p1', size: 5 }, size: 5 },
              { ref: { kind: 'inline', bytes: Buffer.from('xy') }, size: 2 },
            ],
          },
        ]
        for (const [i, body] of bodies.entries()) {
          const o = obj('b1', `k${i}`, {
            body,
            size: 7,
            etag: 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa-2',
            headers: {
              contentType: 'image/png',
              contentEncoding: 'gzip',
              contentDisposition: 'attachment',
              contentLanguage: 'fr',
              cacheControl: 'no-cache',
              expires: 'Thu, 01 Jan 2026 00:00:00 GMT',
            },
            userMetadata: { color: 'blue', 'x-y': 'é' },
            checksum: { algorithm: 'CRC32C', value: 'AAAAAA==-2', type: 'COMPOSITE' },
            tags: { env: 'prod' },
            partSizes: [5, 2],
            ownerAccountId: 'acct7',
          })
          expect(await s.putObject(o)).toEqual({})
          expect(await s.getObject('b1', `k${i}`)).toEqual(o)
        }
      })

      it('replaces atomically, returning the replaced body, and deletes', async () => {
        await bucket()
        const first = obj('b1', 'k', { body: { kind: 'blob', ref: 'first1', size: 3 } })
        const second = obj('b1', 'k', {
          etag: 'f'.repeat(32),
          body: { kind: 'inline', bytes: Buffer.from('new') },
        })
        expect(await s.putObject(first)).toEqual({})
        expect(await s.putObject(second)).toEqual({ replaced: first.body })
        expect(await s.getObject('b1', 'k')).toEqual(second)
        expect(await s.deleteObject('b1', 'k')).toEqual(second.body)
        expect(await s.getObject('b1', 'k')).toBeUndefined()
        expect(await s.deleteObject('b1', 'k')).toBeUndefined()
      })

      it('refuses objects in a missing bucket', async () => {
        await expectKind(s.putObject(obj('nope', 'k')), 'bucket-not-found')
        await expectKind(s.deleteObject('nope', 'k'), 'bucket-not-found')
        await expectKind(s.listObjects('nope', { prefix: '', maxKeys: 10 }), 'bucket-not-found')
      })

      it('keeps keys separate per bucket', async () => {
        await bucket('x')
        await bucket('y')
        await s.putObject(obj('x', 'k', { etag: '1'.repeat(32) }))
        await s.putObject(obj('y', 'k', { etag: '2'.repeat(32) }))
        expect((await s.getObject('x', 'k'))?.etag).toBe('1'.repeat(32))
        expect((await s.getObject('y', 'k'))?.etag).toBe('2'.repeat(32))
        expect((await s.listObjects('x', { prefix: '', maxKeys: 10 })).objects).toHaveLength(1)
      })

      it('replaces tags of an existing object only', async () => {
        await bucket()
        await s.putObject(obj('b1', 'k', { tags: { a: '1' } }))
        await s.setObjectTags('b1', 'k', { b: '2', c: '' })
        expect((await s.getObject('b1', 'k'))?.tags).toEqual({ b: '2', c: '' })
        await expectKind(s.setObjectTags('b1', 'missing', {}), 'key-not-found')
      })

      it('keeps an object ACL: written with the record, replaced by setObjectAcl, listed', async () => {
        await bucket()
        const pub = {
          grants: [
            {
              group: 'http://acs.amazonaws.com/groups/global/AllUsers',
              permission: 'READ' as const,
            },
          ],
        }
        await s.putObject(obj('b1', 'k', { acl: pub }))
        expect((await s.getObject('b1', 'k'))?.acl).toEqual(pub)
        await s.putObject(obj('b1', 'plain'))
        expect((await s.getObject('b1', 'plain'))?.acl).toBeUndefined()
        const acct = { grants: [{ account: '111111111111', permission: 'FULL_CONTROL' as const }] }
        await s.setObjectAcl('b1', 'plain', acct)
        const got = await s.getObject('b1', 'plain')
        expect(got?.acl).toEqual(acct)
        expect(got?.etag).toBe(obj('b1', 'plain').etag)
        const page = await s.listObjects('b1', { prefix: '', maxKeys: 10 })
        expect(page.objects.find((o) => o.key === 'k')?.acl).toEqual(pub)
        await expectKind(s.setObjectAcl('b1', 'missing', acct), 'key-not-found')
        await expectKind(s.setObjectAcl('nope', 'k', acct), 'bucket-not-found')
      })

      it('keeps the ACL given to an upload for its completed object', async () => {
        await bucket()
        const pub = {
          grants: [
            {
              group: 'http://acs.amazonaws.com/groups/global/AllUsers',
              permission: 'READ' as const,
            },
          ],
        }
        await s.createUpload({ ...upload('b1', 'k', 'u-acl'), acl: pub })
        expect((await s.getUpload('b1', 'k', 'u-acl'))?.acl).toEqual(pub)
      })

      it('last writer wins under concurrent puts, never a mix', async () => {
        await bucket()
        const n = 40
        const records = Array.from({ length: n }, (_, i) =>
          obj('b1', 'hot', {
            etag: i.toString(16).padStart(32, '0'),
            size: i,
            body: { kind: 'blob', ref: `blob${i}`, size: i },
          }),
        )
        const results = await Promise.all(records.map((r) => s.putObject(r)))
        const final = await s.getObject('b1', 'hot')
        expect(final).toEqual(records[n - 1])
        // Every body but the winner was handed back exactly once for deletion.
        const replaced = results.flatMap((r) => (r.replaced ? [JSON.stringify(r.replaced)] : []))
        expect(new Set(replaced).size).toBe(n - 1)
        expect(replaced).not.toContain(JSON.stringify(final?.body))
      })

      it('group commit: 100 concurrent puts are all visible once resolved', async () => {
        await bucket()
        await Promise.all(
          Array.from({ length: 100 }, (_, i) =>
            s.putObject(obj('b1', `k${String(i).padStart(3, '0')}`)),
          ),
        )
        const page = await s.listObjects('b1', { prefix: '', maxKeys: 1000 })
        expect(page.objects.map((o) => o.key)).toEqual(
          Array.from({ length: 100 }, (_, i) => `k${String(i).padStart(3, '0')}`),
        )
      })

      it('group commit: a failing op rejects alone, the rest of its batch commits', async () => {
        await bucket()
        const ops = Array.from({ length: 21 }, (_, i) =>
          i === 10 ? s.putObject(obj('missing-bucket', 'k')) : s.putObject(obj('b1', `k${i}`)),
        )
        const settled = await Promise.allSettled(ops)
        settled.forEach((r, i) => {
          expect(r.status).toBe(i === 10 ? 'rejected' : 'fulfilled')
        })
        const bad = settled[10]
        expect(bad?.status === 'rejected' && (bad.reason as StorageError).kind).toBe(
          'bucket-not-found',
        )
        const page = await s.listObjects('b1', { prefix: '', maxKeys: 1000 })
        expect(page.objects).toHaveLength(20)
      })

      it('group commit: a bucket deleted earlier in the batch fails the later put', async () => {
        await bucket('tmp')
        const del = s.deleteBucket('tmp')
        const put = s.putObject(obj('tmp', 'k'))
        await del
        await expectKind(put, 'bucket-not-found')
      })
    })

    describe('listing', () => {
      it('orders unicode keys by UTF-8 bytes, not UTF-16', async () => {
        await bucket()
        const keys = ['😀', 'é', 'b', '\uFFFD', '中', 'a', 'z', 'a/b', 'a/c/d']
        await Promise.all(keys.map((k) => s.putObject(obj('b1', k))))
        const page = await s.listObjects('b1', { prefix: '', maxKeys: 100 })
        expect(page.objects.map((o) => o.key)).toEqual([
          'a',
          'a/b',
          'a/c/d',
          'b',
          'z',
          'é',
          '中',
          '\uFFFD',
          '😀',
        ])
        expect(page.isTruncated).toBe(false)
        expect(page.lastReturned).toBe('😀')
      })

      it('rolls up common prefixes, paginates with lastReturned and skips past them', async () => {
        await bucket()
        const keys = ['a', 'dir/1', 'dir/2', 'dir/sub/3', 'e', 'photos/x', 'z']
        await Promise.all(keys.map((k) => s.putObject(obj('b1', k))))
        const p1 = await s.listObjects('b1', { prefix: '', delimiter: '/', maxKeys: 2 })
        expect(p1.objects.map((o) => o.key)).toEqual(['a'])
        expect(p1.commonPrefixes).toEqual(['dir/'])
        expect(p1).toMatchObject({ isTruncated: true, lastReturned: 'dir/' })
        const p2 = await s.listObjects('b1', {
          prefix: '',
          delimiter: '/',
          maxKeys: 2,
          after: 'dir/',
        })
        expect(p2.objects.map((o) => o.key)).toEqual(['e'])
        expect(p2.commonPrefixes).toEqual(['photos/'])
        expect(p2.isTruncated).toBe(true)
        const p3 = await s.listObjects('b1', {
          prefix: '',
          delimiter: '/',
          maxKeys: 2,
          after: 'photos/',
        })
        expect(p3.objects.map((o) => o.key)).toEqual(['z'])
        expect(p3.isTruncated).toBe(false)
        const sub = await s.listObjects('b1', { prefix: 'dir/', delimiter: '/', maxKeys: 10 })
        expect(sub.objects.map((o) => o.key)).toEqual(['dir/1', 'dir/2'])
        expect(sub.commonPrefixes).toEqual(['dir/sub/'])
        const none = await s.listObjects('b1', { prefix: '', maxKeys: 0 })
        expect(none).toEqual({ objects: [], commonPrefixes: [], isTruncated: false })
      })

      it('returns summaries without bodies', async () => {
        await bucket()
        await s.putObject(obj('b1', 'k', { tags: { a: 'b' } }))
        const page = await s.listObjects('b1', { prefix: '', maxKeys: 10 })
        expect(page.objects[0]).not.toHaveProperty('body')
        expect(page.objects[0]).toMatchObject({ key: 'k', etag: obj('b1', 'k').etag, size: 3 })
      })

      it('matches a naive model on random keys, prefixes, delimiters and pages', async () => {
        const chars = ['a', 'b', '/', '-', 'é', '中', '😀', '\u007f', 'z', '\uFFFD']
        const str = (min: number, max: number) =>
          fc
            .array(fc.constantFrom(...chars), { minLength: min, maxLength: max })
            .map((a) => a.join(''))
        let run = 0
        await fc.assert(
          fc.asyncProperty(
            fc.uniqueArray(str(1, 6), { maxLength: 40 }),
            str(0, 2),
            fc.option(fc.constantFrom('/', 'é', '😀', 'ab', 'a'), { nil: undefined }),
            fc.option(str(0, 4), { nil: undefined }),
            fc.integer({ min: 1, max: 7 }),
            async (keys, prefix, delimiter, after, maxKeys) => {
              const b = `prop${run++}`
              await bucket(b)
              await Promise.all(keys.map((k) => s.putObject(obj(b, k))))
              let cursor = after
              const seen: { value: string; cp: boolean }[] = []
              for (let guard = 0; guard < 100; guard++) {
                const q = {
                  prefix,
                  maxKeys,
                  ...(delimiter !== undefined ? { delimiter } : {}),
                  ...(cursor !== undefined ? { after: cursor } : {}),
                }
                const got = await s.listObjects(b, q)
                const want = naiveList(keys, q)
                expect(pageEntries(got)).toEqual(want.entries)
                expect(got.isTruncated).toBe(want.isTruncated)
                seen.push(...want.entries)
                if (!got.isTruncated) break
                expect(got.lastReturned).toBe(want.entries[want.entries.length - 1]?.value)
                cursor = got.lastReturned
              }
              const all = naiveList(keys, {
                prefix,
                maxKeys: 1e9,
                ...(delimiter !== undefined ? { delimiter } : {}),
                ...(after !== undefined ? { after } : {}),
              })
              expect(seen).toEqual(all.entries)
            },
          ),
          { numRuns: 120 },
        )
      })
    })

    describe('multipart', () => {
      it('creates, reads, uploads, replaces and lists parts', async () => {
        await bucket()
        const u = upload('b1', 'big', 'up1')
        await s.createUpload(u)
        expect(await s.getUpload('b1', 'big', 'up1')).toEqual(u)
        expect(await s.getUpload('b1', 'other', 'up1')).toBeUndefined()
        expect(await s.getUpload('b2', 'big', 'up1')).toBeUndefined()
        for (const n of [3, 1, 2]) expect(await s.putPart('up1', part(n, `r${n}r${n}`))).toEqual({})
        const again = {
          ...part(2, 'r2again'),
          checksum: { algorithm: 'SHA256', value: 'x', type: 'COMPOSITE' },
        } as const
        expect(await s.putPart('up1', again)).toEqual({ replaced: part(2, 'r2r2').body })
        expect(await s.getPart('up1', 2)).toEqual(again)
        expect(await s.getPart('up1', 9)).toBeUndefined()
        expect((await s.listParts('up1', 0, 10)).map((p) => p.partNumber)).toEqual([1, 2, 3])
        expect((await s.listParts('up1', 1, 1)).map((p) => p.partNumber)).toEqual([2])
        expect(await s.listParts('up1', 3, 10)).toEqual([])
        await expectKind(s.putPart('nope', part(1, 'xxxx')), 'upload-not-found')
        await expectKind(s.createUpload(upload('nobucket', 'k', 'u9')), 'bucket-not-found')
      })

      it('completes: object put, unused parts returned, upload gone', async () => {
        await bucket()
        await s.putObject(obj('b1', 'big', { body: { kind: 'blob', ref: 'oldobj', size: 3 } }))
        await s.createUpload(upload('b1', 'big', 'up1'))
        for (const n of [1, 2, 3]) await s.putPart('up1', part(n, `part${n}`))
        const o = obj('b1', 'big', {
          size: 10,
          etag: 'c'.repeat(32) + '-2',
          partSizes: [5, 5],
          partChecksums: ['AAAAAA==', 'AAAAAQ=='],
          uploadId: 'up1',
          body: {
            kind: 'parts',
            parts: [
              { ref: part(1, 'part1').body, size: 5 },
              { ref: part(3, 'part3').body, size: 5 },
            ],
          },
        })
        const r = await s.completeUpload('up1', o, [1, 3])
        expect(r.replaced).toEqual({ kind: 'blob', ref: 'oldobj', size: 3 })
        expect(r.unused).toEqual([part(2, 'part2').body])
        expect(await s.getObject('b1', 'big')).toEqual(o)
        expect(await s.getUpload('b1', 'big', 'up1')).toBeUndefined()
        await expectKind(s.listParts('up1', 0, 10), 'upload-not-found')
        await expectKind(s.completeUpload('up1', o, [1, 3]), 'upload-not-found')
        await expectKind(s.putPart('up1', part(4, 'late')), 'upload-not-found')
        const referenced = async (r: string): Promise<boolean> => s.isBlobReferenced(r)
        expect(await referenced('part1')).toBe(true)
        expect(await referenced('part3')).toBe(true)
        expect(await referenced('part2')).toBe(false)
        expect(await referenced('oldobj')).toBe(false)
      })

      it('refuses to complete with a part that changed meanwhile', async () => {
        await bucket()
        await s.createUpload(upload('b1', 'k', 'up1'))
        await s.putPart('up1', part(1, 'orig1'))
        const o = obj('b1', 'k', {
          body: { kind: 'parts', parts: [{ ref: part(1, 'orig1').body, size: 5 }] },
        })
        await s.putPart('up1', part(1, 'newer'))
        await expectKind(s.completeUpload('up1', o, [1]), 'conflict')
        expect(await s.getObject('b1', 'k')).toBeUndefined()
        expect(await s.getUpload('b1', 'k', 'up1')).toBeDefined()
      })

      it('aborts, returning the parts bodies', async () => {
        await bucket()
        await s.createUpload(upload('b1', 'k', 'up1'))
        await s.putPart('up1', part(1, 'aaaa'))
        await s.putPart('up1', part(2, 'bbbb'))
        expect(await s.abortUpload('up1')).toEqual([part(1, 'aaaa').body, part(2, 'bbbb').body])
        expect(await s.getUpload('b1', 'k', 'up1')).toBeUndefined()
        expect(await s.getPart('up1', 1)).toBeUndefined()
        await expectKind(s.abortUpload('up1'), 'upload-not-found')
      })

      it('lists uploads by key then initiation, with prefix, delimiter and markers', async () => {
        await bucket()
        const ups = [
          upload('b1', 'b', 'u-b2', T0 + 2),
          upload('b1', 'b', 'u-b1', T0 + 1),
          upload('b1', 'a', 'u-a', T0 + 5),
          upload('b1', 'dir/x', 'u-dx', T0),
          upload('b1', 'dir/y', 'u-dy', T0),
          upload('b1', 'é', 'u-e', T0),
        ]
        for (const u of ups) await s.createUpload(u)
        const all = await s.listUploads('b1', { prefix: '', maxUploads: 100 })
        expect(all.uploads.map((u) => u.uploadId)).toEqual([
          'u-a',
          'u-b1',
          'u-b2',
          'u-dx',
          'u-dy',
          'u-e',
        ])
        expect(all.isTruncated).toBe(false)

        const p1 = await s.listUploads('b1', { prefix: '', delimiter: '/', maxUploads: 2 })
        expect(p1.uploads.map((u) => u.uploadId)).toEqual(['u-a', 'u-b1'])
        expect(p1).toMatchObject({
          isTruncated: true,
          nextKeyMarker: 'b',
          nextUploadIdMarker: 'u-b1',
        })
        const p2 = await s.listUploads('b1', {
          prefix: '',
          delimiter: '/',
          maxUploads: 2,
          keyMarker: 'b',
          uploadIdMarker: 'u-b1',
        })
        expect(p2.uploads.map((u) => u.uploadId)).toEqual(['u-b2'])
        expect(p2.commonPrefixes).toEqual(['dir/'])
        expect(p2).toMatchObject({ isTruncated: true, nextKeyMarker: 'dir/' })
        expect(p2.nextUploadIdMarker).toBeUndefined()
        const p3 = await s.listUploads('b1', {
          prefix: '',
          delimiter: '/',
          maxUploads: 2,
          keyMarker: 'dir/',
        })
        expect(p3.uploads.map((u) => u.uploadId)).toEqual(['u-e'])
        expect(p3.commonPrefixes).toEqual([])
        expect(p3.isTruncated).toBe(false)

        const keyOnly = await s.listUploads('b1', { prefix: '', maxUploads: 10, keyMarker: 'b' })
        expect(keyOnly.uploads.map((u) => u.uploadId)).toEqual(['u-dx', 'u-dy', 'u-e'])
        const pre = await s.listUploads('b1', { prefix: 'dir/', maxUploads: 10 })
        expect(pre.uploads.map((u) => u.key)).toEqual(['dir/x', 'dir/y'])
        await expectKind(s.listUploads('nope', { prefix: '', maxUploads: 1 }), 'bucket-not-found')
      })
    })

    describe('lifecycle support', () => {
      it('pages the buckets holding one kind of sub-resource, in name order', async () => {
        for (const n of ['d', 'a', 'c', 'b', 'e']) await bucket(n, n === 'e' ? 'acct2' : 'acct1')
        await s.setBucketSubresource('a', 'lifecycle', 'A')
        await s.setBucketSubresource('c', 'lifecycle', 'C')
        await s.setBucketSubresource('d', 'cors', 'not lifecycle')
        await s.setBucketSubresource('e', 'lifecycle', 'E')
        await s.setBucketSubresource('b', 'lifecycle', 'B')
        await s.setBucketSubresource('b', 'lifecycle', null)
        expect(await s.listBucketSubresources('lifecycle', undefined, 2)).toEqual([
          { bucket: 'a', value: 'A' },
          { bucket: 'c', value: 'C' },
        ])
        expect(await s.listBucketSubresources('lifecycle', 'c', 2)).toEqual([
          { bucket: 'e', value: 'E' },
        ])
        expect(await s.listBucketSubresources('lifecycle', 'e', 2)).toEqual([])
        expect(await s.listBucketSubresources('policy', undefined, 10)).toEqual([])
      })

      it('a conditional delete removes only the object it names', async () => {
        await bucket()
        const etag = 'c'.repeat(32)
        await s.putObject(obj('b1', 'k', { etag, lastModified: T0 }))
        // Same bytes written again later: same ETag, newer LastModified. It stays.
        await s.putObject(obj('b1', 'k', { etag, lastModified: T0 + 1 }))
        const e = await expectKind(
          s.deleteObject('b1', 'k', { ifMatch: etag, ifLastModified: T0 }),
          'precondition',
        )
        expect(e.detail).toMatchObject({ condition: 'If-Match', current: 'present' })
        await expectKind(
          s.deleteObject('b1', 'k', { ifMatch: 'd'.repeat(32), ifLastModified: T0 + 1 }),
          'precondition',
        )
        expect((await s.getObject('b1', 'k'))?.lastModified).toBe(T0 + 1)
        const body = await s.deleteObject('b1', 'k', { ifMatch: etag, ifLastModified: T0 + 1 })
        expect(body).toBeDefined()
        expect(await s.getObject('b1', 'k')).toBeUndefined()
        // Absent: nothing to remove, as unconditionally.
        expect(
          await s.deleteObject('b1', 'k', { ifMatch: etag, ifLastModified: T0 + 1 }),
        ).toBeUndefined()
      })

      it('race: a conditional delete and an overwrite of the key: the new object survives', async () => {
        await bucket()
        const etag = 'e'.repeat(32)
        for (let i = 0; i < 10; i++) {
          await s.putObject(obj('b1', `k${i}`, { etag, lastModified: T0 }))
          await Promise.allSettled([
            s.deleteObject('b1', `k${i}`, { ifMatch: etag, ifLastModified: T0 }),
            s.putObject(obj('b1', `k${i}`, { etag, lastModified: T0 + 5 })),
          ])
          // Either order is fine; the overwrite's record must never be the one deleted.
          const now = await s.getObject('b1', `k${i}`)
          expect(now?.lastModified).toBe(T0 + 5)
        }
      })
    })

    describe('conditional writes', () => {
      const etagA = 'a'.repeat(32)
      const etagB = 'b'.repeat(32)

      async function refused(p: Promise<unknown>, condition: string, current: string) {
        const err = await expectKind(p, 'precondition')
        expect(err.detail).toMatchObject({ condition, current })
      }

      it('If-None-Match * writes only where no object is', async () => {
        await bucket()
        await s.putObject(obj('b1', 'k', { etag: etagA }), { ifNoneMatch: '*' })
        expect((await s.getObject('b1', 'k'))?.etag).toBe(etagA)
        await refused(
          s.putObject(obj('b1', 'k', { etag: etagB }), { ifNoneMatch: '*' }),
          'If-None-Match',
          'present',
        )
        expect((await s.getObject('b1', 'k'))?.etag).toBe(etagA)
      })

      it('If-Match writes only over an object with a listed ETag', async () => {
        await bucket()
        await refused(
          s.putObject(obj('b1', 'k', { etag: etagB }), { ifMatch: [etagA] }),
          'If-Match',
          'absent',
        )
        expect(await s.getObject('b1', 'k')).toBeUndefined()
        await s.putObject(obj('b1', 'k', { etag: etagA }))
        await refused(
          s.putObject(obj('b1', 'k', { etag: etagB }), { ifMatch: ['c'.repeat(32)] }),
          'If-Match',
          'present',
        )
        await refused(
          s.putObject(obj('b1', 'k', { etag: etagB }), { ifMatch: [] }),
          'If-Match',
          'present',
        )
        const r = await s.putObject(obj('b1', 'k', { etag: etagB }), {
          ifMatch: ['c'.repeat(32), etagA],
        })
        expect(r.replaced).toEqual(obj('b1', 'k').body)
        expect((await s.getObject('b1', 'k'))?.etag).toBe(etagB)
        await s.putObject(obj('b1', 'k', { etag: etagA }), { ifMatch: ['*'] })
        expect((await s.getObject('b1', 'k'))?.etag).toBe(etagA)
      })

      it('checks If-None-Match before If-Match', async () => {
        await bucket()
        await s.putObject(obj('b1', 'k', { etag: etagA }))
        await refused(
          s.putObject(obj('b1', 'k'), { ifNoneMatch: '*', ifMatch: [etagA] }),
          'If-None-Match',
          'present',
        )
      })

      it('race: of two concurrent If-None-Match * puts exactly one wins', async () => {
        await bucket()
        const settled = await Promise.allSettled([
          s.putObject(obj('b1', 'k', { etag: etagA }), { ifNoneMatch: '*' }),
          s.putObject(obj('b1', 'k', { etag: etagB }), { ifNoneMatch: '*' }),
        ])
        const won = settled.filter((r) => r.status === 'fulfilled')
        const lost = settled.flatMap((r) => (r.status === 'rejected' ? [r.reason] : []))
        expect(won).toHaveLength(1)
        expect(lost).toHaveLength(1)
        expect((lost[0] as StorageError).kind).toBe('precondition')
        const winner = settled[0]?.status === 'fulfilled' ? etagA : etagB
        expect((await s.getObject('b1', 'k'))?.etag).toBe(winner)
      })

      it('race: of two concurrent If-Match puts on the same ETag exactly one wins', async () => {
        await bucket()
        await s.putObject(obj('b1', 'k', { etag: 'e'.repeat(32) }))
        const settled = await Promise.allSettled([
          s.putObject(obj('b1', 'k', { etag: etagA }), { ifMatch: ['e'.repeat(32)] }),
          s.putObject(obj('b1', 'k', { etag: etagB }), { ifMatch: ['e'.repeat(32)] }),
        ])
        expect(settled.filter((r) => r.status === 'fulfilled')).toHaveLength(1)
        const winner = settled[0]?.status === 'fulfilled' ? etagA : etagB
        expect((await s.getObject('b1', 'k'))?.etag).toBe(winner)
      })

      it('race: of sixteen concurrent If-None-Match * puts exactly one wins, whole', async () => {
        await bucket()
        const etags = Array.from({ length: 16 }, (_, i) => i.toString(16).repeat(32))
        const settled = await Promise.allSettled(
          etags.map((etag, i) =>
            s.putObject(
              obj('b1', 'k', { etag, body: { kind: 'inline', bytes: Buffer.from(`body ${i}`) } }),
              { ifNoneMatch: '*' },
            ),
          ),
        )
        const won = settled.flatMap((r, i) => (r.status === 'fulfilled' ? [i] : []))
        expect(won).toHaveLength(1)
        for (const r of settled)
          if (r.status === 'rejected') expect((r.reason as StorageError).kind).toBe('precondition')
        const got = await s.getObject('b1', 'k')
        const w = won[0] ?? -1
        expect(got?.etag).toBe(etags[w])
        expect(got?.body).toEqual({ kind: 'inline', bytes: Buffer.from(`body ${w}`) })
      })

      it('race: a conditional completion and a conditional put of one key: exactly one wins', async () => {
        await bucket()
        await s.createUpload(upload('b1', 'k', 'up1'))
        await s.putPart('up1', part(1, 'p1'))
        const mp = obj('b1', 'k', {
          etag: `${etagB}-1`,
          body: { kind: 'parts', parts: [{ ref: { kind: 'blob', ref: 'p1', size: 5 }, size: 5 }] },
        })
        const settled = await Promise.allSettled([
          s.completeUpload('up1', mp, [1], { ifNoneMatch: '*' }),
          s.putObject(obj('b1', 'k', { etag: etagA }), { ifNoneMatch: '*' }),
        ])
        expect(settled.filter((r) => r.status === 'fulfilled')).toHaveLength(1)
        const completed = settled[0]?.status === 'fulfilled'
        expect((await s.getObject('b1', 'k'))?.etag).toBe(completed ? `${etagB}-1` : etagA)
        // A refused completion keeps its upload (the client may retry it elsewhere or abort).
        expect(await s.getUpload('b1', 'k', 'up1')).toEqual(
          completed ? undefined : upload('b1', 'k', 'up1'),
        )
      })

      it('race: of two conditional completions of one key exactly one wins', async () => {
        await bucket()
        for (const id of ['up1', 'up2']) {
          await s.createUpload(upload('b1', 'k', id))
          await s.putPart(id, part(1, `${id}-p1`))
        }
        const mp = (id: string, etag: string) =>
          obj('b1', 'k', {
            etag: `${etag}-1`,
            body: {
              kind: 'parts',
              parts: [{ ref: { kind: 'blob', ref: `${id}-p1`, size: 5 }, size: 5 }],
            },
          })
        const settled = await Promise.allSettled([
          s.completeUpload('up1', mp('up1', etagA), [1], { ifNoneMatch: '*' }),
          s.completeUpload('up2', mp('up2', etagB), [1], { ifNoneMatch: '*' }),
        ])
        expect(settled.filter((r) => r.status === 'fulfilled')).toHaveLength(1)
        const first = settled[0]?.status === 'fulfilled'
        expect((await s.getObject('b1', 'k'))?.etag).toBe(`${first ? etagA : etagB}-1`)
        expect(await s.getUpload('b1', 'k', first ? 'up2' : 'up1')).toBeDefined()
      })

      it('completing an upload honours the conditions and keeps a refused upload', async () => {
        await bucket()
        await s.putObject(obj('b1', 'k', { etag: etagA }))
        await s.createUpload(upload('b1', 'k', 'up1'))
        await s.putPart('up1', part(1, 'p1'))
        const mp = obj('b1', 'k', {
          etag: `${etagB}-1`,
          body: { kind: 'parts', parts: [{ ref: { kind: 'blob', ref: 'p1', size: 5 }, size: 5 }] },
        })
        await refused(
          s.completeUpload('up1', mp, [1], { ifNoneMatch: '*' }),
          'If-None-Match',
          'present',
        )
        expect(await s.getUpload('b1', 'k', 'up1')).toBeDefined()
        expect((await s.getObject('b1', 'k'))?.etag).toBe(etagA)
        const done = await s.completeUpload('up1', mp, [1], { ifMatch: [etagA] })
        expect(done.unused).toEqual([])
        expect((await s.getObject('b1', 'k'))?.etag).toBe(`${etagB}-1`)
      })
    })

    describe('published changes', () => {
      it('announces every committed change and nothing for a refused write', async (ctx) => {
        const feed = h.changes
        if (feed === undefined) return ctx.skip()
        const seen: Change[] = []
        const stop = feed.subscribe({ change: (c) => void seen.push(c), resync() {} })
        try {
          await bucket()
          await s.setBucketSubresource('b1', 'policy', '{}')
          await s.setBucketSubresource('b1', 'cors', '<x/>')
          await s.setBucketSubresource('b1', 'tagging', '<t/>')
          await s.setBucketSubresource('b1', 'cors', null)
          await s.putObject(obj('b1', 'k'))
          await s.setObjectTags('b1', 'k', { a: '1' })
          await expectKind(s.putObject(obj('nope', 'k')), 'bucket-not-found')
          await expectKind(s.putObject(obj('b1', 'k'), { ifNoneMatch: '*' }), 'precondition')
          await expectKind(s.setObjectTags('b1', 'missing', {}), 'key-not-found')
          expect(await s.deleteObject('b1', 'missing')).toBeUndefined()
          await s.deleteObject('b1', 'k')
          await s.createUpload(upload('b1', 'mp', 'up1'))
          await s.putPart('up1', part(1, 'p1'))
          await s.completeUpload(
            'up1',
            obj('b1', 'mp', {
              body: {
                kind: 'parts',
                parts: [{ ref: { kind: 'blob', ref: 'p1', size: 5 }, size: 5 }],
              },
            }),
            [1],
          )
          await s.deleteObject('b1', 'mp')
          await s.deleteBucket('b1')
          expect(seen).toEqual([
            { kind: 'bucket', bucket: 'b1', part: 'created' },
            { kind: 'bucket', bucket: 'b1', part: 'policy' },
            { kind: 'bucket', bucket: 'b1', part: 'cors' },
            { kind: 'bucket', bucket: 'b1', part: 'cors' },
            { kind: 'object', bucket: 'b1', key: 'k' },
            { kind: 'object', bucket: 'b1', key: 'k' },
            { kind: 'object', bucket: 'b1', key: 'k' },
            { kind: 'object', bucket: 'b1', key: 'mp' },
            { kind: 'object', bucket: 'b1', key: 'mp' },
            { kind: 'bucket', bucket: 'b1', part: 'deleted' },
          ])
        } finally {
          stop()
        }
      })

      it('a subscriber sees the change before the write resolves', async (ctx) => {
        const feed = h.changes
        if (feed === undefined) return ctx.skip()
        await bucket()
        let seen = false
        const stop = feed.subscribe({ change: () => void (seen = true), resync() {} })
        try {
          const put = s.putObject(obj('b1', 'k')).then(() => seen)
          expect(await put).toBe(true)
        } finally {
          stop()
        }
      })
    })

    describe('blob references', () => {
      it('knows every blob ref of objects and parts, nested ones too, exactly', async () => {
        await bucket()
        await s.putObject(obj('b1', 'inline'))
        await s.putObject(obj('b1', 'blob', { body: { kind: 'blob', ref: 'objblob', size: 1 } }))
        await s.putObject(
          obj('b1', 'mp', {
            body: {
              kind: 'parts',
              parts: [
                { ref: { kind: 'blob', ref: 'mp1', size: 1 }, size: 1 },
                { ref: { kind: 'inline', bytes: Buffer.from('x') }, size: 1 },
                { ref: { kind: 'blob', ref: 'mp2', size: 1 }, size: 1 },
              ],
            },
          }),
        )
        await s.createUpload(upload('b1', 'k', 'up1'))
        await s.putPart('up1', part(1, 'partblob'))
        for (const r of ['mp1', 'mp2', 'objblob', 'partblob'])
          expect(await s.isBlobReferenced(r)).toBe(true)
        expect(await s.isBlobReferenced('mp')).toBe(false)
        expect(await s.isBlobReferenced('x')).toBe(false)
      })
    })
  })
}
