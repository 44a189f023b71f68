/**
 * The change feed is the only invalidation path. One running app (the real composition: SQLite
 * bundle, IAM service, S3 pipeline, listener) is driven by the AWS SDK and plain fetch; its stores
 * are then changed behind its back, through the ports only (as another node or an offline tool
 * would), and the very next request must see each change: a key revoked, a user deactivated, a
 * bucket policy granted and withdrawn, CORS rules set. Nothing here calls the services, so a cache
 * that learned of changes any other way than `stores.changes` would answer from stale memory.
 *
 * The last case is the control: with the feed's deliveries withheld, the same store change is
 * NOT seen (the caches really serve from memory, so the cases above pass only through the feed).
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  GetObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  CreateBucketCommand,
} from '@aws-sdk/client-s3'
import { loadConfig } from '../config/config.js'
import { parseCorsXml, serializeCorsConfig } from '../s3/cors.js'
import { silentLogger } from '../lib/logger.js'
import type { Change, ChangeFeed } from '../storage/change-feed.js'
import { startApp, type RunningApp } from './compose.js'

const ROOT_KEY = 'LKIAFEEDTESTKEY00001'
const ROOT_SECRET = 'feedTestSecretKey/0123456789abcdefghijklm'
const ROOT_PASSWORD = 'operator-password-123'

let dir: string
let app: RunningApp
let root: S3Client

function client(accessKeyId: string, secretAccessKey: string): S3Client {
  return new S3Client({
    endpoint: app.url,
    region: 'us-east-1',
    forcePathStyle: true,
    credentials: { accessKeyId, secretAccessKey },
    maxAttempts: 1,
  })
}

async function status(p: Promise<unknown>): Promise<number> {
  try {
    await p
    return 200
  } catch (e) {
    return (e as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode ?? -1
  }
}

async function admin(method: string, path: string, token: string, body?: unknown) {
  const r = await fetch(`${app.url}${path}`, {
    method,
    headers: {
      authorization: `Bearer ${token}`,
      ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
    },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  })
  return { status: r.status, json: (await r.json()) as Record<string, string> }
}

/** A user with a key, made through the admin API (the normal way). */
async function userWithKey(name: string): Promise<{ id: string; s3: S3Client }> {
  const login = await fetch(`${app.url}/api/admin/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username: 'root', password: ROOT_PASSWORD }),
  })
  const { token } = (await login.json()) as { token: string }
  const u = await admin('POST', '/api/admin/users', token, {
    username: name,
    password: `${name}-password-1`,
    role: 'Writer',
  })
  expect(u.status).toBe(201)
  const k = await admin('POST', `/api/admin/users/${u.json['id']}/credentials`, token)
  expect(k.status).toBe(201)
  return { id: u.json['id']!, s3: client(k.json['access_key']!, k.json['secret_key']!) }
}

const PUBLIC_READ = JSON.stringify({
  Version: '2012-10-17',
  Statement: [
    { Effect: 'Allow', Principal: '*', Action: 's3:GetObject', Resource: 'arn:aws:s3:::feed/*' },
  ],
})

const anonymousGet = (key: string) => fetch(`${app.url}/feed/${key}`).then((r) => r.status)

const preflight = () =>
  fetch(`${app.url}/feed/obj`, {
    method: 'OPTIONS',
    headers: { origin: 'https://app.example', 'access-control-request-method': 'PUT' },
  })

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'lk-feed-'))
  const config = loadConfig(['--data-dir', dir, '--address', '127.0.0.1:0'], {
    LATCHKEY_ROOT_ACCESS_KEY: ROOT_KEY,
    LATCHKEY_ROOT_SECRET_KEY: ROOT_SECRET,
    LATCHKEY_ROOT_PASSWORD: ROOT_PASSWORD,
  })
  app = await startApp(config, silentLogger)
  root = client(ROOT_KEY, ROOT_SECRET)
  await root.send(new CreateBucketCommand({ Bucket: 'feed' }))
  await root.send(new PutObjectCommand({ Bucket: 'feed', Key: 'obj', Body: 'hello' }))
})

afterAll(async () => {
  await app?.close()
  rmSync(dir, { recursive: true, force: true })
})

describe('a change made through the stores reaches every cache on the very next request', () => {
  it('a revoked key is refused', async () => {
    const alice = await userWithKey('alice')
    // Warm every cache on the path: the key, the user, the bucket, the object record.
    expect(await status(alice.s3.send(new GetObjectCommand({ Bucket: 'feed', Key: 'obj' })))).toBe(
      200,
    )
    await app.stores.identity.replaceAccessKey(alice.id, undefined)
    expect(await status(alice.s3.send(new ListObjectsV2Command({ Bucket: 'feed' })))).toBe(403)
  })

  it('a deactivated user is refused', async () => {
    const bob = await userWithKey('bob')
    expect(await status(bob.s3.send(new ListObjectsV2Command({ Bucket: 'feed' })))).toBe(200)
    const row = await app.stores.identity.getUser(bob.id)
    expect(row?.isActive).toBe(true)
    await app.stores.identity.updateUser({ ...row!, isActive: false }, row!.version)
    expect(await status(bob.s3.send(new ListObjectsV2Command({ Bucket: 'feed' })))).toBe(403)
  })

  it('a bucket policy granted, then withdrawn', async () => {
    expect(await anonymousGet('obj')).toBe(403) // the "no policy" answer is now cached
    await app.stores.metadata.setBucketSubresource('feed', 'policy', PUBLIC_READ)
    expect(await anonymousGet('obj')).toBe(200)
    await app.stores.metadata.setBucketSubresource('feed', 'policy', null)
    expect(await anonymousGet('obj')).toBe(403)
  })

  it('CORS rules set', async () => {
    expect((await preflight()).status).toBe(403) // "no CORS" cached
    const cors =
      '<CORSConfiguration><CORSRule><AllowedOrigin>https://app.example</AllowedOrigin>' +
      '<AllowedMethod>PUT</AllowedMethod></CORSRule></CORSConfiguration>'
    // Stored as S3's PutBucketCors stores it.
    await app.stores.metadata.setBucketSubresource(
      'feed',
      'cors',
      serializeCorsConfig(parseCorsXml(cors)),
    )
    const r = await preflight()
    expect(r.status).toBe(200)
    expect(r.headers.get('access-control-allow-origin')).toBe('https://app.example')
  })

  it('control: with deliveries withheld, the caches keep answering from memory', async () => {
    const carol = await userWithKey('carol')
    expect(await status(carol.s3.send(new ListObjectsV2Command({ Bucket: 'feed' })))).toBe(200)
    expect(await anonymousGet('obj')).toBe(403)
    const feed = app.stores.changes as ChangeFeed & { publish(c: readonly Change[]): number }
    const publish = feed.publish.bind(feed)
    feed.publish = () => feed.head() // withheld: nothing is delivered
    try {
      await app.stores.identity.replaceAccessKey(carol.id, undefined)
      await app.stores.metadata.setBucketSubresource('feed', 'policy', PUBLIC_READ)
      // Stale on purpose: nothing told the caches.
      expect(await status(carol.s3.send(new ListObjectsV2Command({ Bucket: 'feed' })))).toBe(200)
      expect(await anonymousGet('obj')).toBe(403)
    } finally {
      feed.publish = publish
    }
    // Delivered again: the next change to each row reaches the caches, which then read the
    // truth (the key already gone, the policy as written).
    const row = await app.stores.identity.getUser(carol.id)
    await app.stores.identity.updateUser(row!, row!.version)
    expect(await status(carol.s3.send(new ListObjectsV2Command({ Bucket: 'feed' })))).toBe(403)
    await app.stores.metadata.setBucketSubresource('feed', 'policy', PUBLIC_READ)
    expect(await anonymousGet('obj')).toBe(200)
    await app.stores.metadata.setBucketSubresource('feed', 'policy', null)
    expect(await anonymousGet('obj')).toBe(403)
  })
})
