/**
 * The 4EVERLAND browser-upload recipe end to end (examples/browser-upload): Latchkey, the example
 * app server minting a 1-hour PutObject-under-a-prefix credential via STS, and a real headless
 * Chromium uploading from another origin (so real CORS preflights) with the page's WebCrypto SigV4
 * signer. The browser part skips when /usr/bin/chromium or playwright-core is missing; the signer
 * and the app server are also checked from Node, which needs neither.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { createHash, randomBytes } from 'node:crypto'
import { existsSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  GetBucketCorsCommand,
  GetObjectCommand,
  HeadObjectCommand,
  PutBucketCorsCommand,
  UploadPartCommand,
  type S3Client,
} from '@aws-sdk/client-s3'
import { SignatureV4 } from '@smithy/signature-v4'
import { Sha256 } from '@aws-crypto/sha256-js'
import { ROOT, startServer, type TestServer } from './harness.js'
import { HAS_AWS_CLI, awsEnv, run } from './tools.js'

const EXAMPLE = join(ROOT, 'examples', 'browser-upload')
const CHROMIUM = '/usr/bin/chromium'

/** The subset of playwright-core used here (it is an optional, unsaved install). */
interface PwPage {
  goto(url: string): Promise<unknown>
  fill(selector: string, value: string): Promise<void>
  setInputFiles(
    selector: string,
    file: { name: string; mimeType: string; buffer: Buffer },
  ): Promise<void>
  click(selector: string): Promise<void>
  textContent(selector: string): Promise<string | null>
  waitForFunction(expression: string, arg?: unknown, opts?: { timeout?: number }): Promise<unknown>
  on(event: 'console' | 'pageerror', fn: (m: { toString(): string }) => void): void
}
interface PwContext {
  newPage(): Promise<PwPage>
  close(): Promise<void>
}
interface PwModule {
  chromium: {
    launchPersistentContext(
      userDataDir: string,
      opts: { executablePath: string; headless: boolean; args: string[]; timeout?: number },
    ): Promise<PwContext>
  }
}

/** The exports of examples/browser-upload/upload.mjs used here. */
interface Signer {
  signRequest(o: {
    method: string
    url: string
    creds: Keys
    region: string
    date?: Date
  }): Promise<Record<string, string>>
  putObject(o: {
    endpoint: string
    bucket: string
    key: string
    body: Uint8Array
    contentType?: string
    creds: Keys
    region: string
  }): Promise<{
    ok: boolean
    status: number
    etag?: string | null
    code?: string
    message?: string
  }>
  objectPath(bucket: string, key: string): string
}

interface Keys {
  readonly accessKeyId: string
  readonly secretAccessKey: string
  readonly sessionToken?: string
}

interface Minted extends Keys {
  readonly endpoint: string
  readonly region: string
  readonly bucket: string
  readonly prefix: string
  readonly sessionToken: string
  readonly expiration: string
}

// Module specifiers in variables: the typecheck must not need playwright-core or .mjs types.
const PW_NAME = 'playwright-core'
const playwright: PwModule | undefined = existsSync(CHROMIUM)
  ? await (import(PW_NAME) as Promise<PwModule>).catch(() => undefined)
  : undefined
const SIGNER_PATH = join(EXAMPLE, 'upload.mjs')
const signer = (await import(SIGNER_PATH)) as Signer

interface App {
  readonly url: string
  readonly origin: string
  stop(): Promise<void>
}

