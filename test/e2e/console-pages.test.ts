/**
 * Every console page in a real browser, as a role that may use it and as one that may not:
 * root sees and uses each page (each checked with axe-core: no serious or critical violation;
 * screenshots written to docs/screenshots/); a Reader's menu hides what `me.can` denies and the
 * API refuses it anyway; user-supplied text (object keys, user names, emails) is rendered as
 * text, never markup; validation errors in the JSON editors carry their line and column.
 * One browser for the file, contexts created with bypassCSP only so that axe can be injected.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import type { Browser, Page } from 'playwright-core'
import { AssumeRoleCommand, type Credentials as StsCredentials } from '@aws-sdk/client-sts'
import {
  GetBucketCorsCommand,
  HeadObjectCommand,
  GetBucketPolicyCommand,
  ListBucketsCommand,
  PutObjectCommand,
  CreateBucketCommand,
} from '@aws-sdk/client-s3'
import { outcome, startServer, type TestServer } from './harness.js'
import { adminLogin, userWithKey, type AdminClient } from './admin-client.js'
import {
  axeSerious,
  launch,
  nav,
  openConsole,
  screenshot,
  signIn,
  type ConsolePage,
  HAS_CHROMIUM,
} from './console-browser.js'

const XSS_KEY = '<img src=x onerror="globalThis.__xss=1">.txt'

describe.skipIf(!HAS_CHROMIUM)('web console: every page, who may use it, accessibility', () => {
  let server: TestServer
  let browser: Browser
  let admin: AdminClient
  let root: ConsolePage
  let reader: { id: string; accessKeyId: string; secretAccessKey: string }
  let writer: { id: string; accessKeyId: string; secretAccessKey: string }

  beforeAll(async () => {
    ;[server, browser] = await Promise.all([startServer(), launch()])
    admin = await adminLogin(server)
    reader = await userWithKey(admin, 'reader', 'Reader')
    writer = await userWithKey(admin, 'writer', 'Writer')
    // Enough users for a second page (the console pages by 20), one with markup in its email.
    for (let i = 0; i < 20; i++) {
      const r = await admin.call('POST', '/api/admin/users', {
        username: `member${String(i).padStart(2, '0')}`,
        password: 'member-password-1',
        role: 'Reader',
        ...(i === 0 ? { email: 'x<b>bold</b>@example.com' } : {}),
      })
      expect(r.status).toBe(201)
    }
    expect(
      (await admin.call('POST', '/api/admin/customers', { name: 'acme', type: 'customer' })).status,
    ).toBe(201)
    await server.s3().send(new CreateBucketCommand({ Bucket: 'docs' }))
    await server.s3().send(
      new PutObjectCommand({
        Bucket: 'docs',
        Key: 'a/b/deep.txt',
        Body: 'deep',
        Tagging: 'team=blue',
        Metadata: { origin: 'camera' },
      }),
    )
    await server.s3().send(new PutObjectCommand({ Bucket: 'docs', Key: XSS_KEY, Body: 'x' }))
    root = await openConsole(browser, server, { bypassCSP: true })
    root.page.on('dialog', (d) => {
      root.problems.push(`dialog: ${d.message()}`)
      void d.dismiss()
    })
  })
  afterEach(async (ctx) => {
    // On failure, say what the page said (its alerts), not only which wait timed out.
    if (ctx.task.result?.state === 'fail' && root !== undefined)
      console.error(
        'page alerts:',
        await root.page.getByRole('alert').allTextContents(),
        (await root.page.locator('main').textContent())?.slice(0, 600),
      )
  })
  afterAll(async () => {
    await browser?.close()
    await server?.stop()
  })

  async function page(path: string, heading: string): Promise<Page> {
    const p = root.page
    await p.goto(`/console${path}`)
    await p.getByRole('heading', { level: 1, name: heading }).waitFor()
    return p
  }

  async function accessible(p: Page, shot?: string): Promise<void> {
    expect(await axeSerious(p)).toEqual([])
    if (shot !== undefined) await screenshot(p, shot)
  }

  it('Sign in page: accessible', async () => {
    await root.page.goto('/console/')
    await root.page.getByRole('button', { name: 'Sign in' }).waitFor()
    await accessible(root.page)
    await signIn(root.page, 'root', server.rootPassword)
  })

  it('Buckets and the bucket browser: folders, object keys as text, metadata', async () => {
    let p = await page('/buckets', 'Buckets')
    await accessible(p)
    await p.getByLabel('New bucket name').fill('short-lived')
    await p.getByRole('button', { name: 'Create bucket' }).click()
    const row = p.getByRole('row').filter({ hasText: 'short-lived' })
    await row.getByRole('button', { name: 'Delete' }).click()
    await row.getByRole('button', { name: 'Yes, delete' }).click()
    await row.waitFor({ state: 'detached' })
    const names = (await server.s3().send(new ListBucketsCommand({}))).Buckets?.map((b) => b.Name)
    expect(names).not.toContain('short-lived')
    p = await page('/access-keys', 'Access keys')
    await accessible(p, 'access-keys')
    p = await page('/buckets/docs', 'Bucket docs')
    await p.getByRole('link', { name: '📁 a/' }).click()
    await p.getByRole('link', { name: '📁 b/' }).click()
    await p.getByRole('cell', { name: 'deep.txt', exact: true }).waitFor()
    await p.getByRole('button', { name: 'Details of deep.txt' }).click()
    await p.getByText('content-length').waitFor()
    const details = p.getByRole('region', { name: 'Details of a/b/deep.txt' })
    await details.getByText('x-amz-meta-origin').waitFor()
    expect(await details.textContent()).toContain('camera')
    expect(await details.getByRole('term').allTextContents()).toContain('team')
    expect(await details.getByRole('definition').allTextContents()).toContain('blue')
    await accessible(p)
    await p.getByRole('navigation', { name: 'Folder' }).getByRole('link', { name: 'docs' }).click()
    // A name with characters SigV4 encodes specially uploads, lists and deletes.
    const odd = "a (1) 'x'+y!*~ é.txt"
    await p.getByLabel('Choose files to upload').setInputFiles({
      name: odd,
      mimeType: 'text/plain',
      buffer: Buffer.from('odd'),
    })
    const oddRow = p
      .getByRole('row')
      .filter({ has: p.getByRole('cell', { name: odd, exact: true }) })
    await oddRow.waitFor()
    const head = await server.s3().send(new HeadObjectCommand({ Bucket: 'docs', Key: odd }))
    expect(head.ContentLength).toBe(3)
    await oddRow.getByRole('button', { name: 'Delete' }).click()
    await oddRow.getByRole('button', { name: 'Yes, delete' }).click()
    await oddRow.waitFor({ state: 'detached' })
    // An object key with markup is shown literally and runs nothing.
    await p.getByRole('cell', { name: XSS_KEY, exact: true }).waitFor()
    expect(await p.evaluate('globalThis.__xss')).toBeUndefined()
    expect(await p.locator('main img').count()).toBe(0)
  })

  it('Bucket policy editor: JSON errors inline with line and column, server checks, saves', async () => {
    const p = await page('/buckets/docs', 'Bucket docs')
    await p.getByRole('button', { name: 'Bucket policy' }).click()
    const editor = p.getByLabel('Bucket policy (JSON)')
    await editor.fill('{\n  "Version": "2012-10-17",\n  "Statement": [ }\n}')
    await p.getByRole('button', { name: 'Validate and save policy' }).click()
    await p.getByText(/^Line 3, column \d+:/).waitFor()
    await editor.fill(
      JSON.stringify({
        Version: '2012-10-17',
        Statement: [
          {
            Effect: 'Perhaps',
            Principal: '*',
            Action: 's3:GetObject',
            Resource: 'arn:aws:s3:::docs/*',
          },
        ],
      }),
    )
    await p.getByRole('button', { name: 'Validate and save policy' }).click()
    // Refused before saving: by the validation route (inline) or by S3 itself (an alert).
    await p
      .locator('.problems, .error')
      .getByText(/Effect/)
      .first()
      .waitFor()
    const good = {
      Version: '2012-10-17',
      Statement: [
        {
          Sid: 'Pub',
          Effect: 'Allow',
          Principal: '*',
          Action: 's3:GetObject',
          Resource: 'arn:aws:s3:::docs/public/*',
        },
      ],
    }
    await editor.fill(JSON.stringify(good, null, 2))
    await p.getByRole('button', { name: 'Validate and save policy' }).click()
    await p.getByText('Bucket policy saved.').waitFor()
    await accessible(p, 'bucket-policy')
    const saved = await server.s3().send(new GetBucketPolicyCommand({ Bucket: 'docs' }))
    expect(JSON.parse(saved.Policy ?? '')).toMatchObject({ Statement: [{ Sid: 'Pub' }] })
  })

  it('CORS editor: shape errors named, saved rules readable with the SDK', async () => {
    const p = await page('/buckets/docs', 'Bucket docs')
    await p.getByRole('button', { name: 'CORS' }).click()
    const editor = p.getByLabel('CORS rules (JSON)')
    await editor.fill(
      '{"CORSRules": [{"AllowedOrigins": ["https://a.example"], "AllowedMethods": ["FETCH"]}]}',
    )
    await p.getByRole('button', { name: 'Validate and save CORS' }).click()
    await p.getByText(/FETCH is not GET, PUT, POST, DELETE or HEAD/).waitFor()
    await editor.fill(
      JSON.stringify({
        CORSRules: [
          {
            AllowedOrigins: ['https://a.example'],
            AllowedMethods: ['GET', 'PUT'],
            MaxAgeSeconds: 60,
          },
        ],
      }),
    )
    await p.getByRole('button', { name: 'Validate and save CORS' }).click()
    await p.getByText('CORS rules saved.').waitFor()
    await accessible(p)
    const cors = await server.s3().send(new GetBucketCorsCommand({ Bucket: 'docs' }))
    expect(cors.CORSRules?.[0]).toMatchObject({
      AllowedOrigins: ['https://a.example'],
      AllowedMethods: ['GET', 'PUT'],
    })
  })

  it('Users: server-side search and paging, user names and emails as text', async () => {
    const p = await page('/users', 'Users')
    await p.getByText(/^Users 1–20 of 22$/).waitFor()
    await accessible(p, 'users')
    await p.getByRole('button', { name: 'Next page' }).click()
    await p.getByText(/^Users 21–22 of 22$/).waitFor()
    await p.getByLabel('Search users').fill('writer')
    await p.getByRole('button', { name: 'Search' }).click()
    await p.getByText(/^Users 1–1 of 1$/).waitFor()
    await p.getByRole('link', { name: 'writer', exact: true }).click()
    await p.getByRole('heading', { level: 1, name: 'User writer' }).waitFor()
    await p.goto('/console/users?')
    await p.getByLabel('Search users').fill('bold')
    await p.getByRole('button', { name: 'Search' }).click()
    await p.getByText(/^Users 1–1 of 1$/).waitFor()
    await p.getByRole('link', { name: 'member00' }).click()
    await p.getByText('x<b>bold</b>@example.com').waitFor()
    expect(await p.locator('main b').count()).toBe(0)
    // The operator narrows the list to one customer (server-side `customer=`).
    await p.goto('/console/users')
    await p.getByLabel('Only customer').fill('acme')
    await p.getByRole('button', { name: 'Search' }).click()
    await p.getByText('No users found.').waitFor()
    await p.getByLabel('Only customer').fill('default')
    await p.getByRole('button', { name: 'Search' }).click()
    await p.getByText(/^Users 1–20 of 2\d$/).waitFor()
  })

  it('User page: role, deactivate/activate, TOTP QR, extra policy, replace and revoke key', async () => {
    const p = await page(`/users/${encodeURIComponent(writer.id)}`, 'User writer')
    await p.getByRole('combobox', { name: 'Role' }).selectOption('SuperUser')
    await p.getByRole('button', { name: 'Change role' }).click()
    await p.getByText('Role changed to SuperUser.').waitFor()
    await p.getByRole('combobox', { name: 'Role' }).selectOption('Writer')
    await p.getByRole('button', { name: 'Change role' }).click()
    await p.getByText('Role changed to Writer.').waitFor()
    await p.getByRole('button', { name: 'Deactivate' }).click()
    await p.getByRole('button', { name: 'Yes, deactivate' }).click()
    await p.getByText('User deactivated.').waitFor()
    const s3 = server.s3({
      accessKeyId: writer.accessKeyId,
      secretAccessKey: writer.secretAccessKey,
    })
    expect(await outcome(s3.send(new ListBucketsCommand({})))).not.toBe('OK')
    await p.getByRole('button', { name: 'Activate' }).click()
    await p.getByText('User activated.').waitFor()
    expect(await outcome(s3.send(new ListBucketsCommand({})))).toBe('OK')
    // TOTP: a QR code image made in the page (no network), shown once.
    await p.getByRole('button', { name: 'Enrol TOTP' }).click()
    const qr = p.getByRole('img', { name: /QR code/ })
    await qr.waitFor()
    expect(await qr.getAttribute('src')).toMatch(/^data:image\/svg\+xml/)
    expect(await p.getByLabel('TOTP secret').inputValue()).toMatch(/^[A-Z2-7]{16,}$/)
    await accessible(p, 'user')
    await p.getByRole('button', { name: 'Done' }).click()
    // Extra policy: syntax error with its position, then saved.
    const editor = p.getByLabel('Extra policy (JSON)')
    await editor.fill(
      '{\n  "Version": "2012-10-17",\n  "Statement": [\n    {"Effect": "Allow",}\n  ]\n}',
    )
    await p.getByRole('button', { name: 'Validate and save policy' }).click()
    await p.getByText(/^Line 4, column \d+:/).waitFor()
    await editor.fill(
      JSON.stringify({
        Version: '2012-10-17',
        Statement: [{ Effect: 'Deny', Action: 's3:DeleteBucket', Resource: '*' }],
      }),
    )
    await p.getByRole('button', { name: 'Validate and save policy' }).click()
    await p.getByText('Policy saved.').waitFor()
    expect((await admin.call('GET', `/api/admin/users/${writer.id}/policy`)).status).toBe(200)
    // Replace: the old key dies; the new secret is shown once.
    await p.getByRole('button', { name: 'Replace key' }).click()
    await p.getByRole('button', { name: 'Yes, replace key' }).click()
    const newKey = await p.getByLabel('Access key ID', { exact: true }).inputValue()
    const newSecret = await p.getByLabel('Secret access key', { exact: true }).inputValue()
    await p.getByRole('button', { name: 'Done' }).click()
    expect(await outcome(s3.send(new ListBucketsCommand({})))).not.toBe('OK')
    const s3new = server.s3({ accessKeyId: newKey, secretAccessKey: newSecret })
    expect(await outcome(s3new.send(new ListBucketsCommand({})))).toBe('OK')
    await p.getByRole('button', { name: 'Revoke key' }).click()
    await p.getByRole('button', { name: 'Yes, revoke key' }).click()
    await p.getByRole('button', { name: 'Generate key' }).waitFor()
    expect(await outcome(s3new.send(new ListBucketsCommand({})))).not.toBe('OK')
  })

  it('Users: delete a user after confirming', async () => {
    const doomed = await admin.call('POST', '/api/admin/users', {
      username: 'doomed',
      password: 'doomed-password-1',
      role: 'Reader',
    })
    const p = await page(`/users/${encodeURIComponent(doomed.json.id)}`, 'User doomed')
    await p.getByRole('button', { name: 'Delete user' }).click()
    await p.getByRole('button', { name: 'Yes, delete user' }).click()
    await p.getByRole('heading', { level: 1, name: 'Users' }).waitFor()
    expect((await admin.call('GET', `/api/admin/users/${doomed.json.id}`)).status).toBe(404)
  })

  it('Sessions: lists a session with its source, revokes one and all of a parent', async () => {
    const sts = server.sts({
      accessKeyId: reader.accessKeyId,
      secretAccessKey: reader.secretAccessKey,
    })
    const mint = async (name: string): Promise<StsCredentials> =>
      (
        await sts.send(
          new AssumeRoleCommand({ RoleArn: 'arn:xxx:xxx:xxx:xxxx', RoleSessionName: name }),
        )
      ).Credentials!
    const one = await mint('first-app')
    const two = await mint('second-app')
    const asSession = (c: StsCredentials) =>
      server.s3({
        accessKeyId: c.AccessKeyId!,
        secretAccessKey: c.SecretAccessKey!,
        sessionToken: c.SessionToken!,
      })
    expect(await outcome(asSession(one).send(new ListBucketsCommand({})))).toBe('OK')
    const p = await page('/sessions', 'Sessions')
    const row = p.getByRole('row').filter({ hasText: 'first-app' })
    await row.waitFor()
    expect(await row.textContent()).toContain('AssumeRole')
    // The console's own session is listed (source console) and marked as this one.
    await p
      .getByRole('row')
      .filter({ hasText: '(this console)' })
      .filter({ hasText: 'console-root' })
      .waitFor()
    await accessible(p, 'sessions')
    await row.getByRole('button', { name: 'Revoke', exact: true }).click()
    await row.getByRole('button', { name: 'Yes, revoke' }).click()
    await p.getByText(`Revoked ${one.AccessKeyId}.`).waitFor()
    expect(await outcome(asSession(one).send(new ListBucketsCommand({})))).not.toBe('OK')
    expect(await outcome(asSession(two).send(new ListBucketsCommand({})))).toBe('OK')
    const row2 = p.getByRole('row').filter({ hasText: 'second-app' })
    await row2.getByRole('button', { name: 'Revoke all of parent' }).click()
    await row2.getByRole('button', { name: 'Yes, revoke all of parent' }).click()
    await p.getByText(/^Revoked 1 session of reader/).waitFor()
    expect(await outcome(asSession(two).send(new ListBucketsCommand({})))).not.toBe('OK')
  })

  it('Credential builder: presets, duration limit, caps as session tags', async () => {
    const p = await page('/builder', 'Credential builder')
    await p.getByRole('combobox', { name: 'Bucket' }).selectOption('docs')
    await p.getByLabel('Prefix').fill('in/')
    await p.getByLabel('What may be done').selectOption('read')
    const policy = JSON.parse((await p.getByLabel('Session policy').textContent()) ?? '')
    expect(policy.Statement[0]).toEqual({
      Effect: 'Allow',
      Action: ['s3:GetObject'],
      Resource: ['arn:aws:s3:::docs/in/*'],
    })
    expect(policy.Statement[1].Condition).toEqual({ StringLike: { 's3:prefix': ['in/*'] } })
    await p.getByLabel('What may be done').selectOption('custom')
    await p.getByLabel('Actions', { exact: true }).fill('s3:GetObject, s3:GetObjectTagging')
    expect(JSON.parse((await p.getByLabel('Session policy').textContent()) ?? '')).toEqual({
      Version: '2012-10-17',
      Statement: [
        {
          Effect: 'Allow',
          Action: ['s3:GetObject', 's3:GetObjectTagging'],
          Resource: ['arn:aws:s3:::docs', 'arn:aws:s3:::docs/in/*'],
        },
      ],
    })
    await p.getByLabel('Duration (seconds)').fill('99999999')
    await p.getByRole('button', { name: 'Create credentials' }).click()
    await p.getByText(/Duration must be a whole number of seconds from 900 to 43200/).waitFor()
    await p.getByLabel('Duration (seconds)').fill('900')
    await p.getByLabel('Max bytes').fill('1048576')
    await p.getByLabel('Content types').fill('image/png')
    await p.getByRole('button', { name: 'Create credentials' }).click()
    await p.getByLabel('Session token', { exact: true }).waitFor()
    await accessible(p)
  })

  it('Policies: the simulator decides with reasons; the editor validates with positions', async () => {
    const p = await page('/policies', 'Policies')
    await p.getByRole('button', { name: 'Simulate' }).click()
    await p.getByRole('status').filter({ hasText: 'Allow' }).waitFor()
    await p.getByLabel('Action').fill('s3:DeleteObject')
    await p.getByRole('button', { name: 'Simulate' }).click()
    await p.getByRole('status').filter({ hasText: 'Implicit deny' }).waitFor()
    await accessible(p, 'policies')
    const editor = p.getByLabel('Policy to check (JSON)')
    await editor.fill(
      '{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:GetObject"}]}',
    )
    await p.getByRole('button', { name: 'Validate policy' }).click()
    await p.locator('.problems li').first().waitFor()
    await editor.fill('{\n\n  "Version": 2012-10-17\n}')
    await p.getByRole('button', { name: 'Validate policy' }).click()
    await p.getByText(/^Line 3, column \d+:/).waitFor()
  })

  it('Customers: create one, edit its allow-list, open its master key page', async () => {
    const p = await page('/customers', 'Customers')
    await p.getByLabel('Customer name').fill('beta')
    await p.getByRole('button', { name: 'Create customer' }).click()
    await p.getByRole('cell', { name: 'beta', exact: true }).waitFor()
    await accessible(p, 'customers')
    await p.getByRole('button', { name: 'Edit allow-list of beta' }).click()
    await p.getByLabel(/Allowed addresses/).fill('10.0.0.0/8\n192.168.1.0/24')
    await p.getByRole('button', { name: 'Save allow-list' }).click()
    await p.getByText('Allow-list of beta saved.').waitFor()
    expect((await admin.call('GET', '/api/admin/customers/beta/allowlist')).json).toEqual({
      cidrs: ['10.0.0.0/8', '192.168.1.0/24'],
    })
    await p.getByRole('link', { name: 'Master key of acme' }).click()
    await p.getByRole('heading', { level: 1, name: 'Master key' }).waitFor()
    const key = (await admin.call('GET', '/api/admin/customers/acme/master-key')).json.access_key
    expect(await p.getByLabel('API Key', { exact: true }).inputValue()).toBe(key)
    await accessible(p)
  })

  it('Master key: reset asks first, shows the new secret once and the sessions revoked', async () => {
    const p = await page('/customers/acme/master-key', 'Master key')
    await p.getByRole('button', { name: 'Reset secret' }).click()
    await p.getByRole('button', { name: 'Yes, reset secret' }).click()
    const secret = await p.getByLabel('API Secret', { exact: true }).inputValue()
    await p.getByText(/sessions? made with it (was|were) revoked/).waitFor()
    await accessible(p)
    const key = await p.getByLabel('API Key', { exact: true }).first().inputValue()
    const s3 = server.s3({ accessKeyId: key, secretAccessKey: secret })
    expect(await outcome(s3.send(new ListBucketsCommand({})))).toBe('OK')
  })

  it('Audit: the reveal of a master key is in the trail, filterable', async () => {
    let p = await page('/access-keys/master-key', 'Master key')
    await p.getByLabel('Your password').fill(server.rootPassword)
    await p.getByRole('button', { name: 'Reveal secret' }).click()
    await p.getByRole('button', { name: 'Hide secret' }).click()
    p = await page('/audit', 'Audit')
    await p.getByLabel('Action').fill('admin:RevealMasterKey')
    await p.getByRole('button', { name: 'Filter' }).click()
    await p.getByRole('cell', { name: 'admin:RevealMasterKey' }).first().waitFor()
    await accessible(p, 'audit')
  })

  it('Account: accessible; the operator is told where its password is changed', async () => {
    const p = await page('/account', 'Account')
    await p.getByText('latchkey admin reset-root-password').first().waitFor()
    expect(await p.getByLabel('Current password').count()).toBe(0)
    await accessible(p, 'account')
    expect(root.problems).toEqual([])
  })

  it('a Reader changes its own password and enrols TOTP on the Account page', async () => {
    const w = await openConsole(browser, server)
    const p = w.page
    await signIn(p, 'member01', 'member-password-1')
    await nav(p, 'Account')
    await p.getByLabel('Current password').fill('member-password-1')
    await p.getByLabel('New password', { exact: true }).fill('member-password-2')
    await p.getByLabel('New password again').fill('member-password-2')
    await p.getByRole('button', { name: 'Change password' }).click()
    await p.getByText('Password changed.').waitFor()
    await p.getByLabel('Password', { exact: true }).fill('member-password-2')
    await p.getByRole('button', { name: 'Enrol TOTP' }).click()
    await p.getByRole('img', { name: /QR code/ }).waitFor()
    expect(w.problems).toEqual([])
    await w.context.close()
  })

  it('a Reader: the menu hides what it may not do, and the API refuses it anyway', async () => {
    const r = await openConsole(browser, server, { bypassCSP: true })
    const p = r.page
    await signIn(p, 'reader', 'reader-password-1')
    const menu = p.getByRole('navigation', { name: 'Main' })
    const labels = (await menu.getByRole('link').allTextContents()).map((s) => s.trim())
    expect(labels).toContain('Buckets')
    expect(labels).toContain('Credential builder')
    expect(labels).toContain('Account')
    for (const hidden of ['Users', 'Sessions', 'Policies', 'Customers', 'Audit', 'Master key'])
      expect(labels).not.toContain(hidden)
    await accessible(p)
    // The API says no with the reader's own console session.
    const status = (path: string) =>
      p.evaluate(`fetch(${JSON.stringify(path)}).then(r => r.status)`) as Promise<number>
    expect(await status('/api/admin/users')).toBe(403)
    expect(await status('/api/admin/customers/default/master-key')).toBe(403)
    expect(await status('/api/admin/sessions')).toBe(403)
    expect(await status('/api/admin/audit')).toBe(403)
    for (const path of ['/console/sessions', '/console/audit']) {
      await p.goto(path)
      await p.getByRole('alert').waitFor()
    }
    // And a page reached by URL shows the refusal plainly.
    await p.goto('/console/users')
    await p
      .getByRole('alert')
      .filter({ hasText: /denied|not allowed|forbidden/i })
      .waitFor()
    await p.goto('/console/access-keys/master-key')
    await p.getByRole('alert').waitFor()
    expect(await p.getByLabel('API Key', { exact: true }).count()).toBe(0)
    // The builder mints for the Reader itself, never beyond its rights: an upload-only
    // credential of a Reader still cannot upload.
    await nav(p, 'Credential builder')
    await p.getByRole('combobox', { name: 'Bucket' }).selectOption('docs')
    await p.getByRole('button', { name: 'Create credentials' }).click()
    const creds = {
      accessKeyId: await p.getByLabel('Access key ID', { exact: true }).inputValue(),
      secretAccessKey: await p.getByLabel('Secret access key', { exact: true }).inputValue(),
      sessionToken: await p.getByLabel('Session token', { exact: true }).inputValue(),
    }
    await p.getByLabel('Try it: upload a file with these credentials').setInputFiles({
      name: 'nope.txt',
      mimeType: 'text/plain',
      buffer: Buffer.from('nope'),
    })
    await p.getByRole('alert').filter({ hasText: 'AccessDenied' }).waitFor()
    expect(
      await outcome(
        server
          .s3(creds)
          .send(new PutObjectCommand({ Bucket: 'docs', Key: 'uploads/nope.txt', Body: 'x' })),
      ),
    ).toBe('AccessDenied')
    // A state-changing call without the CSRF header is refused.
    const csrf = (await p.evaluate(
      'fetch("/api/admin/me/credentials", { method: "POST", headers: { "content-type": "application/json" }, body: "{}" }).then(r => r.status)',
    )) as number
    expect(csrf).toBe(403)
    expect(r.problems).toEqual([])
    await r.context.close()
  })
  it("a SuperUser sees its account's pages but not Customers (not a reseller), refused there too", async () => {
    await userWithKey(admin, 'boss', 'SuperUser')
    const r = await openConsole(browser, server)
    const p = r.page
    await signIn(p, 'boss', 'boss-password-1')
    const labels = (
      await p.getByRole('navigation', { name: 'Main' }).getByRole('link').allTextContents()
    ).map((s) => s.trim())
    for (const shown of [
      'Buckets',
      'Access keys',
      'Master key',
      'Users',
      'Sessions',
      'Policies',
      'Audit',
    ])
      expect(labels).toContain(shown)
    expect(labels).not.toContain('Customers')
    // The API shows it no other customer either.
    const names = (await p.evaluate(
      'fetch("/api/admin/customers").then(r => r.json()).then(l => l.map(c => c.name))',
    )) as string[]
    expect(names).not.toContain('acme')
    await nav(p, 'Users')
    await p.getByText(/^Users 1–\d+ of \d+$/).waitFor()
    expect(r.problems).toEqual([])
    await r.context.close()
  })
  it("a reseller's SuperUser sees Customers, creates one under itself and opens its master key", async () => {
    expect(
      (await admin.call('POST', '/api/admin/customers', { name: 'resell', type: 'reseller' }))
        .status,
    ).toBe(201)
    await userWithKey(admin, 'agent', 'SuperUser', 'resell')
    const r = await openConsole(browser, server)
    const p = r.page
    await signIn(p, 'agent', 'agent-password-1', 'resell')
    await nav(p, 'Customers')
    await p.getByRole('heading', { level: 1, name: 'Customers' }).waitFor()
    await p.getByLabel('Customer name').fill('resell-client')
    await p.getByRole('button', { name: 'Create customer' }).click()
    await p.getByRole('cell', { name: 'resell-client', exact: true }).waitFor()
    // Only its own customers: none of root's.
    expect(await p.getByRole('cell', { name: 'acme', exact: true }).count()).toBe(0)
    await p.getByRole('link', { name: 'Master key of resell-client' }).click()
    await p.getByRole('heading', { level: 1, name: 'Master key' }).waitFor()
    const key = (await admin.call('GET', '/api/admin/customers/resell-client/master-key')).json
      .access_key
    expect(await p.getByLabel('API Key', { exact: true }).inputValue()).toBe(key)
    expect(r.problems).toEqual([])
    await r.context.close()
  })
})
