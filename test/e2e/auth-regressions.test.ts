/**
 * Named regressions for the authentication and input-validation findings, against a real server
 * with the real SDKs: unsigned x-amz-* headers added to a presigned URL, SigV2 presigned URLs
 * beyond the lifetime cap, object keys with `..` segments entering through the POST form, and
 * tag/metadata keys that name Object.prototype members (`__proto__`, `constructor`, ...).
 * Kept in its own file so the findings' tests do not collide with other suites' edits.
 */
import { describe, it, expect, beforeAll, afterAll } from 'vitest'
import {
  CreateBucketCommand,
  GetBucketTaggingCommand,
  GetObjectCommand,
  GetObjectTaggingCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutBucketTaggingCommand,
  PutObjectCommand,
  PutObjectTaggingCommand,
  S3ServiceException,
} from '@aws-sdk/client-s3'
import { createPresignedPost } from '@aws-sdk/s3-presigned-post'
import { getSignedUrl } from '@aws-sdk/s3-request-presigner'
import { AwsClient } from 'aws4fetch'
import { createHash, createHmac } from 'node:crypto'
import { startServer, type TestServer } from './harness.js'
import { HAS_AWS_CLI, HAS_BOTO3, aws, boto3 } from './tools.js'

async function errorName(p: Promise<unknown>): Promise<string> {
  try {
    await p
    return 'OK'
  } catch (e) {
    return e instanceof S3ServiceException ? e.name : (e as Error).name
  }
}

const creds = () => ({ accessKeyId: server.accessKeyId, secretAccessKey: server.secretAccessKey })

/** A SigV2 presigned GET made the way botocore's HmacV1QueryAuth makes it. */
function presignV2(srv: TestServer, bucket: string, key: string, expires: number): string {
  const sts = `GET\n\n\n${expires}\n/${bucket}/${key}`
  const sig = createHmac('sha1', srv.secretAccessKey).update(sts).digest('base64')
  const q = new URLSearchParams({
    AWSAccessKeyId: srv.accessKeyId,
    Signature: sig,
    Expires: String(expires),
  })
  return `${srv.endpoint}/${bucket}/${key}?${q.toString()}`
}

let server: TestServer
beforeAll(async () => {
  server = await startServer()
  const s3 = server.s3()
  await s3.send(new CreateBucketCommand({ Bucket: 'drop' }))
  await s3.send(new CreateBucketCommand({ Bucket: 'private' }))
  await s3.send(new PutObjectCommand({ Bucket: 'private', Key: 'secret.txt', Body: 'classified' }))
})
afterAll(async () => {
  await server.stop()
})

