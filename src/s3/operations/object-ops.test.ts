import { createHash } from 'node:crypto'
import { Readable } from 'node:stream'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { createChecksummer } from '../integrity/checksum.js'
import {
  ANON,
  blobCount,
  bodyOf,
  bytes,
  header,
  makeEnv,
  run,
  runError,
  type TestEnv,
} from '../object/fixtures.case.js'
import { getObject } from './get-object.js'
import { headObject } from './head-object.js'
import { putObject } from './put-object.js'
import { copyObject } from './copy-object.js'
import { deleteObject } from './delete-object.js'
import { deleteObjects } from './delete-objects.js'
import { deleteObjectTagging, getObjectTagging, putObjectTagging } from './object-tagging.js'
import { getObjectAcl, putObjectAcl } from './object-acl.js'

const md5b64 = (b: Buffer | string): string => createHash('md5').update(b).digest('base64')
const md5hex = (b: Buffer | string): string => createHash('md5').update(b).digest('hex')
const crc32b64 = (b: Buffer): string => {
  const c = createChecksummer('CRC32')
  c.update(b)
  return c.digest().toString('base64')
}

let env: TestEnv
beforeEach(async () => {
  env = await makeEnv()
})
afterEach(async () => {
  await env.close()
})

async function put(key: string, body: Buffer | string, headers: Record<string, string> = {}) {
  return run(putObject, env, { method: 'PUT', key, body, headers })
}

