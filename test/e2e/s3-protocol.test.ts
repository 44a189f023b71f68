/**
 * Protocol details real clients and the S3 conformance suite hit (issue 12, "Protocol details"):
 * non-ASCII metadata, listing encoding, re-creating a bucket, location constraints, expired
 * credentials, `Expect` headers, Content-Encoding, STS validation messages. Each case is a
 * regression test that failed before its fix; clients are the real SDK v3 and boto3.
 */
import { describe, it, expect, beforeAll, afterAll } from 'vitest'
import { request } from 'node:http'
import {
  CreateBucketCommand,
  GetBucketLocationCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectVersionsCommand,
  ListObjectsCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3'
import { AssumeRoleCommand, GetSessionTokenCommand } from '@aws-sdk/client-sts'
import { startServer, type TestServer } from './harness.js'
import { HAS_BOTO3, boto3 } from './tools.js'
import { signHeaders } from './raw-client.js'

let server: TestServer
beforeAll(async () => {
  server = await startServer()
})
afterAll(async () => {
  await server.stop()
})

/** An SDK v3 client configured with another region (it signs with that region's scope). */
function s3In(region: string, srv: TestServer = server): S3Client {
  return new S3Client({
    endpoint: srv.endpoint,
    region,
    forcePathStyle: true,
    credentials: { accessKeyId: srv.accessKeyId, secretAccessKey: srv.secretAccessKey },
  })
}

/** The error code an SDK call fails with ('' when it succeeds). */
async function codeOf(p: Promise<unknown>): Promise<string> {
  try {
    await p
    return ''
  } catch (e) {
    return (e as { name?: string }).name ?? String(e)
  }
}

const creds = () => ({ accessKeyId: server.accessKeyId, secretAccessKey: server.secretAccessKey })

/** One plain HTTP request (headers exactly as given), answer as text. */
function send(
  method: string,
  path: string,
  headers: Record<string, string>,
  body?: string,
): Promise<{
  status: number
  headers: Record<string, string | string[] | undefined>
  body: string
}> {
  const url = new URL(server.endpoint)
  return new Promise((resolve, reject) => {
    const req = request(
      { host: url.hostname, port: Number(url.port), method, path, headers },
      (res) => {
        let text = ''
        res.setEncoding('utf8')
        res.on('data', (c: string) => (text += c))
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text }),
        )
      },
    )
    req.on('error', reject)
    req.end(body)
  })
}

describe('non-ASCII user metadata', () => {
  it.skipIf(!HAS_BOTO3)(
    'REGRESSION non-ascii-metadata: boto3 sends x-amz-meta-*: Hello Worldé as UTF-8 bytes; the signature verifies and head/get return the same string',
    async () => {
      await server.s3().send(new CreateBucketCommand({ Bucket: 'meta-utf8' }))
      const r = await boto3(
        server.endpoint,
        creds(),
        [
          'c = s3()',
          'def add(**kw): kw["params"]["headers"]["x-amz-meta-meta1"] = u"Hello World\\xe9"',
          'c.meta.events.register("before-call.s3.PutObject", add)',
          'c.put_object(Bucket="meta-utf8", Key="foo", Body=b"bar")',
          'h = c.head_object(Bucket="meta-utf8", Key="foo")["Metadata"]',
          'g = c.get_object(Bucket="meta-utf8", Key="foo")["Metadata"]',
          'print(json.dumps([h, g]))',
        ].join('\n'),
      )
      expect(r.code, r.stderr).toBe(0)
      expect(JSON.parse(r.stdout)).toEqual([{ meta1: 'Hello Worldé' }, { meta1: 'Hello Worldé' }])
      // The SDK (node writes the header as latin1 but signs its UTF-8) reads the same value.
      const head = await server
        .s3()
        .send(new HeadObjectCommand({ Bucket: 'meta-utf8', Key: 'foo' }))
      expect(head.Metadata).toEqual({ meta1: 'Hello Worldé' })
    },
  )

  it('REGRESSION non-ascii-metadata-sdk: SDK v3 metadata with é round-trips; beyond latin1 it comes back as an RFC 2047 word, as AWS returns it', async () => {
    const s3 = server.s3()
    await s3.send(new CreateBucketCommand({ Bucket: 'meta-sdk' }))
    await s3.send(
      new PutObjectCommand({
        Bucket: 'meta-sdk',
        Key: 'k',
        Body: 'x',
        Metadata: { latin: 'Grüße é' },
      }),
    )
    const head = await s3.send(new HeadObjectCommand({ Bucket: 'meta-sdk', Key: 'k' }))
    expect(head.Metadata).toEqual({ latin: 'Grüße é' })
    // A raw client sending UTF-8 bytes for € (beyond latin1): stored as '€', sent back encoded.
    const path = '/meta-sdk/euro'
    const h = await signHeaders(server, {
      method: 'PUT',
      path,
      headers: { 'x-amz-meta-price': Buffer.from('5 €', 'utf8').toString('latin1') },
    })
    const put = await send('PUT', path, h, '')
    expect(put.status, put.body).toBe(200)
    const got = await s3.send(new GetObjectCommand({ Bucket: 'meta-sdk', Key: 'euro' }))
    expect(got.Metadata).toEqual({
      price: `=?UTF-8?B?${Buffer.from('5 €', 'utf8').toString('base64')}?=`,
    })
  })
})

