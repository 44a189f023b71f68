/**
 * Bucket lifecycle end to end, with the real SDK v3 and the aws CLI against a server whose
 * lifecycle day is one second (--lifecycle-day-seconds 1, for testing only): configuration put,
 * read back and deleted; an object under a rule's prefix expires and one outside does not; a
 * tag-filtered rule; an object overwritten before its expiry is not expired early; an abandoned
 * multipart upload is aborted after DaysAfterInitiation; x-amz-expiration on PUT, GET and HEAD.
 */
import { describe, it, expect, beforeAll, afterAll } from 'vitest'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import {
  CopyObjectCommand,
  CreateBucketCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  DeleteBucketLifecycleCommand,
  GetBucketLifecycleConfigurationCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListMultipartUploadsCommand,
  PutBucketLifecycleConfigurationCommand,
  PutObjectCommand,
  UploadPartCommand,
  type LifecycleRule,
  type S3Client,
} from '@aws-sdk/client-s3'
import { createHash } from 'node:crypto'
import { outcome, startServer, type TestServer } from './harness.js'
import { rawRequest, signHeaders } from './raw-client.js'
import { HAS_AWS_CLI, aws } from './tools.js'

let server: TestServer
let s3: S3Client
beforeAll(async () => {
  server = await startServer({ args: ['--lifecycle-day-seconds', '1'] })
  s3 = server.s3()
})
afterAll(async () => {
  await server.stop()
})

const creds = () => ({ accessKeyId: server.accessKeyId, secretAccessKey: server.secretAccessKey })

async function bucketWithRules(name: string, rules: LifecycleRule[]): Promise<void> {
  await s3.send(new CreateBucketCommand({ Bucket: name }))
  await s3.send(
    new PutBucketLifecycleConfigurationCommand({
      Bucket: name,
      LifecycleConfiguration: { Rules: rules },
    }),
  )
}

const put = (Bucket: string, Key: string, Tagging?: string) =>
  s3.send(
    new PutObjectCommand({ Bucket, Key, Body: 'x', ...(Tagging !== undefined ? { Tagging } : {}) }),
  )
const exists = async (Bucket: string, Key: string): Promise<boolean> =>
  (await outcome(s3.send(new HeadObjectCommand({ Bucket, Key })))) === 'OK'

/** Poll (the worker runs every 500 ms with a 1 s day) until `done`, or fail after `ms`. */
async function eventually(done: () => Promise<boolean>, ms = 6000): Promise<void> {
  const until = Date.now() + ms
  while (!(await done())) {
    if (Date.now() > until) throw new Error('condition not reached in time')
    await new Promise((r) => setTimeout(r, 100))
  }
}

/** The expiry date of an x-amz-expiration value (ms). */
function expiryOf(header: string | undefined): number {
  const m = /expiry-date="([^"]+)"/.exec(header ?? '')
  if (m?.[1] === undefined) throw new Error(`no expiry date in ${String(header)}`)
  return Date.parse(m[1])
}