describe('PutObject / GetObject / HeadObject', () => {
  it('stores small (inline) and large (blob) bodies and answers ETag + checksum', async () => {
    for (const size of [0, 10, 5000]) {
      const data = bytes(size, size + 1)
      const res = await put(`k${size}`, data, {
        'x-amz-checksum-crc32': crc32b64(data),
        'content-type': 'text/plain',
      })
      expect(res.status).toBe(200)
      expect(header(res, 'etag')).toBe(`"${md5hex(data)}"`)
      expect(header(res, 'x-amz-checksum-crc32')).toBe(crc32b64(data))
      const got = await run(getObject, env, {
        key: `k${size}`,
        headers: { 'x-amz-checksum-mode': 'ENABLED' },
      })
      expect(got.status).toBe(200)
      expect((await bodyOf(got)).equals(data)).toBe(true)
      expect(header(got, 'content-length')).toBe(String(size))
      expect(header(got, 'content-type')).toBe('text/plain')
      expect(header(got, 'accept-ranges')).toBe('bytes')
      expect(header(got, 'x-amz-checksum-crc32')).toBe(crc32b64(data))
      expect(header(got, 'x-amz-checksum-type')).toBe('FULL_OBJECT')
    }
    expect(await blobCount(env)).toBe(1)
  })

  it('replays metadata, content headers and tag count; default content type', async () => {
    await put('m', 'hello', {
      'x-amz-meta-Color': 'blue',
      'content-encoding': 'aws-chunked,gzip',
      'content-disposition': 'attachment',
      'cache-control': 'no-cache',
      'x-amz-tagging': 'a=1&b=2',
    })
    const h = await run(headObject, env, { method: 'HEAD', key: 'm' })
    expect(h.body).toBeUndefined()
    expect(header(h, 'x-amz-meta-color')).toBe('blue')
    expect(header(h, 'content-encoding')).toBe('gzip')
    expect(header(h, 'content-disposition')).toBe('attachment')
    expect(header(h, 'cache-control')).toBe('no-cache')
    expect(header(h, 'x-amz-tagging-count')).toBe('2')
    expect(header(h, 'content-type')).toBe('application/octet-stream')
    expect(header(h, 'content-length')).toBe('5')
    expect(header(h, 'last-modified')).toBe(new Date(env.clock.now()).toUTCString())
  })

  it('replaces an object and deletes the old blob', async () => {
    await put('r', bytes(5000, 1))
    await put('r', bytes(6000, 2))
    expect(await blobCount(env)).toBe(1)
    expect((await bodyOf(await run(getObject, env, { key: 'r' }))).equals(bytes(6000, 2))).toBe(
      true,
    )
  })

  it('verifies Content-MD5: BadDigest leaves nothing, InvalidDigest for junk', async () => {
    const data = bytes(5000)
    const bad = await runError(putObject, env, {
      method: 'PUT',
      key: 'd',
      body: data,
      headers: { 'content-md5': md5b64('x') },
    })
    expect(bad.code).toBe('BadDigest')
    expect(await env.meta.getObject('bkt', 'd')).toBeUndefined()
    expect(await blobCount(env)).toBe(0)
    const junk = await runError(putObject, env, {
      method: 'PUT',
      key: 'd',
      body: data,
      headers: { 'content-md5': 'abc' },
    })
    expect(junk.code).toBe('InvalidDigest')
    expect((await put('d', data, { 'content-md5': md5b64(data) })).status).toBe(200)
  })

  it('verifies x-amz-checksum-* from the header and from the trailer', async () => {
    const data = bytes(3000)
    const wrong = crc32b64(bytes(10))
    const e1 = await runError(putObject, env, {
      method: 'PUT',
      key: 'c',
      body: data,
      headers: { 'x-amz-checksum-crc32': wrong },
    })
    expect(e1.code).toBe('BadDigest')
    expect(e1.message).toBe('The CRC32 you specified did not match the calculated checksum.')
    expect(await blobCount(env)).toBe(0)
    const trailerHeaders = {
      'x-amz-trailer': 'x-amz-checksum-crc32',
      'content-encoding': 'aws-chunked',
    }
    const e2 = await runError(putObject, env, {
      method: 'PUT',
      key: 'c',
      body: data,
      headers: trailerHeaders,
      trailers: { 'x-amz-checksum-crc32': wrong },
    })
    expect(e2.code).toBe('BadDigest')
    const e3 = await runError(putObject, env, {
      method: 'PUT',
      key: 'c',
      body: data,
      headers: trailerHeaders,
    })
    expect(e3.code).toBe('InvalidRequest')
    const ok = await run(putObject, env, {
      method: 'PUT',
      key: 'c',
      body: data,
      headers: trailerHeaders,
      trailers: { 'x-amz-checksum-crc32': crc32b64(data) },
    })
    expect(header(ok, 'x-amz-checksum-crc32')).toBe(crc32b64(data))
    expect(await blobCount(env)).toBe(1)
  })

  it('needs a length: MissingContentLength unless chunked; EntityTooLarge over the limit', async () => {
    const e = await runError(putObject, env, {
      method: 'PUT',
      key: 'l',
      body: Readable.from([Buffer.from('abc')]),
      contentLength: null,
    })
    expect(e.code).toBe('MissingContentLength')
    expect(e.status).toBe(411)
    const chunked = await run(putObject, env, {
      method: 'PUT',
      key: 'l',
      body: Readable.from([Buffer.from('abc')]),
      contentLength: null,
      headers: { 'transfer-encoding': 'chunked' },
    })
    expect(chunked.status).toBe(200)
    const big = await runError(putObject, env, {
      method: 'PUT',
      key: 'l',
      body: bytes(env.limits.maxObjectSize + 1),
    })
    expect(big.code).toBe('EntityTooLarge')
    const bigUnknown = await runError(putObject, env, {
      method: 'PUT',
      key: 'l2',
      body: Readable.from([bytes(env.limits.maxObjectSize + 1)]),
      contentLength: null,
      headers: { 'transfer-encoding': 'chunked' },
    })
    expect(bigUnknown.code).toBe('EntityTooLarge')
    expect(await blobCount(env)).toBe(0)
  })

  it('rejects bad describing headers before reading the body', async () => {
    const cases: [Record<string, string>, string][] = [
      [{ 'x-amz-meta-big': 'x'.repeat(2100) }, 'MetadataTooLarge'],
      [{ 'x-amz-tagging': 'aws:k=v' }, 'InvalidTag'],
      [{ 'x-amz-acl': 'nobody' }, 'InvalidArgument'],
      [{ 'x-amz-storage-class': 'COLD' }, 'InvalidStorageClass'],
      [{ 'x-amz-server-side-encryption': 'AES256' }, 'NotImplemented'],
    ]
    for (const [headers, code] of cases) {
      expect(
        (await runError(putObject, env, { method: 'PUT', key: 'h', body: 'x', headers })).code,
      ).toBe(code)
    }
    expect(await env.meta.getObject('bkt', 'h')).toBeUndefined()
  })

  it('authorizes PutObject with tag and ACL condition keys', () => {
    const req = {
      method: 'PUT',
      key: 'a/b',
      headers: { 'x-amz-tagging': 'p=1&q=2', 'x-amz-acl': 'private' },
    }
    const [need, aclNeed, ...rest] = putObject.authorize(
      // fakeRequest is only a shape here
      {
        ...({} as object),
        header: (n: string) => (req.headers as Record<string, string>)[n],
        bucket: 'bkt',
        key: 'a/b',
      } as never,
    )
    expect(need).toEqual({
      action: 's3:PutObject',
      resource: 'arn:aws:s3:::bkt/a/b',
      context: {
        's3:RequestObjectTag/p': '1',
        's3:RequestObjectTag/q': '2',
        's3:RequestObjectTagKeys': ['p', 'q'],
        's3:x-amz-acl': 'private',
        's3:ObjectCreationOperation': 'true',
      },
    })
    // Setting an ACL also needs s3:PutObjectAcl, as on AWS.
    expect(aclNeed).toEqual({
      action: 's3:PutObjectAcl',
      resource: 'arn:aws:s3:::bkt/a/b',
      context: { 's3:x-amz-acl': 'private' },
    })
    expect(rest).toEqual([])
  })

  it('NoSuchKey for a missing object (GET and HEAD)', async () => {
    expect((await runError(getObject, env, { key: 'nope' })).code).toBe('NoSuchKey')
    expect((await runError(headObject, env, { method: 'HEAD', key: 'nope' })).status).toBe(404)
  })

  it('serves ranges: 206 + Content-Range, ignored multi-range, 416 with bytes */size', async () => {
    const data = bytes(5000, 7)
    await put('g', data)
    const r = await run(getObject, env, { key: 'g', headers: { range: 'bytes=100-199' } })
    expect(r.status).toBe(206)
    expect(header(r, 'content-range')).toBe('bytes 100-199/5000')
    expect(header(r, 'content-length')).toBe('100')
    expect((await bodyOf(r)).equals(data.subarray(100, 200))).toBe(true)
    const suffix = await run(getObject, env, { key: 'g', headers: { range: 'bytes=-10' } })
    expect((await bodyOf(suffix)).equals(data.subarray(4990))).toBe(true)
    const multi = await run(getObject, env, { key: 'g', headers: { range: 'bytes=0-1,5-6' } })
    expect(multi.status).toBe(200)
    expect((await bodyOf(multi)).length).toBe(5000)
    const bad = await runError(getObject, env, { key: 'g', headers: { range: 'bytes=5000-' } })
    expect(bad.code).toBe('InvalidRange')
    expect(bad.status).toBe(416)
    expect(bad.headers['content-range']).toBe('bytes */5000')
    const headRange = await run(headObject, env, {
      method: 'HEAD',
      key: 'g',
      headers: { range: 'bytes=0-9' },
    })
    expect(headRange.status).toBe(206)
    expect(header(headRange, 'content-length')).toBe('10')
    const noChecksumOnRange = await run(getObject, env, {
      key: 'g',
      headers: { range: 'bytes=0-9', 'x-amz-checksum-mode': 'ENABLED' },
    })
    expect(header(noChecksumOnRange, 'x-amz-checksum-crc32')).toBeUndefined()
    ;(await noChecksumOnRange.body) && bodyOf(noChecksumOnRange)
  })

  it('serves inline ranges too', async () => {
    await put('s', 'abcdefghij')
    const r = await run(getObject, env, { key: 's', headers: { range: 'bytes=2-4' } })
    expect((await bodyOf(r)).toString()).toBe('cde')
  })

  it('conditional GET: 304 without body, 412 PreconditionFailed', async () => {
    const res = await put('c', 'data')
    const etag = header(res, 'etag') ?? ''
    const lm = new Date(env.clock.now()).toUTCString()
    const nm = await run(getObject, env, { key: 'c', headers: { 'if-none-match': etag } })
    expect(nm.status).toBe(304)
    expect(nm.body).toBeUndefined()
    expect(header(nm, 'etag')).toBe(etag)
    expect(
      (await run(getObject, env, { key: 'c', headers: { 'if-modified-since': lm } })).status,
    ).toBe(304)
    const ims = await run(getObject, env, {
      key: 'c',
      headers: { 'if-modified-since': new Date(env.clock.now() - 5000).toUTCString() },
    })
    expect(ims.status).toBe(200)
    await bodyOf(ims)
    expect(
      (await runError(getObject, env, { key: 'c', headers: { 'if-match': '"zzz"' } })).code,
    ).toBe('PreconditionFailed')
    const ius = await runError(headObject, env, {
      method: 'HEAD',
      key: 'c',
      headers: { 'if-unmodified-since': new Date(env.clock.now() - 5000).toUTCString() },
    })
    expect(ius.status).toBe(412)
    const both = await run(headObject, env, {
      method: 'HEAD',
      key: 'c',
      headers: { 'if-match': etag, 'if-unmodified-since': new Date(0).toUTCString() },
    })
    expect(both.status).toBe(200)
  })

  it('response-* overrides for signed requests; InvalidRequest for anonymous', async () => {
    await put('o', 'x', { 'content-type': 'text/plain' })
    const r = await run(headObject, env, {
      method: 'HEAD',
      key: 'o',
      query: {
        'response-content-type': 'image/png',
        'response-content-disposition': 'inline',
        'response-cache-control': 'max-age=1',
      },
    })
    expect(header(r, 'content-type')).toBe('image/png')
    expect(header(r, 'content-disposition')).toBe('inline')
    expect(header(r, 'cache-control')).toBe('max-age=1')
    const anon = await runError(headObject, env, {
      method: 'HEAD',
      key: 'o',
      principal: ANON,
      query: { 'response-content-type': 'a/b' },
    })
    expect(anon.code).toBe('InvalidRequest')
  })

  it('partNumber on a single-part object and errors', async () => {
    await put('p', 'abcdef')
    // Part 1 of a single-part object is the whole object, as a range (206), as AWS answers it.
    const r = await run(getObject, env, { key: 'p', query: { partNumber: '1' } })
    expect(r.status).toBe(206)
    expect(header(r, 'content-range')).toBe('bytes 0-5/6')
    expect(header(r, 'x-amz-mp-parts-count')).toBeUndefined()
    expect((await bodyOf(r)).toString()).toBe('abcdef')
    expect((await runError(getObject, env, { key: 'p', query: { partNumber: '2' } })).code).toBe(
      'InvalidPartNumber',
    )
    expect((await runError(getObject, env, { key: 'p', query: { partNumber: '0' } })).code).toBe(
      'InvalidArgument',
    )
    expect(
      (
        await runError(getObject, env, {
          key: 'p',
          query: { partNumber: '1' },
          headers: { range: 'bytes=0-1' },
        })
      ).code,
    ).toBe('InvalidRequest')
  })

  it('re-decides with s3:ExistingObjectTag when the object has tags (deny on tag)', async () => {
    await put('t', 'x', { 'x-amz-tagging': 'secret=yes' })
    env.authz.predicate = (need) => need.context?.['s3:ExistingObjectTag/secret'] !== 'yes'
    expect((await runError(getObject, env, { key: 't' })).code).toBe('AccessDenied')
    expect(env.authz.asked.at(-1)?.need).toEqual({
      action: 's3:GetObject',
      resource: 'arn:aws:s3:::bkt/t',
      context: { 's3:ExistingObjectTag/secret': 'yes' },
    })
    await put('u', 'x')
    const before = env.authz.asked.length
    await bodyOf(await run(getObject, env, { key: 'u' }))
    expect(env.authz.asked.length).toBe(before) // untagged: no second decision
  })
})