describe('Content-Encoding', () => {
  it('REGRESSION content-encoding-as-sent: stored as sent minus aws-chunked (deflate, gzip stays; aws-chunked alone leaves none; aws-chunked, gzip is gzip)', async () => {
    const s3 = server.s3()
    await s3.send(new CreateBucketCommand({ Bucket: 'enc' }))
    const cases: [string, string | undefined][] = [
      ['deflate, gzip', 'deflate, gzip'],
      ['aws-chunked', undefined],
      ['aws-chunked, gzip', 'gzip'],
      ['gzip', 'gzip'],
    ]
    for (const [sent, stored] of cases) {
      const key = `k-${sent}`
      await s3.send(
        new PutObjectCommand({ Bucket: 'enc', Key: key, Body: 'x', ContentEncoding: sent }),
      )
      const head = await s3.send(new HeadObjectCommand({ Bucket: 'enc', Key: key }))
      expect(head.ContentEncoding, sent).toBe(stored)
    }
  })
})

describe('Expect', () => {
  it('REGRESSION expect-ignored: an Expect header other than 100-continue is ignored (the request is served), as S3 does, instead of 417', async () => {
    await server.s3().send(new CreateBucketCommand({ Bucket: 'expect' }))
    const path = '/expect/obj'
    const put = await send(
      'PUT',
      path,
      await signHeaders(server, {
        method: 'PUT',
        path,
        headers: { expect: 'something-else', 'content-length': '5' },
      }),
      'hello',
    )
    expect(put.status, put.body).toBe(200)
    const get = await send(
      'GET',
      path,
      await signHeaders(server, { method: 'GET', path, headers: { expect: '200-ok' } }),
    )
    expect(get.status).toBe(200)
    expect(get.body).toBe('hello')
  })
})

describe('expired presigned requests', () => {
  it.skipIf(!HAS_BOTO3)(
    'REGRESSION presign-expired-403: a SigV4 presigned URL that has expired, a negative X-Amz-Expires included (the conformance suite\'s expired URL), is 403 AccessDenied "Request has expired"',
    async () => {
      await server.s3().send(new CreateBucketCommand({ Bucket: 'presign-exp' }))
      await server.s3().send(new PutObjectCommand({ Bucket: 'presign-exp', Key: 'k', Body: 'x' }))
      const r = await boto3(
        server.endpoint,
        creds(),
        [
          'import urllib.request, re',
          'c = boto3.client("s3", endpoint_url=ENDPOINT, config=Config(signature_version="s3v4", s3={"addressing_style": "path"}, retries={"max_attempts": 1}))',
          'out = []',
          'for exp, method, op in ((-1000, "GET", "get_object"), (-7, "PUT", "put_object")):',
          '    url = c.generate_presigned_url(op, Params={"Bucket": "presign-exp", "Key": "k"}, ExpiresIn=exp)',
          '    req = urllib.request.Request(url, method=method, data=None if method == "GET" else b"y")',
          '    try:',
          '        out.append([exp, urllib.request.urlopen(req).status])',
          '    except urllib.error.HTTPError as e:',
          '        b = e.read().decode()',
          '        out.append([exp, e.code, re.findall("<Code>(.*?)</Code>", b)[0], re.findall("<Message>(.*?)</Message>", b)[0]])',
          'print(json.dumps(out))',
        ].join('\n'),
      )
      expect(r.code, r.stderr).toBe(0)
      expect(JSON.parse(r.stdout)).toEqual([
        [-1000, 403, 'AccessDenied', 'Request has expired'],
        [-7, 403, 'AccessDenied', 'Request has expired'],
      ])
    },
  )
})