/** Spawn the example app server on a free port against `server`, for `bucket`. */
async function startApp(
  server: TestServer,
  bucket: string,
  extraEnv: Record<string, string> = {},
): Promise<App> {
  const proc: ChildProcess = spawn(process.execPath, [join(EXAMPLE, 'server.mjs')], {
    env: {
      ...process.env,
      ...extraEnv,
      LATCHKEY_ENDPOINT: server.endpoint,
      AWS_ACCESS_KEY_ID: server.accessKeyId,
      AWS_SECRET_ACCESS_KEY: server.secretAccessKey,
      LATCHKEY_BUCKET: bucket,
      HOST: '127.0.0.1',
      PORT: '0',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  const lines: string[] = []
  const exited = new Promise<void>((r) => proc.on('exit', () => r()))
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`app did not start:\n${lines.join('\n')}`)),
      15_000,
    )
    const onLine = (line: string): void => {
      lines.push(line)
      const m = /listening on (http:\/\/\S+)/.exec(line)
      if (m?.[1] !== undefined) {
        clearTimeout(timer)
        resolve(m[1])
      }
    }
    if (proc.stdout !== null) createInterface({ input: proc.stdout }).on('line', onLine)
    if (proc.stderr !== null) createInterface({ input: proc.stderr }).on('line', onLine)
    proc.on('exit', (code) => {
      clearTimeout(timer)
      reject(new Error(`app exited with ${String(code)}:\n${lines.join('\n')}`))
    })
  })
  return {
    url,
    origin: new URL(url).origin,
    async stop() {
      if (proc.exitCode === null && proc.signalCode === null) {
        proc.kill('SIGTERM')
        await exited
      }
    },
  }
}

async function mint(app: App, user: string): Promise<Minted> {
  const res = await fetch(`${app.url}/credentials`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ user }),
  })
  expect(res.status).toBe(200)
  return (await res.json()) as Minted
}

async function bytesOf(s3: S3Client, bucket: string, key: string): Promise<Buffer> {
  const out = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }))
  if (out.Body === undefined) throw new Error('no body')
  return Buffer.from(await out.Body.transformToByteArray())
}

/** The session's keys only (the minted JSON also carries a string `expiration`). */
const keysOf = (c: Minted): Keys => ({
  accessKeyId: c.accessKeyId,
  secretAccessKey: c.secretAccessKey,
  sessionToken: c.sessionToken,
})

/** PUT through the page's signer with the minted session. */
const pagePut = (c: Minted, key: string, body: Uint8Array) =>
  signer.putObject({
    endpoint: c.endpoint,
    bucket: c.bucket,
    key,
    body,
    creds: keysOf(c),
    region: c.region,
  })

async function errorName(p: Promise<unknown>): Promise<string> {
  try {
    await p
    return 'no error'
  } catch (e) {
    return (e as { name?: string }).name ?? String(e)
  }
}

function corsFor(origin: string) {
  return {
    CORSRules: [
      {
        AllowedOrigins: [origin],
        AllowedMethods: ['PUT', 'POST', 'GET', 'HEAD'],
        AllowedHeaders: ['*'],
        ExposeHeaders: ['ETag'],
        MaxAgeSeconds: 3000,
      },
    ],
  }
}

const md5 = (b: Uint8Array): string => `"${createHash('md5').update(b).digest('hex')}"`

let server: TestServer
let s3: S3Client
let app: App

beforeAll(async () => {
  // Plain http: WebCrypto needs a secure context, which http://127.0.0.1 is; a self-signed cert is not.
  server = await startServer({ tls: false })
  s3 = server.s3()
  app = await startApp(server, 'browser-uploads')
  await s3.send(new CreateBucketCommand({ Bucket: 'browser-uploads' }))
  const CORSConfiguration = corsFor(app.origin)
  await s3.send(new PutBucketCorsCommand({ Bucket: 'browser-uploads', CORSConfiguration }))
})
afterAll(async () => {
  await app.stop()
  await server.stop()
})