describe('CopyObject', () => {
  it('copies into a new blob with COPY metadata; deleting the source keeps the copy', async () => {
    const data = bytes(5000, 3)
    await put('src', data, {
      'x-amz-meta-a': '1',
      'content-type': 'text/x',
      'x-amz-tagging': 't=1',
    })
    env.clock.advance(1000)
    const res = await run(copyObject, env, {
      method: 'PUT',
      key: 'dst',
      headers: { 'x-amz-copy-source': '/bkt/src' },
    })
    const xml = (await bodyOf(res)).toString()
    expect(xml).toContain(`<ETag>&quot;${md5hex(data)}&quot;</ETag>`)
    expect(xml).toContain(`<LastModified>${new Date(env.clock.now()).toISOString()}</LastModified>`)
    expect(await blobCount(env)).toBe(2)
    await run(deleteObject, env, { method: 'DELETE', key: 'src' })
    const got = await run(getObject, env, { key: 'dst' })
    expect((await bodyOf(got)).equals(data)).toBe(true)
    expect(header(got, 'x-amz-meta-a')).toBe('1')
    expect(header(got, 'content-type')).toBe('text/x')
    expect(header(got, 'x-amz-tagging-count')).toBe('1')
  })

  it('REPLACE takes the request headers; tagging directive', async () => {
    await put('src', 'abc', { 'x-amz-meta-a': '1', 'x-amz-tagging': 't=1' })
    await run(copyObject, env, {
      method: 'PUT',
      key: 'dst',
      headers: {
        'x-amz-copy-source': 'bkt/src',
        'x-amz-metadata-directive': 'REPLACE',
        'x-amz-meta-b': '2',
        'x-amz-tagging-directive': 'REPLACE',
        'x-amz-tagging': 'u=2&v=3',
      },
    })
    const o = await env.meta.getObject('bkt', 'dst')
    expect(o?.userMetadata).toEqual({ b: '2' })
    expect(o?.tags).toEqual({ u: '2', v: '3' })
  })

  it('errors: self-copy, bad directive, missing source/bucket, bad source, 412, denied source', async () => {
    await put('src', 'abc')
    const etag = (await env.meta.getObject('bkt', 'src'))?.etag ?? ''
    const cp = (headers: Record<string, string>, key = 'dst') =>
      runError(copyObject, env, { method: 'PUT', key, headers })
    expect((await cp({ 'x-amz-copy-source': 'bkt/src' }, 'src')).code).toBe('InvalidRequest')
    expect(
      (await cp({ 'x-amz-copy-source': 'bkt/src', 'x-amz-metadata-directive': 'MERGE' })).code,
    ).toBe('InvalidArgument')
    expect((await cp({ 'x-amz-copy-source': 'bkt/none' })).code).toBe('NoSuchKey')
    expect((await cp({ 'x-amz-copy-source': 'nobucket/src' })).code).toBe('NoSuchBucket')
    expect((await cp({ 'x-amz-copy-source': 'bkt' })).code).toBe('InvalidArgument')
    expect((await cp({ 'x-amz-copy-source': 'bkt/x/../src' })).code).toBe('InvalidArgument')
    expect(
      (await cp({ 'x-amz-copy-source': 'bkt/src', 'x-amz-copy-source-if-match': '"nope"' })).code,
    ).toBe('PreconditionFailed')
    expect(
      (await cp({ 'x-amz-copy-source': 'bkt/src', 'x-amz-copy-source-if-none-match': `"${etag}"` }))
        .code,
    ).toBe('PreconditionFailed')
    expect(
      (
        await cp({
          'x-amz-copy-source': 'bkt/src',
          'x-amz-copy-source-if-modified-since': new Date(env.clock.now() + 60_000).toUTCString(),
        })
      ).code,
    ).toBe('PreconditionFailed')
    env.authz.predicate = (need) =>
      !(need.action === 's3:GetObject' && need.resource === 'arn:aws:s3:::bkt/src')
    expect((await cp({ 'x-amz-copy-source': 'bkt/src' })).code).toBe('AccessDenied')
    // self-copy with REPLACE is allowed
    env.authz.predicate = () => true
    const ok = await run(copyObject, env, {
      method: 'PUT',
      key: 'src',
      headers: {
        'x-amz-copy-source': 'bkt/src',
        'x-amz-metadata-directive': 'REPLACE',
        'x-amz-meta-z': '1',
      },
    })
    expect(ok.status).toBe(200)
    expect(await blobCount(env)).toBe(0)
  })

  it('authorizes with copy-source and metadata-directive condition keys', () => {
    const h: Record<string, string> = {
      'x-amz-copy-source': '/src%20b/k%2Fx',
      'x-amz-metadata-directive': 'REPLACE',
    }
    const [need] = copyObject.authorize({
      header: (n: string) => h[n],
      bucket: 'bkt',
      key: 'd',
    } as never)
    expect(need).toEqual({
      action: 's3:PutObject',
      resource: 'arn:aws:s3:::bkt/d',
      context: {
        's3:x-amz-copy-source': 'src b/k/x',
        's3:x-amz-metadata-directive': 'REPLACE',
        's3:ObjectCreationOperation': 'true',
      },
    })
  })
})

