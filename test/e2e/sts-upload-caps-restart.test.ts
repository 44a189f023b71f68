/**
 * Upload-cap usage survives a restart of a single node (SQLite): a session capped with
 * `latchkey:max-bytes` writes up to its cap, the server is restarted on the same data dir (cleanly,
 * and killed with SIGKILL right after an acknowledged write), and the next write over the cap is
 * still refused with AccessDenied naming the cap. Sessions survive restarts, so their usage must
 * too: otherwise a three-month credential capped at 1 GB could write 1 GB again after every
 * restart.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { CreateBucketCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3'
import { AssumeRoleCommand } from '@aws-sdk/client-sts'
import { startServer, type TestServer } from './harness.js'

const BUCKET = 'caps'
const dirs: string[] = []
const servers: TestServer[] = []

afterAll(async () => {
  for (const s of servers) await s.stop()
  for (const d of dirs) rmSync(d, { recursive: true, force: true })
})

async function start(dataDir: string): Promise<TestServer> {
  const s = await startServer({ dataDir })
  servers.push(s)
  return s
}

function put(c: S3Client, key: string, size: number): Promise<unknown> {
  return c.send(
    new PutObjectCommand({
      Bucket: BUCKET,
      Key: key,
      Body: Buffer.alloc(size, 7),
      ContentType: 'image/png',
    }),
  )
}

async function failure(p: Promise<unknown>): Promise<{ name: string; message: string }> {
  try {
    await p
  } catch (e) {
    const err = e as { name?: string; Code?: string; message?: string }
    return { name: err.Code ?? err.name ?? '?', message: err.message ?? '' }
  }
  throw new Error('expected a failure')
}

/** A fresh data dir with a bucket and a session capped at `maxBytes`, plus its S3 client. */
async function capped(maxBytes: number): Promise<{
  server: TestServer
  dir: string
  creds: { accessKeyId: string; secretAccessKey: string; sessionToken: string }
}> {
  const dir = mkdtempSync(join(tmpdir(), 'latchkey-caps-restart-'))
  dirs.push(dir)
  const server = await start(dir)
  await server.s3().send(new CreateBucketCommand({ Bucket: BUCKET }))
  const out = await server.sts().send(
    new AssumeRoleCommand({
      RoleArn: 'arn:xxx:xxx:xxx:xxxx',
      RoleSessionName: 'upload',
      DurationSeconds: 3600,
      Tags: [{ Key: 'latchkey:max-bytes', Value: String(maxBytes) }],
    }),
  )
  const c = out.Credentials
  return {
    server,
    dir,
    creds: {
      accessKeyId: c?.AccessKeyId ?? '',
      secretAccessKey: c?.SecretAccessKey ?? '',
      sessionToken: c?.SessionToken ?? '',
    },
  }
}

describe('upload caps across restarts (SQLite)', () => {
  it('REGRESSION caps-usage-survives-restart: a clean restart keeps what a capped session wrote', async () => {
    const { server, dir, creds } = await capped(1000)
    const s3 = server.s3(creds)
    await put(s3, 'a', 600)
    await put(s3, 'b', 400) // exactly at the cap
    await server.stop()

    const again = await start(dir)
    const s3b = again.s3(creds)
    const f = await failure(put(s3b, 'c', 1))
    expect(f.name).toBe('AccessDenied')
    expect(f.message).toContain('latchkey:max-bytes')
    expect(f.message).toContain('1000 written so far')
    // A zero-byte write crosses no byte cap: the session itself still works after the restart.
    await put(s3b, 'empty', 0)
  })

  it('REGRESSION caps-usage-survives-restart: an acknowledged write still counts after SIGKILL', async () => {
    const { server, dir, creds } = await capped(1000)
    await put(server.s3(creds), 'a', 600)
    // Killed at once after the acknowledgment: no clean shutdown, no drain.
    await server.kill()

    const again = await start(dir)
    const s3b = again.s3(creds)
    const f = await failure(put(s3b, 'b', 401))
    expect(f.name).toBe('AccessDenied')
    expect(f.message).toContain('latchkey:max-bytes')
    expect(f.message).toContain('600 written so far')
    await put(s3b, 'b', 400) // what is left of the cap
  })
})