describe('presigned SigV4 URLs and unsigned x-amz-* headers', () => {
  it('REGRESSION presigned-unsigned-amz-header: an unsigned x-amz-copy-source cannot turn a presigned PUT into a copy', async () => {
    const s3 = server.s3()
    const url = await getSignedUrl(
      s3,
      new PutObjectCommand({ Bucket: 'drop', Key: 'upload.txt' }),
      {
        expiresIn: 300,
      },
    )
    const r = await fetch(url, {
      method: 'PUT',
      headers: { 'x-amz-copy-source': '/private/secret.txt' },
      body: '',
    })
    const body = await r.text()
    expect(r.status).toBe(403)
    expect(body).toContain('<Code>AccessDenied</Code>')
    expect(body).toContain('There were headers present in the request which were not signed')
    expect(body).toContain('<HeadersNotSigned>x-amz-copy-source</HeadersNotSigned>')
    // Nothing was copied (nor written).
    expect(
      await errorName(s3.send(new GetObjectCommand({ Bucket: 'drop', Key: 'upload.txt' }))),
    ).toBe('NoSuchKey')
    // The same URL, used as intended, still works.
    const ok = await fetch(url, { method: 'PUT', body: 'uploaded' })
    expect(ok.status).toBe(200)
    const got = await s3.send(new GetObjectCommand({ Bucket: 'drop', Key: 'upload.txt' }))
    expect(await got.Body?.transformToString()).toBe('uploaded')
  })

  it('every unsigned x-amz-* header is named; signed ones and a repeated payload hash pass', async () => {
    const s3 = server.s3()
    const put = (key: string, opts: Parameters<typeof getSignedUrl>[2] = {}) =>
      getSignedUrl(s3, new PutObjectCommand({ Bucket: 'drop', Key: key, Metadata: { m: '1' } }), {
        expiresIn: 300,
        ...opts,
      })
    // Hoisted x-amz-* (metadata, the SDK's checksum parameters) live in the signed query.
    const hoisted = await put('hoisted.txt')
    expect(hoisted).toMatch(/x-amz-meta-m=1/)
    expect((await fetch(hoisted, { method: 'PUT', body: 'a' })).status).toBe(200)
    // Several unsigned headers: all named, sorted.
    const r = await fetch(hoisted, {
      method: 'PUT',
      headers: { 'x-amz-acl': 'public-read', 'x-amz-tagging': 'a=b' },
      body: 'a',
    })
    expect(r.status).toBe(403)
    expect(await r.text()).toContain(
      '<HeadersNotSigned>x-amz-acl, x-amz-tagging</HeadersNotSigned>',
    )
    // A header the presigner kept as a signed header must be sent, and is accepted.
    const signed = await put('signed.txt', { unhoistableHeaders: new Set(['x-amz-meta-m']) })
    expect(signed).toMatch(/X-Amz-SignedHeaders=host%3Bx-amz-meta-m/)
    expect(
      (await fetch(signed, { method: 'PUT', headers: { 'x-amz-meta-m': '1' }, body: 'b' })).status,
    ).toBe(200)
    // x-amz-content-sha256 repeating the payload hash the URL signs (UNSIGNED-PAYLOAD) changes
    // nothing and passes; any other value would be unverified input, so it is refused.
    const same = await fetch(hoisted, {
      method: 'PUT',
      headers: { 'x-amz-content-sha256': 'UNSIGNED-PAYLOAD' },
      body: 'c',
    })
    expect(same.status).toBe(200)
    const other = await fetch(hoisted, {
      method: 'PUT',
      headers: { 'x-amz-content-sha256': 'e'.repeat(64) },
      body: 'c',
    })
    expect(other.status).toBe(403)
    expect(await other.text()).toContain(
      '<HeadersNotSigned>x-amz-content-sha256</HeadersNotSigned>',
    )
  })

  it('real presigners still work: SDK with checksums, boto3 s3v4 with signed headers, aws CLI', async () => {
    const s3 = server.s3()
    // The SDK hoists x-amz-checksum-sha256 / x-amz-sdk-checksum-algorithm into the signed query.
    const body = 'checksummed body'
    const sha = createHash('sha256').update(body).digest('base64')
    const url = await getSignedUrl(
      s3,
      new PutObjectCommand({
        Bucket: 'drop',
        Key: 'sum.txt',
        ChecksumAlgorithm: 'SHA256',
        ChecksumSHA256: sha,
      }),
      { expiresIn: 300 },
    )
    expect(url).toMatch(/x-amz-checksum-sha256=/)
    expect(url).toMatch(/x-amz-sdk-checksum-algorithm=SHA256/)
    expect((await fetch(url, { method: 'PUT', body })).status).toBe(200)
    // ...and a checksum header the presigner did not sign is refused like any other.
    const extra = await fetch(url, {
      method: 'PUT',
      headers: { 'x-amz-checksum-crc32': 'AAAAAA==' },
      body,
    })
    expect(extra.status).toBe(403)
    expect(await extra.text()).toContain(
      '<HeadersNotSigned>x-amz-checksum-crc32</HeadersNotSigned>',
    )
    if (HAS_AWS_CLI) {
      const r = await aws(server.endpoint, creds(), ['s3', 'presign', 's3://drop/sum.txt'])
      expect(r.code, r.stderr).toBe(0)
      const got = await fetch(r.stdout.trim())
      expect(got.status).toBe(200)
      expect(await got.text()).toBe(body)
    }
    if (HAS_BOTO3) {
      const r = await boto3(
        server.endpoint,
        creds(),
        `
import urllib.request, urllib.error, ssl
CTX = ssl._create_unverified_context()
def fetch(url, method="GET", data=None, headers=None):
    req = urllib.request.Request(url, data=data, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(req, context=CTX) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()
c = boto3.client("s3", endpoint_url=ENDPOINT, verify=VERIFY, config=CFG.merge(Config(signature_version="s3v4")))
url = c.generate_presigned_url("put_object", Params={"Bucket": "drop", "Key": "boto.txt", "Metadata": {"who": "boto"}, "ContentType": "text/plain"}, ExpiresIn=300)
assert "X-Amz-Signature=" in url, url
signed = {"x-amz-meta-who": "boto", "Content-Type": "text/plain"}
status, body = fetch(url, "PUT", b"from boto", dict(signed, **{"x-amz-copy-source": "/private/secret.txt"}))
assert status == 403 and b"<HeadersNotSigned>x-amz-copy-source</HeadersNotSigned>" in body, (status, body)
status, body = fetch(url, "PUT", b"from boto", signed)
assert status == 200, (status, body)
h = c.head_object(Bucket="drop", Key="boto.txt")
assert h["Metadata"] == {"who": "boto"}, h
print("OK")
`,
      )
      expect(r.stderr + r.stdout).toContain('OK')
      expect(r.code).toBe(0)
    }
  }, 120_000)
})