describe('DeleteObject / DeleteObjects', () => {
  it('DeleteObject answers 204 whether or not the key existed and removes the blob', async () => {
    await put('x', bytes(5000))
    expect((await run(deleteObject, env, { method: 'DELETE', key: 'x' })).status).toBe(204)
    expect((await run(deleteObject, env, { method: 'DELETE', key: 'x' })).status).toBe(204)
    expect(await blobCount(env)).toBe(0)
  })

  const deleteDoc = (keys: string[], quiet = false): string =>
    `<Delete xmlns="http://s3.amazonaws.com/doc/2006-03-01/">${quiet ? '<Quiet>true</Quiet>' : ''}${keys
      .map((k) => `<Object><Key>${k}</Key></Object>`)
      .join('')}</Delete>`

  it('deletes many keys, per-key AccessDenied entries, quiet mode', async () => {
    await put('a', 'a')
    await put('b', bytes(5000))
    await put('secret', 's')
    env.authz.predicate = (need) => need.resource !== 'arn:aws:s3:::bkt/secret'
    const body = deleteDoc(['a', 'b', 'missing', 'secret'])
    const res = await run(deleteObjects, env, {
      method: 'POST',
      body,
      headers: { 'content-md5': md5b64(body) },
    })
    const xml = (await bodyOf(res)).toString()
    expect(xml).toContain('<Deleted><Key>a</Key></Deleted>')
    expect(xml).toContain('<Deleted><Key>b</Key></Deleted>')
    expect(xml).toContain('<Deleted><Key>missing</Key></Deleted>')
    expect(xml).toContain('<Error><Key>secret</Key><Code>AccessDenied</Code>')
    expect(await env.meta.getObject('bkt', 'secret')).toBeDefined()
    expect(await blobCount(env)).toBe(0)
    expect(deleteObjects.authorize({} as never)).toBe('self')

    const quietBody = deleteDoc(['secret', 'a'], true)
    const q = await run(deleteObjects, env, {
      method: 'POST',
      body: quietBody,
      headers: { 'x-amz-checksum-crc32': crc32b64(Buffer.from(quietBody)) },
    })
    const qxml = (await bodyOf(q)).toString()
    expect(qxml).not.toContain('<Deleted>')
    expect(qxml).toContain('<Error><Key>secret</Key>')
  })

  it("per-key errors for keys the path refuses ('..' segment, too long); the others are deleted", async () => {
    await put('a', 'a')
    const long = 'k'.repeat(1025)
    const body = deleteDoc(['a/../b', long, 'a'])
    const res = await run(deleteObjects, env, {
      method: 'POST',
      body,
      headers: { 'content-md5': md5b64(body) },
    })
    const xml = (await bodyOf(res)).toString()
    expect(xml).toContain(
      '<Error><Key>a/../b</Key><Code>InvalidArgument</Code><Message>Object key contains a &apos;..&apos; path segment, which is not allowed.</Message></Error>',
    )
    expect(xml).toContain(`<Error><Key>${long}</Key><Code>KeyTooLongError</Code>`)
    expect(xml).toContain('<Deleted><Key>a</Key></Deleted>')
  })

  it('requires and verifies an integrity header; MalformedXML for bad documents', async () => {
    const body = deleteDoc(['a'])
    expect((await runError(deleteObjects, env, { method: 'POST', body })).code).toBe(
      'InvalidRequest',
    )
    expect(
      (
        await runError(deleteObjects, env, {
          method: 'POST',
          body,
          headers: { 'content-md5': md5b64('x') },
        })
      ).code,
    ).toBe('BadDigest')
    expect(
      (
        await runError(deleteObjects, env, {
          method: 'POST',
          body,
          headers: { 'x-amz-checksum-crc32': crc32b64(Buffer.from('x')) },
        })
      ).code,
    ).toBe('BadDigest')
    const tooMany = deleteDoc(Array.from({ length: 1001 }, (_, i) => `k${i}`))
    expect(
      (
        await runError(deleteObjects, env, {
          method: 'POST',
          body: tooMany,
          headers: { 'content-md5': md5b64(tooMany) },
        })
      ).code,
    ).toBe('MalformedXML')
    for (const bad of [
      '<Delete></Delete>',
      '<Delete><Object></Object></Delete>',
      '<Nope/>',
      '<<<',
    ]) {
      expect(
        (
          await runError(deleteObjects, env, {
            method: 'POST',
            body: bad,
            headers: { 'content-md5': md5b64(bad) },
          })
        ).code,
      ).toBe('MalformedXML')
    }
  })
})

