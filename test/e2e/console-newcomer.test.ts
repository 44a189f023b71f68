/**
 * The issue 11 acceptance as a newcomer does it, in a real browser (Chromium via playwright-core)
 * against a real server: open http://host/, sign in as root with the printed password, reach
 * the master key by Buckets → Access keys → Master key (reveal needs the password again; reset
 * shows the new secret once), create a bucket, create a user and generate its key, mint an
 * upload-only credential in the credential builder and upload a file with it, upload a
 * multipart file (> 8 MiB) by the bucket browser with a progress bar and read it back
 * byte-identical with the AWS SDK, then sign out — and nothing secret is left in Web Storage,
 * JS-visible cookies or IndexedDB, the console's S3 credentials die with the session, and no
 * CSP violation happened on the way.
 */
import { randomBytes } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Browser } from 'playwright-core'
import {
  GetObjectCommand,
  HeadObjectCommand,
  ListBucketsCommand,
  ListMultipartUploadsCommand,
  PutObjectCommand,
} from '@aws-sdk/client-s3'
import {
  outcome,
  ROOT_ACCESS_KEY,
  ROOT_SECRET_KEY,
  startServer,
  type TestServer,
} from './harness.js'
import {
  indexedDbNames,
  launch,
  nav,
  openConsole,
  persistedByJs,
  screenshot,
  signIn,
  type ConsolePage,
  HAS_CHROMIUM,
} from './console-browser.js'

