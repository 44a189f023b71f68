import { createHash } from 'node:crypto'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { createChecksummer } from '../integrity/checksum.js'
import type { ChecksumAlgorithm } from '../../storage/metadata-store.js'
import {
  blobCount,
  bodyOf,
  bytes,
  header,
  makeEnv,
  run,
  runError,
  type TestEnv,
} from '../object/fixtures.case.js'
import { createMultipartUpload } from './create-multipart-upload.js'
import { uploadPart } from './upload-part.js'
import { uploadPartCopy } from './upload-part-copy.js'
import { completeMultipartUpload } from './complete-multipart-upload.js'
import { abortMultipartUpload } from './abort-multipart-upload.js'
import { deleteBucket } from './delete-bucket.js'
import { listParts } from './list-parts.js'
import { getObject } from './get-object.js'
import { headObject } from './head-object.js'
import { putObject } from './put-object.js'

const md5 = (b: Buffer): Buffer => createHash('md5').update(b).digest()
const sum = (alg: ChecksumAlgorithm, b: Buffer): Buffer => {
  const c = createChecksummer(alg)
  c.update(b)
  return c.digest()
}

let env: TestEnv
beforeEach(async () => {
  env = await makeEnv({ minPartSize: 1024 })
})
afterEach(async () => {
  await env.close()
})

async function create(key = 'mp', headers: Record<string, string> = {}): Promise<string> {
  const res = await run(createMultipartUpload, env, {
    method: 'POST',
    key,
    query: { uploads: '' },
    headers,
  })
  const xml = (await bodyOf(res)).toString()
  expect(xml).toContain(`<Bucket>bkt</Bucket><Key>${key}</Key>`)
  const m = /<UploadId>([^<]+)<\/UploadId>/.exec(xml)
  if (m?.[1] === undefined) throw new Error('no upload id')
  return m[1]
}

async function part(
  uploadId: string,
  n: number,
  body: Buffer,
  key = 'mp',
  headers: Record<string, string> = {},
) {
  return run(uploadPart, env, {
    method: 'PUT',
    key,
    query: { uploadId, partNumber: String(n) },
    body,
    headers,
  })
}

const completeDoc = (parts: { n: number; etag: string; extra?: string }[]): string =>
  `<CompleteMultipartUpload>${parts
    .map(
      (p) => `<Part><PartNumber>${p.n}</PartNumber><ETag>${p.etag}</ETag>${p.extra ?? ''}</Part>`,
    )
    .join('')}</CompleteMultipartUpload>`

async function complete(uploadId: string, body: string, key = 'mp') {
  return run(completeMultipartUpload, env, { method: 'POST', key, query: { uploadId }, body })
}