describe('object tagging and ACL', () => {
  const tagging = (pairs: [string, string][]): string =>
    `<Tagging><TagSet>${pairs.map(([k, v]) => `<Tag><Key>${k}</Key><Value>${v}</Value></Tag>`).join('')}</TagSet></Tagging>`

  it('get (empty), put, get, delete', async () => {
    await put('t', 'x')
    expect((await bodyOf(await run(getObjectTagging, env, { key: 't' }))).toString()).toContain(
      '<TagSet></TagSet>',
    )
    expect(
      (
        await run(putObjectTagging, env, {
          method: 'PUT',
          key: 't',
          body: tagging([
            ['a', '1'],
            ['b', ''],
          ]),
        })
      ).status,
    ).toBe(200)
    const xml = (await bodyOf(await run(getObjectTagging, env, { key: 't' }))).toString()
    expect(xml).toContain(
      '<Tag><Key>a</Key><Value>1</Value></Tag><Tag><Key>b</Key><Value></Value></Tag>',
    )
    expect((await run(deleteObjectTagging, env, { method: 'DELETE', key: 't' })).status).toBe(204)
    expect((await env.meta.getObject('bkt', 't'))?.tags).toEqual({})
  })

  it('InvalidTag, MalformedXML, NoSuchKey', async () => {
    await put('t', 'x')
    const eleven = Array.from({ length: 11 }, (_, i): [string, string] => [`k${i}`, 'v'])
    expect(
      (await runError(putObjectTagging, env, { method: 'PUT', key: 't', body: tagging(eleven) }))
        .code,
    ).toBe('InvalidTag')
    expect(
      (
        await runError(putObjectTagging, env, {
          method: 'PUT',
          key: 't',
          body: tagging([
            ['a', '1'],
            ['a', '2'],
          ]),
        })
      ).code,
    ).toBe('InvalidTag')
    expect(
      (await runError(putObjectTagging, env, { method: 'PUT', key: 't', body: '<Tagging>' })).code,
    ).toBe('MalformedXML')
    expect((await runError(getObjectTagging, env, { key: 'none' })).code).toBe('NoSuchKey')
    expect(
      (
        await runError(putObjectTagging, env, {
          method: 'PUT',
          key: 'none',
          body: tagging([['a', '1']]),
        })
      ).code,
    ).toBe('NoSuchKey')
  })

  it('ACL: owner FULL_CONTROL by default; public ACLs stored and shown; refused with ACLs disabled', async () => {
    await put('a', 'x')
    const xml = (await bodyOf(await run(getObjectAcl, env, { key: 'a' }))).toString()
    const owner = env.owner(env.bucket.accountId)
    expect(xml).toContain(
      `<Owner><ID>${owner.id}</ID><DisplayName>${owner.displayName}</DisplayName></Owner>`,
    )
    expect(xml).toContain('xsi:type="CanonicalUser"')
    expect(xml).toContain('<Permission>FULL_CONTROL</Permission>')
    expect(
      (
        await run(putObjectAcl, env, {
          method: 'PUT',
          key: 'a',
          headers: { 'x-amz-acl': 'private' },
        })
      ).status,
    ).toBe(200)
    expect((await run(putObjectAcl, env, { method: 'PUT', key: 'a', body: xml })).status).toBe(200)
    expect(
      (
        await run(putObjectAcl, env, {
          method: 'PUT',
          key: 'a',
          headers: { 'x-amz-acl': 'public-read' },
        })
      ).status,
    ).toBe(200)
    expect((await env.meta.getObject('bkt', 'a'))?.acl?.grants).toHaveLength(2)
    const shown = (await bodyOf(await run(getObjectAcl, env, { key: 'a' }))).toString()
    expect(shown).toContain(
      '<Grantee xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:type="Group"><URI>http://acs.amazonaws.com/groups/global/AllUsers</URI></Grantee><Permission>READ</Permission>',
    )
    // Back to private with the body form.
    expect((await run(putObjectAcl, env, { method: 'PUT', key: 'a', body: xml })).status).toBe(200)
    expect((await env.meta.getObject('bkt', 'a'))?.acl?.grants).toHaveLength(1)
    const wider = xml.replace(
      '</AccessControlList>',
      '<Grant><Grantee><URI>http://acs.amazonaws.com/groups/global/AllUsers</URI></Grantee><Permission>READ</Permission></Grant></AccessControlList>',
    )
    expect((await run(putObjectAcl, env, { method: 'PUT', key: 'a', body: wider })).status).toBe(
      200,
    )
    await env.meta.setBucketSubresource('bkt', 'ownership', 'BucketOwnerEnforced')
    expect((await runError(putObjectAcl, env, { method: 'PUT', key: 'a', body: wider })).code).toBe(
      'AccessControlListNotSupported',
    )
    // With ACLs disabled the stored public grant is neither shown nor honoured.
    expect((await bodyOf(await run(getObjectAcl, env, { key: 'a' }))).toString()).not.toContain(
      'AllUsers',
    )
    expect((await runError(getObjectAcl, env, { key: 'none' })).code).toBe('NoSuchKey')
  })
})