describe('a literal + in a signed query string', () => {
  it('REGRESSION presign-plus-as-space: aws4fetch presigned URLs (spaces signed as %20, sent as +) work as on AWS, and are read with spaces', async () => {
    const s3 = server.s3()
    await s3.send(
      new PutObjectCommand({ Bucket: 'private', Key: 'plus/report a+b.txt', Body: 'plus body' }),
    )
    const client = new AwsClient({ ...creds(), service: 's3', region: 'us-east-1' })
    const url = new URL(`${server.endpoint}/private/plus/report%20a%2Bb.txt`)
    url.searchParams.set('response-content-disposition', 'attachment; filename="a b.txt"')
    const signed = await client.sign(new Request(url), { aws: { signQuery: true } })
    // aws4fetch issue #83: the URL carries '+' for the spaces it signed as %20.
    expect(signed.url).toContain('attachment%3B+filename')
    const r = await fetch(signed.url)
    expect(r.status, await r.clone().text()).toBe(200)
    expect(await r.text()).toBe('plus body')
    expect(r.headers.get('content-disposition')).toBe('attachment; filename="a b.txt"')

    // A literal '+' signed as a plus (%2B, what the SDKs do) still means a plus.
    const list = await s3.send(
      new ListObjectsV2Command({ Bucket: 'private', Prefix: 'plus/report a+' }),
    )
    expect(list.Contents?.map((o) => o.Key)).toEqual(['plus/report a+b.txt'])
    const plusUrl = new URL(`${server.endpoint}/private`)
    plusUrl.searchParams.set('list-type', '2')
    plusUrl.searchParams.set('prefix', 'plus/report a+')
    const listed = await client.sign(new Request(plusUrl), { aws: { signQuery: true } })
    const lr = await fetch(listed.url)
    expect(lr.status).toBe(200)
    expect(await lr.text()).toContain('<Key>plus/report a+b.txt</Key>')

    // A tampered URL still fails: '+' read either way does not make a wrong signature right.
    const tampered = signed.url.replace('filename', 'filenamX')
    expect((await fetch(tampered)).status).toBe(403)
  })
})

