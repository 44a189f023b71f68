import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { createHash } from 'node:crypto'
import { Readable } from 'node:stream'
import type { Principal } from '../../auth/principal.js'
import { readBody } from '../../storage/object-bodies.js'
import { S3Error } from '../errors.js'
import {
  ACCOUNT,
  ROOT,
  createTestBucket,
  denyAll,
  makeEnv,
  run,
  type TestEnv,
} from '../listing/fixtures.case.js'
import { postObject, postObjectKey } from './post-object.js'

const NOW = Date.UTC(2026, 0, 2, 3, 4, 5, 678)

function policyB64(
  conditions: unknown[],
  expiration = new Date(NOW + 3600_000).toISOString(),
): string {
  return Buffer.from(JSON.stringify({ expiration, conditions })).toString('base64')
}

const AUTH_FIELDS: [string, string][] = [
  ['X-Amz-Algorithm', 'AWS4-HMAC-SHA256'],
  ['X-Amz-Credential', 'AKROOT/20260102/us-east-1/s3/aws4_request'],
  ['X-Amz-Date', '20260102T030405Z'],
]
const AUTH_CONDITIONS = [
  { 'x-amz-algorithm': 'AWS4-HMAC-SHA256' },
  { 'x-amz-credential': 'AKROOT/20260102/us-east-1/s3/aws4_request' },
  { 'x-amz-date': '20260102T030405Z' },
]

interface Form {
  readonly fields: [string, string][]
  readonly file?: { data: Buffer | string; filename?: string; type?: string }
  readonly after?: [string, string][]
}

async function encode(f: Form): Promise<{ body: Buffer; contentType: string }> {
  const fd = new FormData()
  for (const [k, v] of f.fields) fd.append(k, v)
  if (f.file !== undefined)
    fd.append(
      'file',
      new Blob([f.file.data], { type: f.file.type ?? 'application/octet-stream' }),
      f.file.filename ?? 'upload.bin',
    )
  for (const [k, v] of f.after ?? []) fd.append(k, v)
  const r = new Response(fd)
  return {
    body: Buffer.from(await r.arrayBuffer()),
    contentType: r.headers.get('content-type') ?? '',
  }
}

function signedFields(conditions: unknown[], extra: [string, string][] = []): [string, string][] {
  return [
    ...extra,
    ...AUTH_FIELDS,
    ['Policy', policyB64([...AUTH_CONDITIONS, { bucket: 'up1' }, ...conditions])],
    ['X-Amz-Signature', 'a'.repeat(64)],
  ]
}

let t: TestEnv
let seenFields: ReadonlyMap<string, string> | undefined
beforeEach(async () => {
  seenFields = undefined
  t = makeEnv({
    inlineMax: 16,
    postPrincipal: (fields) => {
      seenFields = fields
      if (fields.get('x-amz-signature') === 'b'.repeat(64))
        return Promise.reject(new S3Error('SignatureDoesNotMatch'))
      return Promise.resolve<Principal>(
        fields.has('x-amz-signature') ? ROOT : { kind: 'anonymous' },
      )
    },
  })
  await createTestBucket(t, 'up1')
})
afterEach(async () => {
  await t.close()
})

async function post(f: Form, host = 'localhost:9000') {
  const { body, contentType } = await encode(f)
  return run(postObject, t, {
    method: 'POST',
    bucket: 'up1',
    body,
    headers: { 'content-type': contentType, host },
  })
}

async function stored(key: string): Promise<string | undefined> {
  const o = await t.meta.getObject('up1', key)
  if (o === undefined) return undefined
  const chunks: Buffer[] = []
  for await (const c of readBody(o.body, t.blobs)) chunks.push(c as Buffer)
  return Buffer.concat(chunks).toString('utf8')
}