describe('conditional writes and version ids', () => {
  it('If-None-Match: * refuses to overwrite; If-Match needs the current ETag', async () => {
    const first = await put('w', 'one', { 'if-none-match': '*' })
    expect(first.status).toBe(200)
    const again = await runError(putObject, env, {
      method: 'PUT',
      key: 'w',
      body: bytes(5000),
      headers: { 'if-none-match': '*' },
    })
    expect(again.code).toBe('PreconditionFailed')
    expect(await blobCount(env)).toBe(0)
    expect(
      (
        await runError(putObject, env, {
          method: 'PUT',
          key: 'w',
          body: 'x',
          headers: { 'if-match': '"bad"' },
        })
      ).code,
    ).toBe('PreconditionFailed')
    expect(
      (
        await runError(putObject, env, {
          method: 'PUT',
          key: 'none',
          body: 'x',
          headers: { 'if-match': '"bad"' },
        })
      ).code,
    ).toBe('NoSuchKey')
    expect(
      (
        await runError(putObject, env, {
          method: 'PUT',
          key: 'w',
          body: 'x',
          headers: { 'if-none-match': '"abc"' },
        })
      ).code,
    ).toBe('NotImplemented')
    expect((await put('w', 'two', { 'if-match': header(first, 'etag') ?? '' })).status).toBe(200)
    expect((await bodyOf(await run(getObject, env, { key: 'w' }))).toString()).toBe('two')
  })

  it('versionId other than null is refused', async () => {
    await put('v', 'x')
    expect((await runError(getObject, env, { key: 'v', query: { versionId: 'abc' } })).code).toBe(
      'InvalidArgument',
    )
    const ok = await run(getObject, env, { key: 'v', query: { versionId: 'null' } })
    expect((await bodyOf(ok)).toString()).toBe('x')
    expect(
      (
        await runError(deleteObject, env, {
          method: 'DELETE',
          key: 'v',
          query: { versionId: 'abc' },
        })
      ).code,
    ).toBe('InvalidArgument')
  })
})