describe('presigned URL lifetime cap', () => {
  it('REGRESSION sigv2-presign-max-age: a SigV2 presigned URL valid for 10 years is refused', async () => {
    const now = Math.floor(Date.now() / 1000)
    const tenYears = await fetch(presignV2(server, 'private', 'secret.txt', now + 10 * 365 * 86400))
    const body = await tenYears.text()
    expect(tenYears.status).toBe(403)
    expect(body).toContain('<Code>AccessDenied</Code>')
    expect(body).toContain('Expires must be at most 604800 seconds (7 days) from now')
    // Within the week it works (a minute of margin for the test's own clock reading).
    const week = await fetch(presignV2(server, 'private', 'secret.txt', now + 604800 - 60))
    expect(week.status).toBe(200)
    expect(await week.text()).toBe('classified')
    if (HAS_BOTO3) {
      const r = await boto3(
        server.endpoint,
        creds(),
        `
import urllib.request, urllib.error, ssl
c = boto3.client("s3", endpoint_url=ENDPOINT, verify=VERIFY, config=CFG.merge(Config(signature_version="s3")))
url = c.generate_presigned_url("get_object", Params={"Bucket": "private", "Key": "secret.txt"}, ExpiresIn=10 * 365 * 86400)
assert "AWSAccessKeyId=" in url and "Signature=" in url, url
try:
    urllib.request.urlopen(url, context=ssl._create_unverified_context())
    raise SystemExit("a 10-year SigV2 URL was accepted")
except urllib.error.HTTPError as e:
    body = e.read()
    assert e.code == 403 and b"<Code>AccessDenied</Code>" in body, (e.code, body)
url = c.generate_presigned_url("get_object", Params={"Bucket": "private", "Key": "secret.txt"}, ExpiresIn=3600)
assert urllib.request.urlopen(url, context=ssl._create_unverified_context()).read() == b"classified"
print("OK")
`,
      )
      expect(r.stderr + r.stdout).toContain('OK')
      expect(r.code).toBe(0)
    }
  }, 120_000)

  it('--presign-max-age lowers the cap for SigV4 and SigV2 alike', async () => {
    const short = await startServer({ args: ['--presign-max-age', '1h'] })
    try {
      const s3 = short.s3()
      await s3.send(new CreateBucketCommand({ Bucket: 'bkt' }))
      await s3.send(new PutObjectCommand({ Bucket: 'bkt', Key: 'k', Body: 'v' }))
      const cmd = new GetObjectCommand({ Bucket: 'bkt', Key: 'k' })
      expect((await fetch(await getSignedUrl(s3, cmd, { expiresIn: 3600 }))).status).toBe(200)
      const v4 = await fetch(await getSignedUrl(s3, cmd, { expiresIn: 3601 }))
      expect(v4.status).toBe(400)
      expect(await v4.text()).toContain('<Code>AuthorizationQueryParametersError</Code>')
      const now = Math.floor(Date.now() / 1000)
      expect((await fetch(presignV2(short, 'bkt', 'k', now + 3000))).status).toBe(200)
      const v2 = await fetch(presignV2(short, 'bkt', 'k', now + 7200))
      expect(v2.status).toBe(403)
      expect(await v2.text()).toContain('Expires must be at most 3600 seconds (1 hour) from now')
    } finally {
      await short.stop()
    }
  })
})

describe('object keys: one rule for every entry point', () => {
  /** The <Code> and <Message> of an S3 error document. */
  const codeAndMessage = (xml: string) => ({
    code: /<Code>([^<]*)<\/Code>/.exec(xml)?.[1],
    message: /<Message>([^<]*)<\/Message>/.exec(xml)?.[1]?.replaceAll('&apos;', "'"),
  })

  it('REGRESSION post-key-dotdot: a POST upload with key a/../b is refused like the path API, nothing stored', async () => {
    const s3 = server.s3()
    await s3.send(new CreateBucketCommand({ Bucket: 'posted' }))
    await s3.send(new PutObjectCommand({ Bucket: 'posted', Key: 'x', Body: 'x' }))
    // The path API's answer for the same key (the SDK sends the path as given).
    const pathErr = await s3
      .send(new PutObjectCommand({ Bucket: 'posted', Key: 'a/../b', Body: 'p' }))
      .then(
        () => undefined,
        (e: unknown) => e as S3ServiceException,
      )
    expect(pathErr?.name).toBe('InvalidArgument')

    for (const [key, filename] of [
      ['a/../b', 'f.txt'],
      ['../escape', 'f.txt'],
      ['a/${filename}/../b', 'f.txt'],
    ] as const) {
      const { url, fields } = await createPresignedPost(s3, {
        Bucket: 'posted',
        Key: key,
        Expires: 600,
      })
      const fd = new FormData()
      for (const [k, v] of Object.entries(fields)) fd.append(k, v)
      fd.append('file', new Blob(['posted body'], { type: 'text/plain' }), filename)
      const r = await fetch(url, { method: 'POST', body: fd })
      const body = await r.text()
      expect(r.status, body).toBe(400)
      expect(codeAndMessage(body)).toEqual({ code: pathErr?.name, message: pathErr?.message })
    }
    const listed = await s3.send(new ListObjectsV2Command({ Bucket: 'posted' }))
    expect((listed.Contents ?? []).map((o) => o.Key)).toEqual(['x'])
  })
})