describe('browser-upload example: app server and signer (Node)', () => {
  it('mints a 1-hour session scoped to uploads/<user>/ and never leaks the master key', async () => {
    const before = Date.now()
    const c = await mint(app, 'carol')
    expect(c.bucket).toBe('browser-uploads')
    expect(c.prefix).toBe('uploads/carol/')
    expect(c.endpoint).toBe(server.endpoint.replace(/\/+$/, ''))
    expect(c.accessKeyId).not.toBe(server.accessKeyId)
    expect(c.sessionToken.length).toBeGreaterThan(0)
    const lifetime = Date.parse(c.expiration) - before
    expect(lifetime).toBeGreaterThan(3600_000 - 60_000)
    expect(lifetime).toBeLessThan(3600_000 + 60_000)
    // The session may not read, even under its own prefix.
    const scoped = server.s3(keysOf(c))
    const read = scoped.send(
      new GetObjectCommand({ Bucket: 'browser-uploads', Key: 'uploads/carol/x' }),
    )
    expect(await errorName(read)).toBe('AccessDenied')
  })

  it('rejects bad user ids, wrong methods and unknown paths with JSON errors', async () => {
    const bad = await fetch(`${app.url}/credentials`, {
      method: 'POST',
      body: '{"user":"../../etc"}',
    })
    expect(bad.status).toBe(400)
    expect(((await bad.json()) as { error: string }).error).toMatch(/user/)
    const post = (body: string) => fetch(`${app.url}/credentials`, { method: 'POST', body })
    expect((await post('not json')).status).toBe(400)
    expect((await post('x'.repeat(5000))).status).toBe(413)
    expect((await fetch(`${app.url}/credentials`)).status).toBe(405)
    expect((await fetch(`${app.url}/nope`)).status).toBe(404)
    const page = await fetch(`${app.url}/`)
    expect(page.headers.get('content-type')).toMatch(/text\/html/)
    expect(await page.text()).toContain('upload.mjs')
  })

  it('the WebCrypto signer matches @smithy/signature-v4 byte for byte', async () => {
    const creds = {
      accessKeyId: 'ASIAEXAMPLE',
      secretAccessKey: 'secret/+ex',
      sessionToken: 'tok+en/=',
    }
    const date = new Date('2024-05-06T07:08:09Z')
    const url = `http://127.0.0.1:9000${signer.objectPath('bkt', "uploads/u/a file (1)!*'~.txt")}`
    const ours = await signer.signRequest({ method: 'PUT', url, creds, region: 'eu-west-1', date })
    const smithy = new SignatureV4({
      service: 's3',
      region: 'eu-west-1',
      credentials: creds,
      sha256: Sha256,
      uriEscapePath: false, // S3: the path is encoded once, by the caller
    })
    const u = new URL(url)
    const signed = await smithy.sign(
      {
        method: 'PUT',
        protocol: 'http:',
        hostname: u.hostname,
        port: 9000,
        path: u.pathname,
        query: {},
        headers: { host: u.host, 'x-amz-content-sha256': 'UNSIGNED-PAYLOAD' },
      },
      { signingDate: date },
    )
    expect(ours['authorization']).toBe(signed.headers['authorization'])
    expect(ours['x-amz-security-token']).toBe(creds.sessionToken)
  })

  it('a PUT signed by the page signer lands under the prefix; outside it is AccessDenied', async () => {
    const c = await mint(app, 'dave')
    const body = randomBytes(4096)
    const key = `${c.prefix}na me+(1).bin`
    const r = await pagePut(c, key, body)
    expect(r.ok).toBe(true)
    expect(r.etag).toBe(md5(body))
    expect((await bytesOf(s3, c.bucket, key)).equals(body)).toBe(true)
    for (const outside of ['na me.bin', 'uploads/dave-other/x.bin', 'uploads/erin/x.bin']) {
      const o = await pagePut(c, outside, body)
      expect({ outside, status: o.status, code: o.code }).toEqual({
        outside,
        status: 403,
        code: 'AccessDenied',
      })
    }
    const head = s3.send(new HeadObjectCommand({ Bucket: c.bucket, Key: 'na me.bin' }))
    expect(await errorName(head)).toBe('NotFound')
  })

  it('the minted session carries the upload caps: over the size is EntityTooLarge, another type or one object too many AccessDenied', async () => {
    const capped = await startApp(server, 'browser-uploads', {
      LATCHKEY_MAX_OBJECT_SIZE: '1000',
      LATCHKEY_MAX_OBJECTS: '2',
      LATCHKEY_CONTENT_TYPES: 'image/*',
    })
    try {
      const c = await mint(capped, 'capped')
      expect((c as unknown as { caps: unknown }).caps).toEqual({
        maxObjectSize: 1000,
        maxBytes: 1024 * 1024 * 1024,
        maxObjects: 2,
        contentTypes: 'image/*',
      })
      const put = (key: string, size: number, contentType = 'image/png') =>
        signer.putObject({
          endpoint: c.endpoint,
          bucket: c.bucket,
          key: `${c.prefix}${key}`,
          body: randomBytes(size),
          contentType,
          creds: keysOf(c),
          region: c.region,
        })
      const big = await put('big.png', 1001)
      expect({ status: big.status, code: big.code }).toEqual({
        status: 400,
        code: 'EntityTooLarge',
      })
      expect(big.message).toContain('latchkey:max-object-size')
      const typed = await put('a.txt', 10, 'text/plain')
      expect({ status: typed.status, code: typed.code }).toEqual({
        status: 403,
        code: 'AccessDenied',
      })
      expect(typed.message).toContain('latchkey:content-types')
      expect((await put('1.png', 1000)).ok).toBe(true)
      expect((await put('2.png', 10)).ok).toBe(true)
      const third = await put('3.png', 10)
      expect(third.code).toBe('AccessDenied')
      expect(third.message).toContain('latchkey:max-objects')
    } finally {
      await capped.stop()
    }
  })

  it('the same session can do a multipart upload under the prefix and abort one', async () => {
    const c = await mint(app, 'frank')
    const scoped = server.s3(keysOf(c))
    const Bucket = c.bucket
    const Key = `${c.prefix}multi.bin`
    const parts = [randomBytes(5 * 1024 * 1024), randomBytes(1000)]
    const { UploadId } = await scoped.send(new CreateMultipartUploadCommand({ Bucket, Key }))
    const done = []
    for (const [i, Body] of parts.entries()) {
      const PartNumber = i + 1
      const { ETag } = await scoped.send(
        new UploadPartCommand({ Bucket, Key, UploadId, PartNumber, Body }),
      )
      done.push({ ETag, PartNumber })
    }
    const MultipartUpload = { Parts: done }
    await scoped.send(
      new CompleteMultipartUploadCommand({ Bucket, Key, UploadId, MultipartUpload }),
    )
    expect((await bytesOf(s3, Bucket, Key)).equals(Buffer.concat(parts))).toBe(true)
    const aborted = `${c.prefix}aborted.bin`
    const second = await scoped.send(new CreateMultipartUploadCommand({ Bucket, Key: aborted }))
    await scoped.send(
      new AbortMultipartUploadCommand({ Bucket, Key: aborted, UploadId: second.UploadId }),
    )
    const outside = scoped.send(
      new CreateMultipartUploadCommand({ Bucket, Key: 'uploads/someone-else/x.bin' }),
    )
    expect(await errorName(outside)).toBe('AccessDenied')
  })
})