describe.skipIf(!HAS_CHROMIUM)('web console: the newcomer flow (issue 11 acceptance)', () => {
  let server: TestServer
  let browser: Browser
  let c: ConsolePage
  const secrets: string[] = []

  beforeAll(async () => {
    ;[server, browser] = await Promise.all([startServer(), launch()])
    c = await openConsole(browser, server)
  })
  afterAll(async () => {
    await browser?.close()
    await server?.stop()
  })

  it('a browser opening / lands on the sign-in page under /console/', async () => {
    const { page } = c
    await page.goto('/')
    expect(new URL(page.url()).pathname).toBe('/console/')
    await page.getByRole('button', { name: 'Sign in' }).waitFor()
    await screenshot(page, 'sign-in')
  })

  it('a wrong password is shown plainly and signs nobody in', async () => {
    const { page } = c
    await page.getByLabel('Username').fill('root')
    await page.getByLabel('Password', { exact: true }).fill('wrong-password-1')
    await page.getByRole('button', { name: 'Sign in' }).click()
    await page.getByRole('alert').waitFor()
    expect(await page.getByRole('alert').textContent()).toMatch(/invalid|incorrect|wrong/i)
    expect(await page.getByRole('button', { name: 'Sign out' }).count()).toBe(0)
  })

  it('signs in as root and reaches the master key by Buckets → Access keys → Master key', async () => {
    const { page } = c
    await signIn(page, 'root', server.rootPassword)
    await nav(page, 'Buckets')
    await page.getByRole('heading', { name: 'Buckets' }).waitFor()
    await nav(page, 'Access keys')
    await page.getByRole('heading', { name: 'Access keys' }).waitFor()
    await nav(page, 'Master key')
    await page.getByRole('heading', { name: 'Master key' }).waitFor()
    expect(await page.getByLabel('API Key', { exact: true }).inputValue()).toBe(ROOT_ACCESS_KEY)
    expect(await page.getByRole('button', { name: 'Copy API Key' }).count()).toBe(1)
    // The secret is not in the page until the password is entered again.
    expect(await page.content()).not.toContain(ROOT_SECRET_KEY)
    await page.getByLabel('Your password').fill('not-my-password')
    await page.getByRole('button', { name: 'Reveal secret' }).click()
    await page.getByRole('alert').waitFor()
    expect(await page.content()).not.toContain(ROOT_SECRET_KEY)
    await page.getByLabel('Your password').fill(server.rootPassword)
    await page.getByRole('button', { name: 'Reveal secret' }).click()
    expect(await page.getByLabel('API Secret', { exact: true }).inputValue()).toBe(ROOT_SECRET_KEY)
    await screenshot(page, 'master-key')
    await page.getByRole('button', { name: 'Hide secret' }).click()
    secrets.push(ROOT_SECRET_KEY)
  })

  it('creates a bucket', async () => {
    const { page } = c
    await nav(page, 'Buckets')
    await page.getByLabel('New bucket name').fill('photos')
    await page.getByRole('button', { name: 'Create bucket' }).click()
    await page.getByRole('link', { name: 'photos', exact: true }).waitFor()
    await screenshot(page, 'buckets')
    const names = (await server.s3().send(new ListBucketsCommand({}))).Buckets?.map((b) => b.Name)
    expect(names).toContain('photos')
  })

  let alice: { id: string; secret: string; key: string }
  it('creates a user and generates its key (secret shown once, .csv download)', async () => {
    const { page } = c
    await nav(page, 'Users')
    await page.getByLabel('New username').fill('alice')
    await page.getByLabel("New user's password").fill('alice-password-123')
    await page.getByLabel('Role').selectOption('Writer')
    await page.getByLabel('Email').fill('alice@example.com')
    await page.getByRole('button', { name: 'Create user' }).click()
    await page.getByRole('heading', { name: 'User alice' }).waitFor()
    const id = decodeURIComponent(new URL(page.url()).pathname.split('/').pop() ?? '')
    await page.getByRole('button', { name: 'Generate key' }).click()
    const key = await page.getByLabel('Access key ID', { exact: true }).inputValue()
    const secret = await page.getByLabel('Secret access key', { exact: true }).inputValue()
    expect(key).toMatch(/^[A-Za-z0-9]{16,}$/)
    expect(await page.getByLabel('Environment').inputValue()).toContain(
      `export AWS_SECRET_ACCESS_KEY=${secret}`,
    )
    expect(await page.getByLabel('aws credentials profile').inputValue()).toContain(
      `aws_access_key_id = ${key}`,
    )
    const download = page.waitForEvent('download')
    await page.getByRole('button', { name: 'Download .csv' }).click()
    const d = await download
    expect(d.suggestedFilename()).toBe('alice_accessKeys.csv')
    await screenshot(page, 'user-key')
    await page.getByRole('button', { name: 'Done' }).click()
    // Shown once: gone from the page after Done, and the key works.
    expect(await page.content()).not.toContain(secret)
    const s3 = server.s3({ accessKeyId: key, secretAccessKey: secret })
    expect(await outcome(s3.send(new ListBucketsCommand({})))).toBe('OK')
    alice = { id, key, secret }
    secrets.push(secret)
  })

  it('mints an upload-only credential in the builder and uploads a file with it', async () => {
    const { page } = c
    await nav(page, 'Credential builder')
    await page.getByRole('combobox', { name: 'Bucket' }).selectOption('photos')
    await page.getByLabel('Prefix').fill('uploads/')
    await page.getByLabel('What may be done').selectOption('upload')
    const shown = await page.getByLabel('Session policy').textContent()
    expect(JSON.parse(shown ?? '')).toEqual({
      Version: '2012-10-17',
      Statement: [
        {
          Effect: 'Allow',
          Action: ['s3:PutObject', 's3:AbortMultipartUpload'],
          Resource: ['arn:aws:s3:::photos/uploads/*'],
        },
      ],
    })
    await page.getByRole('button', { name: 'Create credentials' }).click()
    const creds = {
      accessKeyId: await page.getByLabel('Access key ID', { exact: true }).inputValue(),
      secretAccessKey: await page.getByLabel('Secret access key', { exact: true }).inputValue(),
      sessionToken: await page.getByLabel('Session token', { exact: true }).inputValue(),
    }
    secrets.push(creds.secretAccessKey, creds.sessionToken)
    // The ready code has this endpoint filled in.
    expect(await page.getByLabel('@aws-sdk/client-sts').inputValue()).toContain(server.endpoint)
    expect(await page.getByLabel('boto3').inputValue()).toContain(
      `endpoint_url="${server.endpoint}"`,
    )
    expect(await page.getByLabel('aws CLI environment').inputValue()).toContain(
      `AWS_SESSION_TOKEN=${creds.sessionToken}`,
    )
    await screenshot(page, 'credential-builder')
    // From the browser, straight to S3 with these credentials ("Try it").
    await page.getByLabel('Try it: upload a file with these credentials').setInputFiles({
      name: 'hello.txt',
      mimeType: 'text/plain',
      buffer: Buffer.from('hello from the builder'),
    })
    await page.getByText('Uploaded uploads/hello.txt to photos.').waitFor()
    // And from an app with the AWS SDK: upload allowed, read refused, other prefix refused.
    const s3 = server.s3(creds)
    expect(
      await outcome(
        s3.send(new PutObjectCommand({ Bucket: 'photos', Key: 'uploads/sdk.txt', Body: 'x' })),
      ),
    ).toBe('OK')
    expect(
      await outcome(s3.send(new GetObjectCommand({ Bucket: 'photos', Key: 'uploads/hello.txt' }))),
    ).toBe('AccessDenied')
    expect(
      await outcome(s3.send(new PutObjectCommand({ Bucket: 'photos', Key: 'other/x', Body: 'x' }))),
    ).toBe('AccessDenied')
    const head = await server
      .s3()
      .send(new HeadObjectCommand({ Bucket: 'photos', Key: 'uploads/hello.txt' }))
    expect(head.ContentLength).toBe('hello from the builder'.length)
  })

  it('uploads a 20 MiB file by multipart with a progress bar and reads it back byte-identical', async () => {
    const { page } = c
    await nav(page, 'Buckets')
    await page.getByRole('link', { name: 'photos', exact: true }).click()
    await page.getByRole('link', { name: '📁 uploads/' }).click()
    await page.getByRole('heading', { name: 'Bucket photos' }).waitFor()
    await page.getByText('hello.txt').waitFor()
    const big = randomBytes(20 * 1024 * 1024 + 12345)
    await page.evaluate(
      'globalThis.__progress = []; globalThis.__poll = setInterval(() => { for (const p of document.querySelectorAll("progress")) globalThis.__progress.push(p.value) }, 5)',
    )
    await page.getByLabel('Choose files to upload').setInputFiles({
      name: 'big.bin',
      mimeType: 'application/octet-stream',
      buffer: big,
    })
    await page.getByText('Uploaded', { exact: true }).waitFor({ timeout: 60_000 })
    const seen = (await page.evaluate(
      'clearInterval(globalThis.__poll), globalThis.__progress',
    )) as number[]
    expect(seen.some((v) => v > 0 && v < big.length)).toBe(true)
    expect(seen[seen.length - 1]).toBe(big.length)
    await screenshot(page, 'bucket-browser')
    const got = await server
      .s3()
      .send(new GetObjectCommand({ Bucket: 'photos', Key: 'uploads/big.bin' }))
    const bytes = Buffer.from(await got.Body!.transformToByteArray())
    expect(bytes.length).toBe(big.length)
    expect(bytes.equals(big)).toBe(true)
    // Multipart: the ETag of a completed multipart upload ends in -<parts>.
    expect(got.ETag).toMatch(/-3"$/)
  })

  it('cancels a multipart upload midway: no object, no parts left on the server', async () => {
    const { page } = c
    const big = randomBytes(40 * 1024 * 1024)
    await page.getByLabel('Choose files to upload').setInputFiles({
      name: 'cancelled.bin',
      mimeType: 'application/octet-stream',
      buffer: big,
    })
    // Cancel once the first part is through (progress moved), before the last one.
    const bar = page.getByRole('progressbar', { name: 'Upload progress of cancelled.bin' })
    await expect
      .poll(() => bar.evaluate((el) => (el as unknown as { value: number }).value), {
        interval: 5,
        timeout: 30_000,
      })
      .toBeGreaterThan(0)
    await page.getByRole('button', { name: 'Cancel upload of cancelled.bin' }).click()
    await page.getByText('Failed: Upload cancelled').waitFor()
    expect(
      await outcome(
        server.s3().send(new HeadObjectCommand({ Bucket: 'photos', Key: 'uploads/cancelled.bin' })),
      ),
    ).not.toBe('OK')
    await expect
      .poll(
        async () =>
          (await server.s3().send(new ListMultipartUploadsCommand({ Bucket: 'photos' }))).Uploads
            ?.length ?? 0,
      )
      .toBe(0)
  })

  it('uploads a file dropped on the drop zone', async () => {
    const { page } = c
    const dt = await page.evaluateHandle(
      '(() => { const d = new DataTransfer(); d.items.add(new File(["dropped bytes"], "dropped.txt", { type: "text/plain" })); return d })()',
    )
    await page.locator('.dropzone').dispatchEvent('drop', { dataTransfer: dt })
    await page.getByRole('cell', { name: 'dropped.txt', exact: true }).waitFor()
    const got = await server
      .s3()
      .send(new GetObjectCommand({ Bucket: 'photos', Key: 'uploads/dropped.txt' }))
    expect(await got.Body!.transformToString()).toBe('dropped bytes')
  })

  it('after a reload, downloads an object through a presigned URL and deletes it after confirming', async () => {
    const { page } = c
    // A reload on a deep link keeps the session (cookie) and refetches the S3 credentials.
    await page.reload()
    await page.getByRole('heading', { name: 'Bucket photos' }).waitFor()
    await page.getByRole('cell', { name: 'dropped.txt', exact: true }).waitFor()
    const download = page.waitForEvent('download')
    await page.getByRole('button', { name: 'Download dropped.txt' }).click()
    const d = await download
    expect(d.suggestedFilename()).toBe('dropped.txt')
    expect(readFileSync((await d.path())!, 'utf8')).toBe('dropped bytes')
    const row = page.getByRole('row').filter({ hasText: 'dropped.txt' })
    await row.getByRole('button', { name: 'Delete' }).click()
    await row.getByRole('button', { name: 'Yes, delete' }).click()
    await row.waitFor({ state: 'detached' })
    expect(
      await outcome(
        server.s3().send(new HeadObjectCommand({ Bucket: 'photos', Key: 'uploads/dropped.txt' })),
      ),
    ).not.toBe('OK')
  })

  it('signs out: the console session and its S3 credentials die, nothing secret stays behind', async () => {
    const { page } = c
    const consoleCreds = (await page.evaluate(
      'fetch("/api/admin/console/credentials").then(r => r.json())',
    )) as { access_key: string; secret_key: string; session_token: string }
    const asConsole = server.s3({
      accessKeyId: consoleCreds.access_key,
      secretAccessKey: consoleCreds.secret_key,
      sessionToken: consoleCreds.session_token,
    })
    expect(await outcome(asConsole.send(new ListBucketsCommand({})))).toBe('OK')
    const stored = await persistedByJs(page)
    for (const s of [...secrets, consoleCreds.secret_key, consoleCreds.session_token])
      expect(stored).not.toContain(s)
    expect(JSON.parse(stored)).toEqual({ local: {}, session: {}, cookie: '' })
    expect(await indexedDbNames(page)).toEqual([])
    await page.getByRole('banner').getByRole('button', { name: 'Sign out' }).click()
    await page.getByRole('button', { name: 'Sign in' }).waitFor()
    expect(await outcome(asConsole.send(new ListBucketsCommand({})))).not.toBe('OK')
    const after = (await page.evaluate(
      'fetch("/api/admin/console/session").then(r => r.status)',
    )) as number
    expect(after).toBe(401)
    expect(c.problems).toEqual([])
    void alice
  })
})
