import { createHash } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import fc from 'fast-check'
import { XMLParser } from 'fast-xml-parser'
import {
  createTestBucket,
  makeEnv,
  makeReq,
  ownerOf,
  ACCOUNT,
  putTestObject,
  run,
  type TestEnv,
} from '../listing/fixtures.case.js'
import { s3UrlDecode } from '../listing/params.js'
import { listObjectsV1, listObjectsV2 } from './list-objects.js'
import { listObjectVersions } from './list-object-versions.js'

const xml = new XMLParser({
  parseTagValue: false,
  trimValues: false,
  isArray: (n) => ['Contents', 'CommonPrefixes', 'Version'].includes(n),
})
type Doc = Record<string, any>
const parse = (s: string, root: string): Doc => (xml.parse(s) as Doc)[root] as Doc

/** UTF-8 byte order, as S3 lists. */
function cmp(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'))
}

/** The reference model: every entry (key or common prefix) in listing order. */
function model(keys: readonly string[], prefix: string, delimiter: string | undefined): string[] {
  const out: string[] = []
  for (const k of [...keys].sort(cmp)) {
    if (!k.startsWith(prefix)) continue
    const at = delimiter === undefined ? -1 : k.indexOf(delimiter, prefix.length)
    const entry = at >= 0 && delimiter !== undefined ? k.slice(0, at + delimiter.length) : k
    if (out[out.length - 1] !== entry) out.push(entry)
  }
  return out
}

let t: TestEnv
let n = 0
beforeAll(() => {
  t = makeEnv()
})
afterAll(async () => {
  await t.close()
})

async function freshBucket(keys: readonly string[]): Promise<string> {
  const name = `list-${n++}`
  await createTestBucket(t, name)
  for (const k of keys) await putTestObject(t, name, k, k)
  return name
}

const unit = fc.constantFrom('a', 'b', '/', '-', ' ', 'é', '😀', '+', '%', 'Z', '0')
const keyArb = fc.string({ unit, minLength: 1, maxLength: 6 })

function decode(s: string | undefined, url: boolean): string {
  const v = s ?? ''
  return url ? s3UrlDecode(v) : v
}

function entriesOf(d: Doc, url: boolean, tag = 'Contents'): string[] {
  const keys = ((d[tag] ?? []) as Doc[]).map((c) => decode(String(c['Key']), url))
  const cps = ((d['CommonPrefixes'] ?? []) as Doc[]).map((c) => decode(String(c['Prefix']), url))
  return [...keys, ...cps].sort(cmp)
}