describe.skipIf(!HAS_AWS_CLI)('browser-upload example: setup.sh (aws CLI)', () => {
  it('creates the bucket and puts the CORS rule for the app origin', async () => {
    const env = {
      ...awsEnv({ accessKeyId: server.accessKeyId, secretAccessKey: server.secretAccessKey }),
      LATCHKEY_ENDPOINT: server.endpoint,
      LATCHKEY_BUCKET: 'setup-sh-bucket',
      APP_ORIGIN: 'http://127.0.0.1:8080',
    }
    const r = await run('sh', [join(EXAMPLE, 'setup.sh')], env)
    expect(r.code, r.stderr).toBe(0)
    expect(r.stdout).toContain('created bucket setup-sh-bucket')
    const cors = await s3.send(new GetBucketCorsCommand({ Bucket: 'setup-sh-bucket' }))
    expect(cors.CORSRules?.[0]?.AllowedOrigins).toEqual(['http://127.0.0.1:8080'])
    expect(cors.CORSRules?.[0]?.ExposeHeaders).toEqual(['ETag'])
    expect([...(cors.CORSRules?.[0]?.AllowedMethods ?? [])].sort()).toEqual([
      'GET',
      'HEAD',
      'POST',
      'PUT',
    ])
  }, 60_000)
})