describe('CreateBucket and regions', () => {
  let pinned: TestServer
  beforeAll(async () => {
    pinned = await startServer({ args: ['--region', 'eu-west-1'] })
  })
  afterAll(async () => {
    await pinned.stop()
  })

  it('REGRESSION recreate-own-bucket: re-creating your own bucket in us-east-1 answers 200 and changes nothing (objects survive); a server in another region answers BucketAlreadyOwnedByYou', async () => {
    const s3 = server.s3()
    await s3.send(new CreateBucketCommand({ Bucket: 'again' }))
    await s3.send(new PutObjectCommand({ Bucket: 'again', Key: 'kept', Body: 'still here' }))
    await s3.send(new CreateBucketCommand({ Bucket: 'again' }))
    const got = await s3.send(new GetObjectCommand({ Bucket: 'again', Key: 'kept' }))
    expect(await got.Body?.transformToString()).toBe('still here')
    const eu = s3In('eu-west-1', pinned)
    await eu.send(new CreateBucketCommand({ Bucket: 'again-eu' }))
    expect(await codeOf(eu.send(new CreateBucketCommand({ Bucket: 'again-eu' })))).toBe(
      'BucketAlreadyOwnedByYou',
    )
  })

  it('REGRESSION any-sdk-region: SDK v3 configured with us-west-1 (LocationConstraint us-west-1, scope us-west-1) creates a bucket that GetBucketLocation reports as us-west-1; with --region pinned a mismatch is IllegalLocationConstraintException', async () => {
    const west = s3In('us-west-1')
    await west.send(new CreateBucketCommand({ Bucket: 'west-bucket' }))
    const loc = await west.send(new GetBucketLocationCommand({ Bucket: 'west-bucket' }))
    expect(loc.LocationConstraint).toBe('us-west-1')
    await west.send(new PutObjectCommand({ Bucket: 'west-bucket', Key: 'k', Body: 'w' }))
    const got = await west.send(new GetObjectCommand({ Bucket: 'west-bucket', Key: 'k' }))
    expect(await got.Body?.transformToString()).toBe('w')
    // No constraint: the server's default region, reported as AWS reports us-east-1 (empty).
    await server.s3().send(new CreateBucketCommand({ Bucket: 'east-bucket' }))
    const east = await server.s3().send(new GetBucketLocationCommand({ Bucket: 'east-bucket' }))
    expect(east.LocationConstraint ?? '').toBe('')
    // Pinned: only the operator's region.
    expect(
      await codeOf(s3In('us-west-1', pinned).send(new CreateBucketCommand({ Bucket: 'w-pinned' }))),
    ).toBe('IllegalLocationConstraintException')
    await s3In('eu-west-1', pinned).send(new CreateBucketCommand({ Bucket: 'eu-pinned' }))
    const pinnedLoc = await s3In('eu-west-1', pinned).send(
      new GetBucketLocationCommand({ Bucket: 'eu-pinned' }),
    )
    expect(pinnedLoc.LocationConstraint).toBe('eu-west-1')
  })
})

describe('STS validation', () => {
  it('REGRESSION sts-all-violations: a ValidationError lists every violated constraint in one message, as AWS does ("N validation errors detected: …; …")', async () => {
    const sts = server.sts()
    const err = async (p: Promise<unknown>): Promise<{ name: string; message: string }> => {
      try {
        await p
        return { name: '', message: '' }
      } catch (e) {
        return e as { name: string; message: string }
      }
    }
    const e = await err(
      sts.send(
        new AssumeRoleCommand({
          RoleArn: 'arn:aws:iam::1:r',
          RoleSessionName: '!',
          DurationSeconds: 10,
        }),
      ),
    )
    expect(e.name).toBe('ValidationError')
    expect(e.message).toBe(
      '4 validation errors detected: ' +
        [
          "Value '!' at 'roleSessionName' failed to satisfy constraint: Member must have length greater than or equal to 2",
          "Value '!' at 'roleSessionName' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\w+=,.@-]*",
          "Value 'arn:aws:iam::1:r' at 'roleArn' failed to satisfy constraint: Member must have length greater than or equal to 20",
          "Value '10' at 'durationSeconds' failed to satisfy constraint: Member must have value greater than or equal to 900",
        ].join('; '),
    )
    const g = await err(
      sts.send(
        new GetSessionTokenCommand({ DurationSeconds: 1, SerialNumber: 'x', TokenCode: 'abc' }),
      ),
    )
    expect(g.name).toBe('ValidationError')
    expect(g.message).toMatch(/^4 validation errors detected: Value '1' at 'durationSeconds'/)
    expect(g.message).toContain("Value 'x' at 'serialNumber'")
    expect(g.message).toContain("Value 'abc' at 'tokenCode'")
    // One violation keeps the singular form.
    const one = await err(
      sts.send(
        new AssumeRoleCommand({
          RoleSessionName: 'ok-name',
          DurationSeconds: 10,
          RoleArn: undefined,
        }),
      ),
    )
    expect(one.message).toBe(
      "1 validation error detected: Value '10' at 'durationSeconds' failed to satisfy constraint: Member must have value greater than or equal to 900",
    )
  })
})

