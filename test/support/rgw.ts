/**
 * A Ceph RGW for tests, like support/postgres.ts for PostgreSQL: `LATCHKEY_TEST_RGW_ENDPOINT`
 * (default http://127.0.0.1:7480) is reused when it answers; otherwise a throwaway single-node
 * memstore cluster is started with the vendored `rgw/start.sh` (a copy of ../shared/tools/rgw, so
 * CI needs nothing outside the repo) in a temp lab dir on free ports, and `stop()` stops it by
 * its recorded PIDs and wipes the lab. Starting takes a few seconds once Debian's ceph packages
 * are installed (`.ci/run` installs them; start.sh itself does when run as root).
 *
 * Returns `{ unavailable: why }` when there is no RGW and none can be started: suites then skip,
 * saying why. Each caller gets fresh buckets from `createBucket()`, so suites never meet.
 */
import { execFile } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import {
  CreateBucketCommand,
  DeleteBucketCommand,
  DeleteObjectCommand,
  ListObjectsV2Command,
  S3Client,
} from '@aws-sdk/client-s3'
import { freePort } from './ports.js'

const HERE = join(dirname(fileURLToPath(import.meta.url)), 'rgw')
const ACCESS_KEY = 'TESTERACCESSKEY0001'
const SECRET_KEY = 'testersecretkey0000000000000000000000001'

export interface TestRgw {
  readonly endpoint: string
  readonly region: string
  readonly accessKeyId: string
  readonly secretAccessKey: string
  /** A path-style client as the test user. */
  client(): S3Client
  /** A new empty bucket; returns its name. */
  createBucket(): Promise<string>
  /** Empty a bucket and delete it (the RGW may be shared: leave nothing behind). */
  removeBucket(name: string): Promise<void>
  stop(): Promise<void>
}

async function answers(endpoint: string): Promise<boolean> {
  try {
    await fetch(endpoint, { signal: AbortSignal.timeout(2000) })
    return true
  } catch {
    return false
  }
}

function rgwAt(endpoint: string, stop: () => Promise<void>): TestRgw {
  const accessKeyId = process.env['LATCHKEY_TEST_RGW_ACCESS_KEY'] ?? ACCESS_KEY
  const secretAccessKey = process.env['LATCHKEY_TEST_RGW_SECRET_KEY'] ?? SECRET_KEY
  const client = (): S3Client =>
    new S3Client({
      endpoint,
      region: 'us-east-1',
      forcePathStyle: true,
      credentials: { accessKeyId, secretAccessKey },
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
    })
  return {
    endpoint,
    region: 'us-east-1',
    accessKeyId,
    secretAccessKey,
    client,
    async createBucket() {
      const name = `lk-test-${randomBytes(6).toString('hex')}`
      const c = client()
      try {
        await c.send(new CreateBucketCommand({ Bucket: name }))
      } finally {
        c.destroy()
      }
      return name
    },
    async removeBucket(name) {
      const c = client()
      try {
        for (;;) {
          const page = await c.send(new ListObjectsV2Command({ Bucket: name }))
          const keys = (page.Contents ?? []).map((o) => o.Key ?? '')
          if (keys.length === 0) break
          await Promise.all(
            keys.map((Key) => c.send(new DeleteObjectCommand({ Bucket: name, Key }))),
          )
        }
        await c.send(new DeleteBucketCommand({ Bucket: name }))
      } finally {
        c.destroy()
      }
    },
    stop,
  }
}

function run(script: string, env: Record<string, string>, timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(
      'bash',
      [join(HERE, script), ...(script === 'stop.sh' ? ['--wipe'] : [])],
      { env: { ...process.env, ...env }, timeout: timeoutMs, maxBuffer: 4 << 20 },
      (err, stdout, stderr) => {
        if (err !== null) reject(new Error(`${script} failed: ${err.message}\n${stdout}${stderr}`))
        else resolve(stdout)
      },
    )
  })
}

export async function startRgw(): Promise<TestRgw | { readonly unavailable: string }> {
  const given = process.env['LATCHKEY_TEST_RGW_ENDPOINT'] ?? 'http://127.0.0.1:7480'
  if (await answers(given)) return rgwAt(given, async () => {})
  const lab = mkdtempSync(join(tmpdir(), 'lk-rgw-'))
  const [port, mon, monV1] = [await freePort(), await freePort(), await freePort()]
  const env = {
    RGW_LAB: lab,
    RGW_PORT: String(port),
    RGW_MON_PORT: String(mon),
    RGW_MON_V1_PORT: String(monV1),
    RGW_DEBUG: '0/0',
  }
  try {
    await run('start.sh', env, 300_000)
  } catch (e) {
    await run('stop.sh', env, 60_000).catch(() => undefined)
    rmSync(lab, { recursive: true, force: true })
    // start.sh's last words say why (its `die` line, or apt-get's).
    const lines = (e as Error).message.split('\n').filter((l) => l.trim() !== '')
    const why = lines[lines.length - 1] ?? 'start.sh failed'
    return { unavailable: `no Ceph RGW at ${given} and none could be started: ${why.trim()}` }
  }
  return rgwAt(`http://127.0.0.1:${port}`, async () => {
    await run('stop.sh', env, 60_000).catch(() => undefined)
    rmSync(lab, { recursive: true, force: true })
  })
}