describe.skipIf(playwright === undefined)('browser-upload example: headless Chromium', () => {
  const opened: { ctx: PwContext; profile: string }[] = []
  const pageErrors: string[] = []

  /** A fresh browser (own profile, own connection pool), closed in afterAll. */
  async function browser(): Promise<PwContext> {
    if (playwright === undefined) throw new Error('playwright-core missing')
    const profile = mkdtempSync(join(tmpdir(), 'latchkey-chromium-'))
    const ctx = await playwright.chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      timeout: 60_000,
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    })
    opened.push({ ctx, profile })
    return ctx
  }
  afterAll(async () => {
    for (const { ctx, profile } of opened) {
      await ctx.close()
      rmSync(profile, { recursive: true, force: true })
    }
  })

  async function openPage(ctx: PwContext, url: string): Promise<PwPage> {
    const page = await ctx.newPage()
    page.on('pageerror', (e) => pageErrors.push(e.toString()))
    await page.goto(url)
    const ready = `document.getElementById('status').textContent === 'ready'`
    await page.waitForFunction(ready, undefined, { timeout: 15_000 })
    return page
  }

  /** Wait until output #id holds a final answer (not empty, not '…'), and return it. */
  async function resultOf(page: PwPage, id: string, timeout = 15_000): Promise<string> {
    await page
      .waitForFunction(
        `(() => { const t = document.getElementById('${id}').textContent; return t !== '' && t !== '…' })()`,
        undefined,
        { timeout },
      )
      .catch(async (e: unknown) => {
        const now = JSON.stringify(await page.textContent(`#${id}`))
        const status = JSON.stringify(await page.textContent('#status'))
        throw new Error(`#${id} stayed ${now}; status: ${status}`, { cause: e })
      })
    return (await page.textContent(`#${id}`)) ?? ''
  }

  const file = (name: string, buffer: Buffer) => ({
    name,
    mimeType: 'application/octet-stream',
    buffer,
  })

  it('uploads a file cross-origin into uploads/<user>/ and is refused outside it', async () => {
    expect(new URL(app.url).port).not.toBe(String(server.port)) // two origins: real preflights
    const page = await openPage(await browser(), app.url)
    const bytes = randomBytes(300 * 1024)
    await page.fill('#user', 'alice')
    await page.setInputFiles('#file', file('holiday photo.bin', bytes))
    await page.click('#upload')
    expect(await resultOf(page, 'etag')).toBe(md5(bytes))
    expect(await page.textContent('#key')).toBe('uploads/alice/holiday photo.bin')
    // Verified with the master key: the right bytes under the user's prefix.
    const Key = 'uploads/alice/holiday photo.bin'
    expect((await bytesOf(s3, 'browser-uploads', Key)).equals(bytes)).toBe(true)
    const head = await s3.send(new HeadObjectCommand({ Bucket: 'browser-uploads', Key }))
    expect(head.ContentType).toBe('application/octet-stream')

    await page.click('#outside')
    expect(await resultOf(page, 'outside-result')).toMatch(/^403 AccessDenied/)
    const outsideHead = s3.send(
      new HeadObjectCommand({ Bucket: 'browser-uploads', Key: 'holiday photo.bin' }),
    )
    expect(await errorName(outsideHead)).toBe('NotFound')
    expect(pageErrors).toEqual([])
  })

  // The user clicks "outside" (refused before Latchkey reads the 300 KB body), then uploads again.
  // Chromium reuses the keep-alive connection, so the server must have drained the refused body.
  it('uploads again on the same connection after a refused large upload', async () => {
    const page = await openPage(await browser(), app.url)
    await page.fill('#user', 'bob')
    await page.setInputFiles('#file', file('big.bin', randomBytes(300 * 1024)))
    await page.click('#outside')
    expect(await resultOf(page, 'outside-result')).toMatch(/^403 AccessDenied/)
    const next = randomBytes(1024)
    await page.setInputFiles('#file', file('next.bin', next))
    await page.click('#upload')
    expect(await resultOf(page, 'etag', 8_000)).toBe(md5(next))
    expect((await bytesOf(s3, 'browser-uploads', 'uploads/bob/next.bin')).equals(next)).toBe(true)
  })

  it('without a CORS rule for the page origin the browser blocks the upload (negative control)', async () => {
    await s3.send(new CreateBucketCommand({ Bucket: 'browser-no-cors' }))
    const other = await startApp(server, 'browser-no-cors')
    try {
      const page = await openPage(await browser(), other.url)
      await page.setInputFiles('#file', file('x.bin', randomBytes(64)))
      await page.click('#upload')
      expect(await resultOf(page, 'etag')).toMatch(/^error: .*fetch/i)
      // The preflight was refused, so the PUT itself was never sent.
      const head = s3.send(
        new HeadObjectCommand({ Bucket: 'browser-no-cors', Key: 'uploads/alice/x.bin' }),
      )
      expect(await errorName(head)).toBe('NotFound')
    } finally {
      await other.stop()
    }
  })
})