describe('listing encoding', () => {
  const keys = ['quux ab/thud', 'foo+1/bar', 'asdf+b', 'nl\n/z', 'cr\rkey', 'ctl\u0001key']
  beforeAll(async () => {
    const s3 = server.s3()
    await s3.send(new CreateBucketCommand({ Bucket: 'listenc' }))
    for (const k of keys)
      await s3.send(new PutObjectCommand({ Bucket: 'listenc', Key: k, Body: 'x' }))
  })

  it('REGRESSION list-encoding-url: encoding-type=url encodes keys, prefixes, delimiters and markers as S3 does (space %20, + %2B) and says <EncodingType>url</EncodingType>', async () => {
    const s3 = server.s3()
    const v2 = await s3.send(
      new ListObjectsV2Command({
        Bucket: 'listenc',
        Delimiter: '/',
        EncodingType: 'url',
        StartAfter: 'a b',
      }),
    )
    expect(v2.EncodingType).toBe('url')
    expect(v2.StartAfter).toBe('a%20b')
    expect(v2.Contents?.map((o) => o.Key)).toEqual(['asdf%2Bb', 'cr%0Dkey', 'ctl%01key'])
    expect(v2.CommonPrefixes?.map((p) => p.Prefix)).toEqual(['foo%2B1/', 'nl%0A/', 'quux%20ab/'])
    const v1 = await s3.send(
      new ListObjectsCommand({
        Bucket: 'listenc',
        Delimiter: '/',
        EncodingType: 'url',
        Marker: 'fo o',
        Prefix: 'quux a',
      }),
    )
    expect(v1.EncodingType).toBe('url')
    expect(v1.Marker).toBe('fo%20o')
    expect(v1.Prefix).toBe('quux%20a')
    expect(v1.CommonPrefixes?.map((p) => p.Prefix)).toEqual(['quux%20ab/'])
    const versions = await s3.send(
      new ListObjectVersionsCommand({
        Bucket: 'listenc',
        EncodingType: 'url',
        KeyMarker: 'nl',
        MaxKeys: 1,
      }),
    )
    expect(versions.EncodingType).toBe('url')
    expect(versions.Versions?.map((v) => v.Key)).toEqual(['nl%0A/z'])
    expect(versions.NextKeyMarker).toBe('nl%0A/z')
    // boto3 (which asks for encoding-type=url and decodes) gets the keys back as stored.
    if (HAS_BOTO3) {
      const r = await boto3(
        server.endpoint,
        creds(),
        'print(json.dumps(sorted(o["Key"] for o in s3().list_objects_v2(Bucket="listenc")["Contents"])))',
      )
      expect(r.code, r.stderr).toBe(0)
      expect(JSON.parse(r.stdout)).toEqual([...keys].sort())
    }
  })

  it('REGRESSION list-no-encoding: without encoding-type nothing is encoded (a prefix holding \\n comes back as \\n, a key holding \\r keeps it), and an empty continuation-token is the same as none', async () => {
    const s3 = server.s3()
    const plain = await s3.send(new ListObjectsV2Command({ Bucket: 'listenc', Delimiter: '/' }))
    expect(plain.EncodingType).toBeUndefined()
    expect(plain.Contents?.map((o) => o.Key)).toEqual(['asdf+b', 'cr\rkey', 'ctl\u0001key'])
    expect(plain.CommonPrefixes?.map((p) => p.Prefix)).toEqual(['foo+1/', 'nl\n/', 'quux ab/'])
    const empty = await s3.send(
      new ListObjectsV2Command({ Bucket: 'listenc', ContinuationToken: '' }),
    )
    expect(empty.Contents?.map((o) => o.Key)).toEqual([...keys].sort())
    // As the raw query string `continuation-token=` too.
    const path = '/listenc?list-type=2&continuation-token='
    const raw = await send('GET', path, await signHeaders(server, { method: 'GET', path }))
    expect(raw.status, raw.body).toBe(200)
    expect(raw.body).toContain('<KeyCount>6</KeyCount>')
  })
})