describe('multipart upload', () => {
  it('create → parts → list → complete: composite ETag, body references parts, GET by part', async () => {
    const id = await create('mp', {
      'content-type': 'text/mp',
      'x-amz-meta-k': 'v',
      'x-amz-tagging': 'a=b',
    })
    const p1 = bytes(2000, 1)
    const p2 = bytes(1500, 2)
    const p3 = bytes(10, 3)
    const r1 = await part(id, 1, p1)
    await part(id, 2, bytes(1200, 9)) // replaced below
    const r2 = await part(id, 2, p2)
    const r3 = await part(id, 3, p3)
    expect(header(r1, 'etag')).toBe(`"${md5(p1).toString('hex')}"`)
    const blobsBefore = await blobCount(env)
    expect(blobsBefore).toBe(2) // p1 and p2 are blobs (p3 inline); replaced part 2 deleted

    const lp = (
      await bodyOf(
        await run(listParts, env, { key: 'mp', query: { uploadId: id, 'max-parts': '2' } }),
      )
    ).toString()
    expect(lp).toContain('<IsTruncated>true</IsTruncated>')
    expect(lp).toContain('<NextPartNumberMarker>2</NextPartNumberMarker>')
    expect(lp).toContain('<Size>2000</Size>')
    expect(lp).toContain('<StorageClass>STANDARD</StorageClass>')
    expect(lp).toContain('<Initiator><ID>arn:aws:iam::111122223333:root</ID>')
    const lp2 = (
      await bodyOf(
        await run(listParts, env, {
          key: 'mp',
          query: { uploadId: id, 'part-number-marker': '2' },
        }),
      )
    ).toString()
    expect(lp2).toContain('<PartNumber>3</PartNumber>')
    expect(lp2).not.toContain('<PartNumber>2</PartNumber>')
    expect(lp2).toContain('<IsTruncated>false</IsTruncated>')

    const doc = completeDoc([
      { n: 1, etag: header(r1, 'etag') ?? '' },
      { n: 2, etag: (header(r2, 'etag') ?? '').replace(/"/g, '') },
      { n: 3, etag: header(r3, 'etag') ?? '' },
    ])
    const res = await complete(id, doc)
    const xml = (await bodyOf(res)).toString()
    const want =
      createHash('md5')
        .update(Buffer.concat([md5(p1), md5(p2), md5(p3)]))
        .digest('hex') + '-3'
    expect(xml).toContain(`<ETag>&quot;${want}&quot;</ETag>`)
    expect(xml).toContain('<Location>http://')
    expect(await blobCount(env)).toBe(blobsBefore) // no copying

    const all = Buffer.concat([p1, p2, p3])
    const got = await run(getObject, env, { key: 'mp' })
    expect((await bodyOf(got)).equals(all)).toBe(true)
    expect(header(got, 'etag')).toBe(`"${want}"`)
    expect(header(got, 'content-type')).toBe('text/mp')
    expect(header(got, 'x-amz-meta-k')).toBe('v')
    expect(header(got, 'x-amz-tagging-count')).toBe('1')
    const second = await run(getObject, env, { key: 'mp', query: { partNumber: '2' } })
    expect(second.status).toBe(206)
    expect(header(second, 'x-amz-mp-parts-count')).toBe('3')
    expect(header(second, 'content-range')).toBe('bytes 2000-3499/3510')
    expect((await bodyOf(second)).equals(p2)).toBe(true)
    const range = await run(getObject, env, { key: 'mp', headers: { range: 'bytes=1990-2009' } })
    expect((await bodyOf(range)).equals(all.subarray(1990, 2010))).toBe(true)
    expect((await runError(getObject, env, { key: 'mp', query: { partNumber: '4' } })).code).toBe(
      'InvalidPartNumber',
    )
    // the upload is gone
    expect((await runError(listParts, env, { key: 'mp', query: { uploadId: id } })).code).toBe(
      'NoSuchUpload',
    )
  })

  it('unused parts are deleted on complete; the replaced object too', async () => {
    await run(putObject, env, { method: 'PUT', key: 'mp', body: bytes(3000, 5) })
    const id = await create()
    const r1 = await part(id, 1, bytes(2000, 1))
    await part(id, 2, bytes(2000, 2))
    expect(await blobCount(env)).toBe(3)
    await complete(id, completeDoc([{ n: 1, etag: header(r1, 'etag') ?? '' }]))
    expect(await blobCount(env)).toBe(1)
  })

  it('InvalidPart, InvalidPartOrder, EntityTooSmall, MalformedXML, NoSuchUpload', async () => {
    const id = await create()
    const r1 = await part(id, 1, bytes(100, 1)) // too small unless last
    const r2 = await part(id, 2, bytes(2000, 2))
    const e1 = header(r1, 'etag') ?? ''
    const e2 = header(r2, 'etag') ?? ''
    const err = async (body: string, uploadId = id, key = 'mp') =>
      (
        await runError(completeMultipartUpload, env, {
          method: 'POST',
          key,
          query: { uploadId },
          body,
        })
      ).code
    expect(
      await err(
        completeDoc([
          { n: 1, etag: e1 },
          { n: 2, etag: e2 },
        ]),
      ),
    ).toBe('EntityTooSmall')
    expect(
      await err(
        completeDoc([
          { n: 2, etag: e2 },
          { n: 1, etag: e1 },
        ]),
      ),
    ).toBe('InvalidPartOrder')
    expect(
      await err(
        completeDoc([
          { n: 1, etag: e1 },
          { n: 1, etag: e1 },
        ]),
      ),
    ).toBe('InvalidPartOrder')
    expect(await err(completeDoc([{ n: 2, etag: '"0000"' }]))).toBe('InvalidPart')
    expect(await err(completeDoc([{ n: 7, etag: e2 }]))).toBe('InvalidPart')
    expect(await err('<CompleteMultipartUpload/>')).toBe('MalformedXML')
    expect(await err('junk')).toBe('MalformedXML')
    expect(await err(completeDoc([{ n: 2, etag: e2 }]), 'bogus')).toBe('NoSuchUpload')
    expect(await err(completeDoc([{ n: 2, etag: e2 }]), id, 'otherkey')).toBe('NoSuchUpload')
    // a single small part as the last part is fine
    const ok = await complete(id, completeDoc([{ n: 1, etag: e1 }]))
    expect(ok.status).toBe(200)
  })

  it('UploadPart validation: part number, NoSuchUpload, EntityTooLarge, BadDigest', async () => {
    const id = await create()
    const e = (r: Parameters<typeof runError>[2]) =>
      runError(uploadPart, env, r).then((x) => x.code)
    for (const n of ['0', '10001', 'x']) {
      expect(
        await e({ method: 'PUT', key: 'mp', query: { uploadId: id, partNumber: n }, body: 'x' }),
      ).toBe('InvalidArgument')
    }
    expect(
      await e({
        method: 'PUT',
        key: 'mp',
        query: { uploadId: 'nope', partNumber: '1' },
        body: 'x',
      }),
    ).toBe('NoSuchUpload')
    expect(
      await e({ method: 'PUT', key: 'other', query: { uploadId: id, partNumber: '1' }, body: 'x' }),
    ).toBe('NoSuchUpload')
    expect(
      await e({
        method: 'PUT',
        key: 'mp',
        query: { uploadId: id, partNumber: '1' },
        body: bytes(env.limits.maxPartSize + 1),
      }),
    ).toBe('EntityTooLarge')
    expect(
      await e({
        method: 'PUT',
        key: 'mp',
        query: { uploadId: id, partNumber: '1' },
        body: 'abc',
        headers: { 'content-md5': md5(Buffer.from('x')).toString('base64') },
      }),
    ).toBe('BadDigest')
    expect(await blobCount(env)).toBe(0)
  })

  it('abort deletes part bodies; unknown upload → NoSuchUpload', async () => {
    const id = await create()
    await part(id, 1, bytes(3000))
    await part(id, 2, bytes(3000, 2))
    expect(await blobCount(env)).toBe(2)
    expect(
      (
        await run(abortMultipartUpload, env, {
          method: 'DELETE',
          key: 'mp',
          query: { uploadId: id },
        })
      ).status,
    ).toBe(204)
    expect(await blobCount(env)).toBe(0)
    expect(
      (
        await runError(abortMultipartUpload, env, {
          method: 'DELETE',
          key: 'mp',
          query: { uploadId: id },
        })
      ).code,
    ).toBe('NoSuchUpload')
  })

  it('REGRESSION mp-delete-bucket-uploads: DeleteBucket over an abandoned upload removes it and retires its part bodies', async () => {
    const id = await create()
    await part(id, 1, bytes(3000))
    await part(id, 2, bytes(3000, 2))
    expect(await blobCount(env)).toBe(2)
    expect((await run(deleteBucket, env, { method: 'DELETE' })).status).toBe(204)
    expect(await env.meta.getBucket('bkt')).toBeUndefined()
    // Retired through the ledger: the collector deletes them once their grace has passed.
    expect(await blobCount(env)).toBe(0)
  })

  it('COMPOSITE CRC32 checksum: parts checked, object value = crc32(concat(part crcs))-N', async () => {
    const id = await create('mp', { 'x-amz-checksum-algorithm': 'CRC32' })
    const p1 = bytes(2000, 1)
    const p2 = bytes(300, 2)
    const c1 = sum('CRC32', p1).toString('base64')
    const c2 = sum('CRC32', p2).toString('base64')
    const r1 = await part(id, 1, p1, 'mp', { 'x-amz-checksum-crc32': c1 })
    expect(header(r1, 'x-amz-checksum-crc32')).toBe(c1)
    // no checksum sent: computed with the upload's algorithm anyway
    const r2 = await part(id, 2, p2)
    expect(header(r2, 'x-amz-checksum-crc32')).toBe(c2)
    // other algorithm refused
    const wrongAlg = await runError(uploadPart, env, {
      method: 'PUT',
      key: 'mp',
      query: { uploadId: id, partNumber: '3' },
      body: p2,
      headers: { 'x-amz-checksum-sha256': sum('SHA256', p2).toString('base64') },
    })
    expect(wrongAlg.code).toBe('InvalidRequest')
    const lp = (
      await bodyOf(await run(listParts, env, { key: 'mp', query: { uploadId: id } }))
    ).toString()
    expect(lp).toContain(`<ChecksumCRC32>${c1}</ChecksumCRC32>`)
    expect(lp).toContain(
      '<ChecksumAlgorithm>CRC32</ChecksumAlgorithm><ChecksumType>COMPOSITE</ChecksumType>',
    )
    const bad = await runError(completeMultipartUpload, env, {
      method: 'POST',
      key: 'mp',
      query: { uploadId: id },
      body: completeDoc([
        { n: 1, etag: header(r1, 'etag') ?? '', extra: `<ChecksumCRC32>${c2}</ChecksumCRC32>` },
        { n: 2, etag: header(r2, 'etag') ?? '' },
      ]),
    })
    expect(bad.code).toBe('InvalidPart')
    const res = await complete(
      id,
      completeDoc([
        { n: 1, etag: header(r1, 'etag') ?? '', extra: `<ChecksumCRC32>${c1}</ChecksumCRC32>` },
        { n: 2, etag: header(r2, 'etag') ?? '', extra: `<ChecksumCRC32>${c2}</ChecksumCRC32>` },
      ]),
    )
    const want =
      sum('CRC32', Buffer.concat([sum('CRC32', p1), sum('CRC32', p2)])).toString('base64') + '-2'
    expect((await bodyOf(res)).toString()).toContain(
      `<ChecksumCRC32>${want}</ChecksumCRC32><ChecksumType>COMPOSITE</ChecksumType>`,
    )
    const h = await run(headObject, env, {
      method: 'HEAD',
      key: 'mp',
      headers: { 'x-amz-checksum-mode': 'ENABLED' },
    })
    expect(header(h, 'x-amz-checksum-crc32')).toBe(want)
    expect(header(h, 'x-amz-checksum-type')).toBe('COMPOSITE')
  })

  it('FULL_OBJECT CRC64NVME checksum equals the checksum of the whole content', async () => {
    const id = await create('mp', { 'x-amz-checksum-algorithm': 'CRC64NVME' })
    const p1 = bytes(2000, 1)
    const p2 = bytes(777, 2)
    const r1 = await part(id, 1, p1)
    const r2 = await part(id, 2, p2)
    const res = await complete(
      id,
      completeDoc([
        { n: 1, etag: header(r1, 'etag') ?? '' },
        { n: 2, etag: header(r2, 'etag') ?? '' },
      ]),
    )
    const want = sum('CRC64NVME', Buffer.concat([p1, p2])).toString('base64')
    expect(header(res, 'x-amz-checksum-crc64nvme')).toBe(want)
    expect(header(res, 'x-amz-checksum-type')).toBe('FULL_OBJECT')
  })

  it('FULL_OBJECT CRC32 and CRC32C combine to the whole-content value', async () => {
    for (const alg of ['CRC32', 'CRC32C'] as const) {
      const key = `full-${alg}`
      const id = await create(key, {
        'x-amz-checksum-algorithm': alg,
        'x-amz-checksum-type': 'FULL_OBJECT',
      })
      const ps = [bytes(1500, 11), bytes(1024, 12), bytes(1, 13)]
      const listed = []
      for (const [i, p] of ps.entries()) {
        const r = await part(id, i + 1, p, key)
        listed.push({ n: i + 1, etag: header(r, 'etag') ?? '' })
      }
      const res = await complete(id, completeDoc(listed), key)
      expect(header(res, `x-amz-checksum-${alg.toLowerCase()}`)).toBe(
        sum(alg, Buffer.concat(ps)).toString('base64'),
      )
    }
  })

  it('conditional complete: If-None-Match * fails when the key exists', async () => {
    await run(putObject, env, { method: 'PUT', key: 'mp', body: 'existing' })
    const id = await create()
    const r1 = await part(id, 1, bytes(10))
    const e = await runError(completeMultipartUpload, env, {
      method: 'POST',
      key: 'mp',
      query: { uploadId: id },
      headers: { 'if-none-match': '*' },
      body: completeDoc([{ n: 1, etag: header(r1, 'etag') ?? '' }]),
    })
    expect(e.code).toBe('PreconditionFailed')
    expect((await bodyOf(await run(getObject, env, { key: 'mp' }))).toString()).toBe('existing')
  })

  it('checksum algorithm/type combinations at create', async () => {
    const e = async (headers: Record<string, string>) =>
      (
        await runError(createMultipartUpload, env, {
          method: 'POST',
          key: 'x',
          query: { uploads: '' },
          headers,
        })
      ).code
    expect(await e({ 'x-amz-checksum-algorithm': 'MD4' })).toBe('InvalidRequest')
    expect(
      await e({ 'x-amz-checksum-algorithm': 'SHA256', 'x-amz-checksum-type': 'FULL_OBJECT' }),
    ).toBe('InvalidRequest')
    expect(
      await e({ 'x-amz-checksum-algorithm': 'CRC64NVME', 'x-amz-checksum-type': 'COMPOSITE' }),
    ).toBe('InvalidRequest')
    expect(await e({ 'x-amz-checksum-type': 'COMPOSITE' })).toBe('InvalidRequest')
    expect(await e({ 'x-amz-tagging': 'a=1&a=2' })).toBe('InvalidTag')
    expect(await e({ 'x-amz-server-side-encryption': 'aws:kms' })).toBe('NotImplemented')
  })

  it('UploadPartCopy: ranges, validation, conditions; then complete', async () => {
    const src = bytes(5000, 4)
    await run(putObject, env, { method: 'PUT', key: 'src', body: src })
    const id = await create()
    const copy = (n: number, headers: Record<string, string>) =>
      run(uploadPartCopy, env, {
        method: 'PUT',
        key: 'mp',
        query: { uploadId: id, partNumber: String(n) },
        headers,
      })
    const r1 = await copy(1, {
      'x-amz-copy-source': 'bkt/src',
      'x-amz-copy-source-range': 'bytes=0-2999',
    })
    const x1 = (await bodyOf(r1)).toString()
    expect(x1).toContain('<CopyPartResult')
    const e1 = /<ETag>&quot;([0-9a-f]+)&quot;<\/ETag>/.exec(x1)?.[1] ?? ''
    expect(e1).toBe(md5(src.subarray(0, 3000)).toString('hex'))
    const r2 = await copy(2, { 'x-amz-copy-source': 'bkt/src' })
    const e2 =
      /<ETag>&quot;([0-9a-f]+)&quot;<\/ETag>/.exec((await bodyOf(r2)).toString())?.[1] ?? ''
    const err = async (headers: Record<string, string>) =>
      (
        await runError(uploadPartCopy, env, {
          method: 'PUT',
          key: 'mp',
          query: { uploadId: id, partNumber: '3' },
          headers,
        })
      ).code
    expect(
      await err({ 'x-amz-copy-source': 'bkt/src', 'x-amz-copy-source-range': 'bytes=0-5000' }),
    ).toBe('InvalidRange')
    expect(
      await err({ 'x-amz-copy-source': 'bkt/src', 'x-amz-copy-source-range': 'bytes=10-' }),
    ).toBe('InvalidArgument')
    expect(await err({ 'x-amz-copy-source': 'bkt/src', 'x-amz-copy-source-if-match': '"x"' })).toBe(
      'PreconditionFailed',
    )
    expect(await err({ 'x-amz-copy-source': 'bkt/nope' })).toBe('NoSuchKey')
    expect(
      (
        await runError(uploadPartCopy, env, {
          method: 'PUT',
          key: 'mp',
          query: { uploadId: 'zz', partNumber: '3' },
          headers: { 'x-amz-copy-source': 'bkt/src' },
        })
      ).code,
    ).toBe('NoSuchUpload')
    env.authz.predicate = (need) => need.action !== 's3:GetObject'
    expect(await err({ 'x-amz-copy-source': 'bkt/src' })).toBe('AccessDenied')
    env.authz.predicate = () => true
    await complete(
      id,
      completeDoc([
        { n: 1, etag: e1 },
        { n: 2, etag: e2 },
      ]),
    )
    const got = await bodyOf(await run(getObject, env, { key: 'mp' }))
    expect(got.equals(Buffer.concat([src.subarray(0, 3000), src]))).toBe(true)
  })

  it('authorize returns the AWS actions on the object ARN', () => {
    const req = { bucket: 'bkt', key: 'a/b', header: () => undefined } as never
    expect(createMultipartUpload.authorize(req)[0]?.action).toBe('s3:PutObject')
    expect(uploadPart.authorize(req)[0]?.action).toBe('s3:PutObject')
    expect(uploadPartCopy.authorize(req)[0]?.action).toBe('s3:PutObject')
    expect(completeMultipartUpload.authorize(req)[0]?.action).toBe('s3:PutObject')
    expect(abortMultipartUpload.authorize(req)[0]).toEqual({
      action: 's3:AbortMultipartUpload',
      resource: 'arn:aws:s3:::bkt/a/b',
    })
    expect(listParts.authorize(req)[0]).toEqual({
      action: 's3:ListMultipartUploadParts',
      resource: 'arn:aws:s3:::bkt/a/b',
    })
  })
})