describe('tag and metadata keys named like Object.prototype members', () => {
  const NAMES = ['__proto__', 'constructor', 'toString', 'hasOwnProperty'] as const
  const sorted = (tags: { Key?: string | undefined; Value?: string | undefined }[] | undefined) =>
    (tags ?? []).map((t) => `${t.Key ?? ''}=${t.Value ?? ''}`).sort()

  it('REGRESSION proto-keys: __proto__, constructor, toString, hasOwnProperty are ordinary tag and metadata keys', async () => {
    const s3 = server.s3()
    await s3.send(new CreateBucketCommand({ Bucket: 'protos' }))
    // Metadata names are lower-cased on the wire; built with entries so '__proto__' is an own key.
    const metadata = Object.fromEntries(NAMES.map((n) => [n.toLowerCase(), `m-${n}`]))
    expect(Object.keys(metadata)).toContain('__proto__')
    await s3.send(
      new PutObjectCommand({
        Bucket: 'protos',
        Key: 'o',
        Body: 'x',
        Metadata: metadata,
        Tagging: NAMES.map((n) => `${n}=h-${n}`).join('&'),
      }),
    )
    // The raw answer carries every x-amz-meta-* header (the SDK's own Metadata object cannot
    // hold a '__proto__' key, so read the headers as sent).
    const head = await fetch(
      await getSignedUrl(s3, new HeadObjectCommand({ Bucket: 'protos', Key: 'o' }), {
        expiresIn: 300,
      }),
      { method: 'HEAD' },
    )
    expect(head.status).toBe(200)
    for (const n of NAMES) expect(head.headers.get(`x-amz-meta-${n.toLowerCase()}`)).toBe(`m-${n}`)
    expect(head.headers.get('x-amz-tagging-count')).toBe('4')
    const h = await s3.send(new HeadObjectCommand({ Bucket: 'protos', Key: 'o' }))
    expect(h.Metadata?.['constructor']).toBe('m-constructor')
    expect(Object.hasOwn(h.Metadata ?? {}, 'tostring')).toBe(true)
    // x-amz-tagging header → GetObjectTagging.
    const fromHeader = await s3.send(new GetObjectTaggingCommand({ Bucket: 'protos', Key: 'o' }))
    expect(sorted(fromHeader.TagSet)).toEqual(NAMES.map((n) => `${n}=h-${n}`).sort())
    // PutObjectTagging (XML) → GetObjectTagging.
    const TagSet = NAMES.map((n) => ({ Key: n, Value: `t-${n}` }))
    await s3.send(new PutObjectTaggingCommand({ Bucket: 'protos', Key: 'o', Tagging: { TagSet } }))
    const got = await s3.send(new GetObjectTaggingCommand({ Bucket: 'protos', Key: 'o' }))
    expect(sorted(got.TagSet)).toEqual(sorted(TagSet))
    // Bucket tagging too.
    await s3.send(new PutBucketTaggingCommand({ Bucket: 'protos', Tagging: { TagSet } }))
    const bt = await s3.send(new GetBucketTaggingCommand({ Bucket: 'protos' }))
    expect(sorted(bt.TagSet)).toEqual(sorted(TagSet))
  })

  it('two __proto__ tags are a duplicate (InvalidTag), in XML and in x-amz-tagging; nothing changes', async () => {
    const s3 = server.s3()
    const dup = [
      { Key: '__proto__', Value: 'a' },
      { Key: '__proto__', Value: 'b' },
    ]
    for (const name of NAMES) {
      const twice = dup.map((t) => ({ ...t, Key: name }))
      expect(
        await errorName(
          s3.send(
            new PutObjectTaggingCommand({ Bucket: 'protos', Key: 'o', Tagging: { TagSet: twice } }),
          ),
        ),
        name,
      ).toBe('InvalidTag')
      expect(
        await errorName(
          s3.send(
            new PutObjectCommand({
              Bucket: 'protos',
              Key: `dup-${name}`,
              Body: 'x',
              Tagging: `${name}=a&${name}=b`,
            }),
          ),
        ),
        name,
      ).toBe('InvalidTag')
      expect(
        await errorName(s3.send(new HeadObjectCommand({ Bucket: 'protos', Key: `dup-${name}` }))),
      ).toBe('NotFound')
    }
    const got = await s3.send(new GetObjectTaggingCommand({ Bucket: 'protos', Key: 'o' }))
    expect(sorted(got.TagSet)).toEqual(NAMES.map((n) => `${n}=t-${n}`).sort())
  })
})