describe('PostObject', () => {
  it('stores the file (blob-sized), 204 with ETag + Location, metadata and tags from fields', async () => {
    const data = 'hello browser upload '.repeat(10)
    const tagging = '<Tagging><TagSet><Tag><Key>k</Key><Value>v</Value></Tag></TagSet></Tagging>'
    const r = await post({
      fields: signedFields(
        [
          ['starts-with', '$key', 'user/'],
          ['starts-with', '$Content-Type', 'text/'],
          ['content-length-range', 1, 1000],
          { 'x-amz-meta-color': 'blue' },
          { tagging },
        ],
        [
          ['key', 'user/${filename}'],
          ['Content-Type', 'text/plain'],
          ['x-amz-meta-color', 'blue'],
          ['tagging', tagging],
        ],
      ),
      file: { data, filename: 'a b.txt' },
      after: [['ignored-after-file', 'x']],
    })
    expect(r.error?.message).toBeUndefined()
    expect(r.status).toBe(204)
    const etag = createHash('md5').update(data).digest('hex')
    expect(r.headers['etag']).toBe(`"${etag}"`)
    expect(r.headers['location']).toBe('http://localhost:9000/up1/user/a%20b.txt')
    expect(await stored('user/a b.txt')).toBe(data)
    const o = await t.meta.getObject('up1', 'user/a b.txt')
    expect(o?.headers.contentType).toBe('text/plain')
    expect(o?.userMetadata).toEqual({ color: 'blue' })
    expect(o?.tags).toEqual({ k: 'v' })
    expect(o?.ownerAccountId).toBe(ACCOUNT)
    expect(o?.body.kind).toBe('blob')
    expect(seenFields?.has('ignored-after-file')).toBe(false)
    expect(t.authzCalls).toEqual([
      {
        action: 's3:PutObject',
        resource: 'arn:aws:s3:::up1/user/a b.txt',
        context: { 's3:RequestObjectTagKeys': ['k'], 's3:RequestObjectTag/k': 'v' },
      },
    ])
  })

  it('metadata, tags and fields named __proto__ / constructor are stored as plain keys', async () => {
    const tagging =
      '<Tagging><TagSet><Tag><Key>__proto__</Key><Value>p</Value></Tag>' +
      '<Tag><Key>constructor</Key><Value>c</Value></Tag></TagSet></Tagging>'
    const r = await post({
      fields: [
        ['key', 'proto.txt'],
        ['x-amz-meta-__proto__', 'm'],
        ['x-amz-meta-constructor', 'n'],
        ['__proto__', 'ignored'],
        ['tagging', tagging],
      ],
      file: { data: 'x' },
    })
    expect(r.error?.message).toBeUndefined()
    const o = await t.meta.getObject('up1', 'proto.txt')
    expect(Object.entries(o?.userMetadata ?? {}).sort()).toEqual([
      ['__proto__', 'm'],
      ['constructor', 'n'],
    ])
    expect(Object.entries(o?.tags ?? {}).sort()).toEqual([
      ['__proto__', 'p'],
      ['constructor', 'c'],
    ])
    const dup = await post({
      fields: [
        ['key', 'dup.txt'],
        ['tagging', tagging.replace('constructor', '__proto__')],
      ],
      file: { data: 'x' },
    })
    expect(dup.error?.code).toBe('InvalidTag')
    expect(await t.meta.getObject('up1', 'dup.txt')).toBeUndefined()
  })

  it('201 with PostResponse, 200 empty, 303 redirect', async () => {
    const r201 = await post({
      fields: signedFields(
        [{ key: 'k1' }, { success_action_status: '201' }],
        [
          ['key', 'k1'],
          ['success_action_status', '201'],
        ],
      ),
      file: { data: 'x' },
    })
    expect(r201.status).toBe(201)
    expect(r201.body).toContain(
      '<PostResponse><Location>http://localhost:9000/up1/k1</Location><Bucket>up1</Bucket><Key>k1</Key><ETag>&quot;',
    )
    const r200 = await post({
      fields: signedFields(
        [{ key: 'k2' }, { success_action_status: '200' }],
        [
          ['key', 'k2'],
          ['success_action_status', '200'],
        ],
      ),
      file: { data: 'x' },
    })
    expect(r200.status).toBe(200)
    expect(r200.body).toBe('')
    const r303 = await post({
      fields: signedFields(
        [{ key: 'k3' }, { success_action_redirect: 'https://app.example.com/done?x=1' }],
        [
          ['key', 'k3'],
          ['success_action_redirect', 'https://app.example.com/done?x=1'],
        ],
      ),
      file: { data: 'x' },
    })
    expect(r303.status).toBe(303)
    const loc = new URL(String(r303.headers['location']))
    expect(loc.origin + loc.pathname).toBe('https://app.example.com/done')
    expect(loc.searchParams.get('x')).toBe('1')
    expect(loc.searchParams.get('bucket')).toBe('up1')
    expect(loc.searchParams.get('key')).toBe('k3')
    expect(loc.searchParams.get('etag')).toBe(`"${createHash('md5').update('x').digest('hex')}"`)
  })

  it('content-length-range: too large aborts, too small deletes', async () => {
    const big = await post({
      fields: signedFields([['content-length-range', 0, 10], { key: 'big' }], [['key', 'big']]),
      file: { data: 'x'.repeat(5000) },
    })
    expect(big.error?.code).toBe('EntityTooLarge')
    expect(await t.meta.getObject('up1', 'big')).toBeUndefined()
    const small = await post({
      fields: signedFields(
        [['content-length-range', 100, 200], { key: 'small' }],
        [['key', 'small']],
      ),
      file: { data: 'x'.repeat(50) },
    })
    expect(small.error?.code).toBe('EntityTooSmall')
    expect(await t.meta.getObject('up1', 'small')).toBeUndefined()
    const blobs: string[] = []
    for await (const b of t.blobs.list()) blobs.push(b)
    expect(blobs).toEqual([])
  })

  it('policy conditions: wrong key prefix, extra field, expired, missing condition value', async () => {
    const prefix = await post({
      fields: signedFields([['starts-with', '$key', 'user/']], [['key', 'other/x']]),
      file: { data: 'x' },
    })
    expect(prefix.error?.code).toBe('AccessDenied')
    expect(prefix.error?.message).toMatch(/starts-with/)
    const extra = await post({
      fields: signedFields(
        [{ key: 'x' }],
        [
          ['key', 'x'],
          ['x-amz-meta-sneaky', '1'],
        ],
      ),
      file: { data: 'x' },
    })
    expect(extra.error?.code).toBe('AccessDenied')
    expect(extra.error?.message).toMatch(/Extra input fields/)
    const expiredFields = signedFields([{ key: 'x' }], [['key', 'x']]).map(
      ([k, v]): [string, string] =>
        k === 'Policy'
          ? [k, policyB64([...AUTH_CONDITIONS, { key: 'x' }], new Date(NOW - 1000).toISOString())]
          : [k, v],
    )
    const expired = await post({ fields: expiredFields, file: { data: 'x' } })
    expect(expired.error?.code).toBe('AccessDenied')
    expect(expired.error?.message).toMatch(/expired/)
    const badPolicy = await post({
      fields: [
        ['key', 'x'],
        ...AUTH_FIELDS,
        ['Policy', 'not base64!'],
        ['X-Amz-Signature', 'a'.repeat(64)],
      ],
      file: { data: 'x' },
    })
    expect(badPolicy.error?.code).toBe('InvalidArgument')
    expect(await t.meta.getObject('up1', 'x')).toBeUndefined()
  })

  it('bad signature, authz deny, missing key, no file, malformed forms', async () => {
    const sig = await post({
      fields: signedFields([{ key: 'x' }], [['key', 'x']]).map(([k, v]): [string, string] =>
        k === 'X-Amz-Signature' ? [k, 'b'.repeat(64)] : [k, v],
      ),
      file: { data: 'x' },
    })
    expect(sig.error?.code).toBe('SignatureDoesNotMatch')
    const noKey = await post({ fields: signedFields([]), file: { data: 'x' } })
    expect(noKey.error?.code).toBe('InvalidArgument')
    expect(noKey.error?.extra['ArgumentName']).toBe('key')
    const noFile = await post({ fields: signedFields([{ key: 'x' }], [['key', 'x']]) })
    expect(noFile.error?.code).toBe('InvalidArgument')
    expect(noFile.error?.message).toBe('POST requires exactly one file upload per request.')
    const notMultipart = await run(postObject, t, {
      method: 'POST',
      bucket: 'up1',
      body: 'key=x',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    })
    expect(notMultipart.error?.code).toBe('PreconditionFailed')
    const noBoundary = await run(postObject, t, {
      method: 'POST',
      bucket: 'up1',
      body: 'x',
      headers: { 'content-type': 'multipart/form-data; foo=bar' },
    })
    expect(noBoundary.error?.code).toBe('MalformedPOSTRequest')
    const truncated = await run(postObject, t, {
      method: 'POST',
      bucket: 'up1',
      body: '--XX\r\nContent-Disposition: form-data; name="key"\r\n\r\nabc\r\n--XX\r\nContent-Disposition: form-da',
      headers: { 'content-type': 'multipart/form-data; boundary=XX' },
    })
    expect(['MalformedPOSTRequest', 'InvalidArgument']).toContain(truncated.error?.code)
    const denied = makeEnv({
      authz: denyAll,
      postPrincipal: () => Promise.resolve<Principal>({ kind: 'anonymous' }),
    })
    try {
      await createTestBucket(denied, 'up1')
      const { body, contentType } = await encode({
        fields: [['key', 'anon.txt']],
        file: { data: 'x' },
      })
      const r = await run(postObject, denied, {
        method: 'POST',
        bucket: 'up1',
        body,
        headers: { 'content-type': contentType },
      })
      expect(r.error?.code).toBe('AccessDenied')
      expect(await denied.meta.getObject('up1', 'anon.txt')).toBeUndefined()
    } finally {
      await denied.close()
    }
  })

  it('anonymous POST without a policy is authorized as anonymous; checksum field verified', async () => {
    const r = await post({ fields: [['key', 'anon.txt']], file: { data: 'x' } })
    expect(r.status).toBe(204)
    expect(await stored('anon.txt')).toBe('x')
    const { crc32 } = await import('@node-rs/crc32')
    const b = Buffer.alloc(4)
    b.writeUInt32BE(crc32(Buffer.from('data')))
    const ok = await post({
      fields: [
        ['key', 'c.txt'],
        ['x-amz-checksum-crc32', b.toString('base64')],
      ],
      file: { data: 'data' },
    })
    expect(ok.status).toBe(204)
    expect((await t.meta.getObject('up1', 'c.txt'))?.checksum).toEqual({
      algorithm: 'CRC32',
      value: b.toString('base64'),
      type: 'FULL_OBJECT',
    })
    const bad = await post({
      fields: [
        ['key', 'd.txt'],
        ['x-amz-checksum-crc32', 'AAAAAA=='],
      ],
      file: { data: 'data' },
    })
    expect(bad.error?.code).toBe('BadDigest')
    expect(await t.meta.getObject('up1', 'd.txt')).toBeUndefined()
  })

  it('a form cut off inside the file part fails cleanly and stores nothing', async () => {
    const body =
      '--XX\r\nContent-Disposition: form-data; name="key"\r\n\r\ncut.txt\r\n' +
      '--XX\r\nContent-Disposition: form-data; name="file"; filename="a.txt"\r\nContent-Type: text/plain\r\n\r\n' +
      'partial data without the closing boundary'
    const r = await run(postObject, t, {
      method: 'POST',
      bucket: 'up1',
      body,
      headers: { 'content-type': 'multipart/form-data; boundary=XX' },
    })
    expect(r.error?.code).toBe('MalformedPOSTRequest')
    expect(await t.meta.getObject('up1', 'cut.txt')).toBeUndefined()
    const errored = new Readable({ read() {} })
    const p = run(postObject, t, {
      method: 'POST',
      bucket: 'up1',
      body: errored,
      headers: { 'content-type': 'multipart/form-data; boundary=XX' },
    })
    errored.push(body)
    setTimeout(() => errored.destroy(new Error('client went away')), 20)
    const r2 = await p
    expect(['IncompleteBody', 'MalformedPOSTRequest']).toContain(r2.error?.code)
    expect(await t.meta.getObject('up1', 'cut.txt')).toBeUndefined()
  })

  it('streams a large file without buffering it whole', async () => {
    const { contentType, body } = await encode({
      fields: [['key', 'large.bin']],
      file: { data: Buffer.alloc(3 * 1024 * 1024, 7) },
    })
    // Feed in small chunks to exercise busboy back-pressure.
    const chunks: Buffer[] = []
    for (let i = 0; i < body.length; i += 64 * 1024) chunks.push(body.subarray(i, i + 64 * 1024))
    const r = await run(postObject, t, {
      method: 'POST',
      bucket: 'up1',
      body: Readable.from(chunks),
      headers: { 'content-type': contentType },
    })
    expect(r.status).toBe(204)
    expect((await t.meta.getObject('up1', 'large.bin'))?.size).toBe(3 * 1024 * 1024)
    expect(postObject.authorize({} as never)).toBe('self')
  })
})

describe('postObjectKey', () => {
  it("substitutes ${filename}, then applies the path's key rule", () => {
    expect(postObjectKey('up/${filename}', 'a.txt')).toBe('up/a.txt')
    const code = (k: string, f: string): string => {
      try {
        postObjectKey(k, f)
        return 'OK'
      } catch (e) {
        return (e as S3Error).code
      }
    }
    expect(code('a/../b', 'f')).toBe('InvalidArgument')
    // A filename that makes a '..' segment (busboy already drops such names; this holds anyway).
    expect(code('up/${filename}', '..')).toBe('InvalidArgument')
    expect(code('up/.${filename}/x', '.')).toBe('InvalidArgument')
    expect(code('${filename}', '')).toBe('InvalidArgument')
    expect(code('k'.repeat(1020) + '${filename}', 'abcde')).toBe('KeyTooLongError')
  })
})