describe('lifecycle configuration (SDK v3)', () => {
  it('put, get and delete; NoSuchLifecycleConfiguration when none; bad rules refused', async () => {
    await s3.send(new CreateBucketCommand({ Bucket: 'lc-config' }))
    expect(
      await outcome(s3.send(new GetBucketLifecycleConfigurationCommand({ Bucket: 'lc-config' }))),
    ).toBe('NoSuchLifecycleConfiguration')
    const rules: LifecycleRule[] = [
      { ID: 'tmp', Status: 'Enabled', Filter: { Prefix: 'tmp/' }, Expiration: { Days: 30 } },
      {
        ID: 'scratch',
        Status: 'Disabled',
        Filter: {
          And: {
            Prefix: 'a/',
            Tags: [{ Key: 'class', Value: 'scratch' }],
            ObjectSizeGreaterThan: 10,
          },
        },
        Expiration: { Date: new Date('2030-01-01T00:00:00Z') },
      },
      {
        ID: 'uploads',
        Status: 'Enabled',
        Filter: { Prefix: '' },
        AbortIncompleteMultipartUpload: { DaysAfterInitiation: 7 },
      },
    ]
    await s3.send(
      new PutBucketLifecycleConfigurationCommand({
        Bucket: 'lc-config',
        LifecycleConfiguration: { Rules: rules },
      }),
    )
    const got = await s3.send(new GetBucketLifecycleConfigurationCommand({ Bucket: 'lc-config' }))
    expect(got.Rules).toEqual(rules)

    for (const bad of [
      {
        rule: { ID: 'z', Status: 'Enabled', Filter: {}, Expiration: { Days: 0 } },
        code: 'InvalidArgument',
      },
      { rule: { ID: 'z', Status: 'Enabled', Filter: {} }, code: 'InvalidArgument' },
      { rule: { ID: 'z', Status: 'Enabled', Expiration: { Days: 1 } }, code: 'MalformedXML' },
      {
        rule: {
          ID: 'z',
          Status: 'Enabled',
          Filter: { Tag: { Key: 'a', Value: 'b' } },
          AbortIncompleteMultipartUpload: { DaysAfterInitiation: 1 },
        },
        code: 'InvalidArgument',
      },
    ] as { rule: LifecycleRule; code: string }[]) {
      expect(
        await outcome(
          s3.send(
            new PutBucketLifecycleConfigurationCommand({
              Bucket: 'lc-config',
              LifecycleConfiguration: { Rules: [bad.rule] },
            }),
          ),
        ),
      ).toBe(bad.code)
    }
    // Nothing a refusal sent was kept.
    const still = await s3.send(new GetBucketLifecycleConfigurationCommand({ Bucket: 'lc-config' }))
    expect(still.Rules).toEqual(rules)

    await s3.send(new DeleteBucketLifecycleCommand({ Bucket: 'lc-config' }))
    expect(
      await outcome(s3.send(new GetBucketLifecycleConfigurationCommand({ Bucket: 'lc-config' }))),
    ).toBe('NoSuchLifecycleConfiguration')
  })
})

describe('lifecycle configuration on the wire', () => {
  async function putRaw(bucket: string, xml: string, digest: 'md5' | 'none' | 'wrong') {
    const body = Buffer.from(xml)
    const md5 = createHash('md5')
      .update(digest === 'wrong' ? Buffer.from('other') : body)
      .digest('base64')
    const path = `/${bucket}?lifecycle`
    const headers = await signHeaders(server, {
      method: 'PUT',
      path,
      headers: {
        'content-length': String(body.length),
        ...(digest === 'none' ? {} : { 'content-md5': md5 }),
      },
    })
    const { socket, answer } = await rawRequest(server, 'PUT', path, headers, body, 'wait')
    const a = await answer
    socket.destroy()
    return { status: a?.status, code: /<Code>(\w+)<\/Code>/.exec(a?.body ?? '')?.[1] }
  }

  it('needs Content-MD5 (or a checksum) that matches; malformed XML is MalformedXML; nothing refused is kept', async () => {
    await s3.send(new CreateBucketCommand({ Bucket: 'lc-wire' }))
    const good =
      '<LifecycleConfiguration><Rule><ID>r</ID><Filter><Prefix>a/</Prefix></Filter>' +
      '<Status>Enabled</Status><Expiration><Days>1</Days></Expiration></Rule></LifecycleConfiguration>'
    expect(await putRaw('lc-wire', good, 'none')).toEqual({ status: 400, code: 'InvalidRequest' })
    expect((await putRaw('lc-wire', good, 'wrong')).status).toBe(400)
    expect(await putRaw('lc-wire', '<LifecycleConfiguration><Rule>', 'md5')).toEqual({
      status: 400,
      code: 'MalformedXML',
    })
    expect(
      await outcome(s3.send(new GetBucketLifecycleConfigurationCommand({ Bucket: 'lc-wire' }))),
    ).toBe('NoSuchLifecycleConfiguration')
    expect(await putRaw('lc-wire', good, 'md5')).toEqual({ status: 200, code: undefined })
    const got = await s3.send(new GetBucketLifecycleConfigurationCommand({ Bucket: 'lc-wire' }))
    expect(got.Rules?.[0]?.ID).toBe('r')
  })
})