describe('ListObjects against a reference model', () => {
  const scenario = fc.record({
    keys: fc.uniqueArray(keyArb, { maxLength: 25 }),
    prefix: fc.oneof(fc.constant(''), fc.string({ unit, maxLength: 2 })),
    delimiter: fc.option(fc.constantFrom('/', 'a', '😀', '-a'), { nil: undefined }),
    maxKeys: fc.integer({ min: 1, max: 7 }),
    url: fc.boolean(),
  })

  it('v2: paginating with continuation tokens yields the model, no duplicates', async () => {
    await fc.assert(
      fc.asyncProperty(scenario, async ({ keys, prefix, delimiter, maxKeys, url }) => {
        const bucket = await freshBucket(keys)
        const seen: string[] = []
        let token: string | undefined
        for (let guard = 0; guard < 100; guard++) {
          const query: Record<string, string> = {
            'list-type': '2',
            prefix,
            'max-keys': String(maxKeys),
          }
          if (delimiter !== undefined) query['delimiter'] = delimiter
          if (url) query['encoding-type'] = 'url'
          if (token !== undefined) query['continuation-token'] = token
          const r = await run(listObjectsV2, t, { bucket, query })
          expect(r.error).toBeUndefined()
          const d = parse(r.body, 'ListBucketResult')
          const page = entriesOf(d, url)
          expect(page.length).toBeLessThanOrEqual(maxKeys)
          expect(Number(d['KeyCount'])).toBe(page.length)
          expect(decode(d['Prefix'], url)).toBe(prefix)
          if (delimiter !== undefined) expect(decode(d['Delimiter'], url)).toBe(delimiter)
          seen.push(...page)
          if (d['IsTruncated'] === 'false') {
            expect(d['NextContinuationToken']).toBeUndefined()
            break
          }
          token = String(d['NextContinuationToken'])
        }
        expect(seen).toEqual(model(keys, prefix, delimiter))
      }),
      { numRuns: 60 },
    )
  })

  it('v1: paginating with markers (NextMarker or last key) yields the model', async () => {
    await fc.assert(
      fc.asyncProperty(scenario, async ({ keys, prefix, delimiter, maxKeys, url }) => {
        const bucket = await freshBucket(keys)
        const seen: string[] = []
        let marker: string | undefined
        for (let guard = 0; guard < 100; guard++) {
          const query: Record<string, string> = { prefix, 'max-keys': String(maxKeys) }
          if (delimiter !== undefined) query['delimiter'] = delimiter
          if (url) query['encoding-type'] = 'url'
          if (marker !== undefined) query['marker'] = marker
          const r = await run(listObjectsV1, t, { bucket, query })
          const d = parse(r.body, 'ListBucketResult')
          const page = entriesOf(d, url)
          seen.push(...page)
          expect(decode(d['Marker'], url)).toBe(marker ?? '')
          if (d['IsTruncated'] === 'false') break
          if (delimiter !== undefined) {
            expect(d['NextMarker']).toBeDefined()
            marker = decode(d['NextMarker'], url)
            expect(marker).toBe(page[page.length - 1])
          } else {
            expect(d['NextMarker']).toBeUndefined()
            const contents = (d['Contents'] ?? []) as Doc[]
            marker = decode(String(contents[contents.length - 1]?.['Key']), url)
          }
        }
        expect(seen).toEqual(model(keys, prefix, delimiter))
      }),
      { numRuns: 40 },
    )
  })

  it('versions: key-marker pagination yields the model with VersionId null', async () => {
    await fc.assert(
      fc.asyncProperty(scenario, async ({ keys, prefix, delimiter, maxKeys }) => {
        const bucket = await freshBucket(keys)
        const seen: string[] = []
        let keyMarker: string | undefined
        for (let guard = 0; guard < 100; guard++) {
          const query: Record<string, string> = {
            versions: '',
            prefix,
            'max-keys': String(maxKeys),
          }
          if (delimiter !== undefined) query['delimiter'] = delimiter
          if (keyMarker !== undefined) {
            query['key-marker'] = keyMarker
            query['version-id-marker'] = 'null'
          }
          const r = await run(listObjectVersions, t, { bucket, query })
          expect(r.error).toBeUndefined()
          const d = parse(r.body, 'ListVersionsResult')
          for (const v of (d['Version'] ?? []) as Doc[]) {
            expect(v['VersionId']).toBe('null')
            expect(v['IsLatest']).toBe('true')
          }
          seen.push(...entriesOf(d, false, 'Version'))
          if (d['IsTruncated'] === 'false') break
          keyMarker = String(d['NextKeyMarker'])
          expect(d['NextVersionIdMarker']).toBe('null')
        }
        expect(seen).toEqual(model(keys, prefix, delimiter))
      }),
      { numRuns: 25 },
    )
  })
})