describe('lifecycle rules fire (one-second days)', () => {
  it('an object under the prefix expires, one outside does not; x-amz-expiration on PUT, GET, HEAD', async () => {
    await bucketWithRules('lc-expire', [
      { ID: 'tmp-rule', Status: 'Enabled', Filter: { Prefix: 'tmp/' }, Expiration: { Days: 1 } },
    ])
    const written = await put('lc-expire', 'tmp/a')
    await put('lc-expire', 'keep/a')
    expect(written.Expiration).toMatch(/^expiry-date="[^"]+ GMT", rule-id="tmp-rule"$/)
    const head = await s3.send(new HeadObjectCommand({ Bucket: 'lc-expire', Key: 'tmp/a' }))
    expect(head.Expiration).toBe(written.Expiration)
    const get = await s3.send(new GetObjectCommand({ Bucket: 'lc-expire', Key: 'tmp/a' }))
    await get.Body?.transformToString()
    expect(get.Expiration).toBe(written.Expiration)
    // Rounded up to the next "midnight": a whole second, one to two seconds from the write.
    const at = expiryOf(head.Expiration)
    expect(at % 1000).toBe(0)
    const outside = await s3.send(new HeadObjectCommand({ Bucket: 'lc-expire', Key: 'keep/a' }))
    expect(outside.Expiration).toBeUndefined()
    // A copy into the rule's prefix is a new object the rule expires; AWS says so on the copy too.
    const copied = await s3.send(
      new CopyObjectCommand({
        Bucket: 'lc-expire',
        Key: 'tmp/copy',
        CopySource: 'lc-expire/keep/a',
      }),
    )
    expect(copied.Expiration).toMatch(/rule-id="tmp-rule"$/)
    // And on the completion of a multipart upload into the prefix.
    const { UploadId } = await s3.send(
      new CreateMultipartUploadCommand({ Bucket: 'lc-expire', Key: 'tmp/mp' }),
    )
    const part = await s3.send(
      new UploadPartCommand({
        Bucket: 'lc-expire',
        Key: 'tmp/mp',
        UploadId,
        PartNumber: 1,
        Body: 'one part',
      }),
    )
    const completed = await s3.send(
      new CompleteMultipartUploadCommand({
        Bucket: 'lc-expire',
        Key: 'tmp/mp',
        UploadId,
        MultipartUpload: { Parts: [{ PartNumber: 1, ETag: part.ETag! }] },
      }),
    )
    expect(completed.Expiration).toMatch(/rule-id="tmp-rule"$/)

    await eventually(async () => !(await exists('lc-expire', 'tmp/a')))
    expect(Date.now()).toBeGreaterThanOrEqual(at)
    expect(await exists('lc-expire', 'keep/a')).toBe(true)
  })

  it('a Date rule in the past expires what it matches on the next pass', async () => {
    await bucketWithRules('lc-date', [
      {
        ID: 'old',
        Status: 'Enabled',
        Filter: { Prefix: 'old/' },
        Expiration: { Date: new Date('2020-01-01T00:00:00Z') },
      },
    ])
    await put('lc-date', 'old/a')
    await put('lc-date', 'new/a')
    await eventually(async () => !(await exists('lc-date', 'old/a')))
    expect(await exists('lc-date', 'new/a')).toBe(true)
  })

  it('a tag-filtered rule expires only the tagged objects', async () => {
    await bucketWithRules('lc-tags', [
      {
        ID: 'scratch',
        Status: 'Enabled',
        Filter: { Tag: { Key: 'class', Value: 'scratch' } },
        Expiration: { Days: 1 },
      },
    ])
    await put('lc-tags', 'a', 'class=scratch')
    await put('lc-tags', 'b', 'class=keep')
    await put('lc-tags', 'c')
    await eventually(async () => !(await exists('lc-tags', 'a')))
    expect(await exists('lc-tags', 'b')).toBe(true)
    expect(await exists('lc-tags', 'c')).toBe(true)
  })

  it('an object overwritten before its expiry is not expired early', async () => {
    await bucketWithRules('lc-overwrite', [
      { ID: 'r', Status: 'Enabled', Filter: { Prefix: '' }, Expiration: { Days: 3 } },
    ])
    await put('lc-overwrite', 'k')
    // A control written with it: once the worker has expired the control, it has had its chance
    // to expire the first version of k as well.
    const control = await put('lc-overwrite', 'control')
    // Overwrite two seconds later (before the first version's expiry): a later expiry.
    const later = (Math.floor(Date.now() / 1000) + 2) * 1000
    await new Promise((r) => setTimeout(r, later - Date.now() + 50))
    const second = await put('lc-overwrite', 'k')
    const secondExpiry = expiryOf(second.Expiration)
    expect(secondExpiry).toBeGreaterThan(expiryOf(control.Expiration))
    await eventually(async () => !(await exists('lc-overwrite', 'control')))
    expect(Date.now()).toBeLessThan(secondExpiry)
    const head = await s3.send(new HeadObjectCommand({ Bucket: 'lc-overwrite', Key: 'k' }))
    expect(expiryOf(head.Expiration)).toBe(secondExpiry)
    await eventually(async () => !(await exists('lc-overwrite', 'k')))
    expect(Date.now()).toBeGreaterThanOrEqual(secondExpiry)
  })

  it('an abandoned multipart upload is aborted after DaysAfterInitiation', async () => {
    await bucketWithRules('lc-mpu', [
      {
        ID: 'abandoned',
        Status: 'Enabled',
        Filter: { Prefix: 'uploads/' },
        AbortIncompleteMultipartUpload: { DaysAfterInitiation: 1 },
      },
    ])
    const start = async (Key: string): Promise<void> => {
      const { UploadId } = await s3.send(
        new CreateMultipartUploadCommand({ Bucket: 'lc-mpu', Key }),
      )
      await s3.send(
        new UploadPartCommand({
          Bucket: 'lc-mpu',
          Key,
          UploadId,
          PartNumber: 1,
          Body: Buffer.alloc(1024, 1),
        }),
      )
    }
    await start('uploads/big.bin')
    await start('elsewhere/big.bin')
    const keys = async (): Promise<string[]> =>
      ((await s3.send(new ListMultipartUploadsCommand({ Bucket: 'lc-mpu' }))).Uploads ?? []).map(
        (u) => u.Key ?? '',
      )
    expect((await keys()).sort()).toEqual(['elsewhere/big.bin', 'uploads/big.bin'])
    await eventually(async () => !(await keys()).includes('uploads/big.bin'))
    expect(await keys()).toEqual(['elsewhere/big.bin'])
    const under = await s3.send(
      new ListMultipartUploadsCommand({ Bucket: 'lc-mpu', Prefix: 'uploads/' }),
    )
    expect(under.Uploads ?? []).toEqual([])
  })
})

describe.skipIf(!HAS_AWS_CLI)('lifecycle with the aws CLI', () => {
  it('s3api put/get/delete-bucket-lifecycle-configuration and Expiration on head-object', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'latchkey-lc-'))
    const file = join(dir, 'lifecycle.json')
    const config = {
      Rules: [
        {
          ID: 'cli-rule',
          Status: 'Enabled',
          Filter: { Prefix: 'logs/' },
          Expiration: { Days: 30 },
          AbortIncompleteMultipartUpload: { DaysAfterInitiation: 2 },
        },
      ],
    }
    writeFileSync(file, JSON.stringify(config))
    let r = await aws(server.endpoint, creds(), ['s3', 'mb', 's3://lc-cli'])
    expect(r.code, r.stderr).toBe(0)
    r = await aws(server.endpoint, creds(), [
      's3api',
      'put-bucket-lifecycle-configuration',
      '--bucket',
      'lc-cli',
      '--lifecycle-configuration',
      `file://${file}`,
    ])
    expect(r.code, r.stderr).toBe(0)
    r = await aws(server.endpoint, creds(), [
      's3api',
      'get-bucket-lifecycle-configuration',
      '--bucket',
      'lc-cli',
    ])
    expect(r.code, r.stderr).toBe(0)
    expect(JSON.parse(r.stdout).Rules).toEqual(config.Rules)

    await put('lc-cli', 'logs/today.log')
    r = await aws(server.endpoint, creds(), [
      's3api',
      'head-object',
      '--bucket',
      'lc-cli',
      '--key',
      'logs/today.log',
    ])
    expect(r.code, r.stderr).toBe(0)
    expect(JSON.parse(r.stdout).Expiration).toMatch(/^expiry-date=".+ GMT", rule-id="cli-rule"$/)

    r = await aws(server.endpoint, creds(), [
      's3api',
      'delete-bucket-lifecycle',
      '--bucket',
      'lc-cli',
    ])
    expect(r.code, r.stderr).toBe(0)
    r = await aws(server.endpoint, creds(), [
      's3api',
      'get-bucket-lifecycle-configuration',
      '--bucket',
      'lc-cli',
    ])
    expect(r.code).not.toBe(0)
    expect(r.stderr).toContain('NoSuchLifecycleConfiguration')
  })
})