describe('ListObjects details', () => {
  it('object fields, owner rules and start-after', async () => {
    const bucket = await freshBucket(['a', 'b b', 'c/d'])
    const v2 = parse(
      (await run(listObjectsV2, t, { bucket, query: { 'list-type': '2', 'start-after': 'a' } }))
        .body,
      'ListBucketResult',
    )
    expect(v2['StartAfter']).toBe('a')
    expect(v2['KeyCount']).toBe('2')
    expect(v2['MaxKeys']).toBe('1000')
    const c0 = (v2['Contents'] as Doc[])[0] as Doc
    expect(c0).toEqual({
      Key: 'b b',
      LastModified: '2026-01-02T03:04:05.678Z',
      ETag: `"${createHash('md5').update('b b').digest('hex')}"`,
      Size: '3',
      StorageClass: 'STANDARD',
    })
    expect(c0['Owner']).toBeUndefined()
    const withOwner = parse(
      (await run(listObjectsV2, t, { bucket, query: { 'list-type': '2', 'fetch-owner': 'true' } }))
        .body,
      'ListBucketResult',
    )
    expect((withOwner['Contents'] as Doc[])[0]?.['Owner']).toEqual({
      ID: ownerOf(ACCOUNT).id,
      DisplayName: ownerOf(ACCOUNT).displayName,
    })
    const v1 = parse((await run(listObjectsV1, t, { bucket })).body, 'ListBucketResult')
    expect((v1['Contents'] as Doc[])[0]?.['Owner']).toBeDefined()
    expect(v1['NextMarker']).toBeUndefined()
  })
  it('url encoding of every name (a space as %20, issue 12)', async () => {
    const bucket = await freshBucket(['dir one/é+x', 'dir one/z'])
    const r = await run(listObjectsV2, t, {
      bucket,
      query: {
        'list-type': '2',
        prefix: 'dir one/',
        'encoding-type': 'url',
        'start-after': 'dir one/a b',
      },
    })
    const d = parse(r.body, 'ListBucketResult')
    expect(d['EncodingType']).toBe('url')
    expect(d['Prefix']).toBe('dir%20one/')
    expect(d['StartAfter']).toBe('dir%20one/a%20b')
    expect((d['Contents'] as Doc[]).map((c) => c['Key'])).toEqual([
      'dir%20one/z',
      'dir%20one/%C3%A9%2Bx',
    ]) // UTF-8 byte order
    const cp = parse(
      (await run(listObjectsV1, t, { bucket, query: { delimiter: ' ', 'encoding-type': 'url' } }))
        .body,
      'ListBucketResult',
    )
    expect(cp['Delimiter']).toBe('%20')
    expect(cp['CommonPrefixes']).toEqual([{ Prefix: 'dir%20' }])
  })
  it('max-keys=0, bad max-keys, bad token, bad encoding-type', async () => {
    const bucket = await freshBucket(['a'])
    const zero = parse(
      (await run(listObjectsV2, t, { bucket, query: { 'max-keys': '0' } })).body,
      'ListBucketResult',
    )
    expect(zero['KeyCount']).toBe('0')
    expect(zero['IsTruncated']).toBe('false')
    expect((await run(listObjectsV2, t, { bucket, query: { 'max-keys': '-1' } })).error?.code).toBe(
      'InvalidArgument',
    )
    expect(
      (await run(listObjectsV1, t, { bucket, query: { 'max-keys': 'ten' } })).error?.code,
    ).toBe('InvalidArgument')
    const big = parse(
      (await run(listObjectsV2, t, { bucket, query: { 'max-keys': '5000' } })).body,
      'ListBucketResult',
    )
    expect(big['MaxKeys']).toBe('1000')
    const tok = await run(listObjectsV2, t, { bucket, query: { 'continuation-token': 'garbage!' } })
    expect(tok.error?.code).toBe('InvalidArgument')
    expect(tok.body).toBe('The continuation token provided is incorrect')
    expect(
      (await run(listObjectsV2, t, { bucket, query: { 'encoding-type': 'xml' } })).error?.code,
    ).toBe('InvalidArgument')
    expect(
      (await run(listObjectVersions, t, { bucket, query: { 'version-id-marker': 'null' } })).error
        ?.code,
    ).toBe('InvalidArgument')
    expect(
      (
        await run(listObjectVersions, t, {
          bucket,
          query: { 'key-marker': 'a', 'version-id-marker': 'v9' },
        })
      ).error?.code,
    ).toBe('InvalidArgument')
    expect((await run(listObjectsV2, t, { bucket: 'missing-bucket' })).error?.code).toBe(
      'NoSuchBucket',
    )
  })
  it('authorize: s3:ListBucket with prefix/delimiter/max-keys conditions', () => {
    expect(listObjectsV2.authorize(makeReq({ bucket: 'bk', query: { 'list-type': '2' } }))).toEqual(
      [{ action: 's3:ListBucket', resource: 'arn:aws:s3:::bk', context: { 's3:prefix': '' } }],
    )
    expect(
      listObjectsV1.authorize(
        makeReq({ bucket: 'bk', query: { prefix: 'p/', delimiter: '/', 'max-keys': '5' } }),
      ),
    ).toEqual([
      {
        action: 's3:ListBucket',
        resource: 'arn:aws:s3:::bk',
        context: { 's3:prefix': 'p/', 's3:delimiter': '/', 's3:max-keys': '5' },
      },
    ])
    expect(listObjectVersions.authorize(makeReq({ bucket: 'bk' }))[0]?.action).toBe(
      's3:ListBucketVersions',
    )
  })
})
