/**
 * The shipped proxy configs (deploy/nginx.conf, deploy/haproxy.cfg) in front of three real nodes
 * on one throwaway PostgreSQL and one shared `file:` blob dir, driven by the unmodified AWS SDK:
 * path-style and virtual-hosted-style, SigV4 headers and presigned URLs, a ~20 MiB streaming PUT
 * (aws-chunked, as the SDK sends a stream), a multipart upload whose parts land on different
 * nodes through round-robin, a ranged GET, and /health.
 *
 * The configs are run as shipped, except for their marked placeholders: the test writes a copy
 * with the ports it chose (the public port 9000, the nodes 127.0.0.1:9001-9003), the domain
 * (s3.example.com → s3.localhost) and, for nginx, log and temp paths in a temp dir, so it needs
 * no root and leaves nothing behind. Which node served a request is read from each node's access
 * log. Each proxy's suite skips, saying why, when that proxy or PostgreSQL is not installed
 * (`.ci/run` installs both).
 * @module
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { createHash, randomBytes } from 'node:crypto'
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { Agent, request, type IncomingMessage } from 'node:http'
import { type LookupFunction } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Readable } from 'node:stream'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  CompleteMultipartUploadCommand,
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  GetObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  UploadPartCommand,
} from '@aws-sdk/client-s3'
import { getSignedUrl } from '@aws-sdk/s3-request-presigner'
import { startPostgres, type TestPostgres } from '../support/postgres.js'
import { ROOT, ROOT_ACCESS_KEY, ROOT_SECRET_KEY, startServer, type TestServer } from './harness.js'
import { freePort } from '../support/ports.js'

const DOMAIN = 's3.localhost'
const MiB = 1024 * 1024

function findTool(name: string): string | undefined {
  const which = spawnSync('sh', ['-c', `command -v ${name}`], { encoding: 'utf8' })
  if (which.status === 0 && which.stdout.trim() !== '') return which.stdout.trim()
  for (const dir of ['/usr/sbin', '/sbin', '/usr/local/sbin']) {
    if (existsSync(join(dir, name))) return join(dir, name)
  }
  return undefined
}

/** Every host name → loopback (BUCKET.s3.localhost); the Host header stays the client's. */
const toLoopback: LookupFunction = (_host, opts, cb) => {
  if (opts.all === true) cb(null, [{ address: '127.0.0.1', family: 4 }])
  else cb(null, '127.0.0.1', 4)
}

interface Got {
  readonly status: number
  readonly body: Buffer
}

function httpCall(
  agent: Agent,
  url: string,
  method = 'GET',
  body?: Buffer,
  headers: Record<string, string> = {},
): Promise<Got> {
  return new Promise((resolve, reject) => {
    const req = request(url, { agent, method, headers }, (res: IncomingMessage) => {
      const chunks: Buffer[] = []
      res.on('data', (c: Buffer) => chunks.push(c))
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks) }))
      res.on('error', reject)
    })
    req.on('error', reject)
    req.end(body)
  })
}

/** The shipped file with its placeholders replaced; throws if a placeholder went missing. */
function fromTemplate(file: string, subs: readonly (readonly [string, string])[]): string {
  let text = readFileSync(join(ROOT, 'deploy', file), 'utf8')
  for (const [from, to] of subs) {
    if (!text.includes(from)) throw new Error(`deploy/${file} lacks the placeholder "${from}"`)
    text = text.split(from).join(to)
  }
  return text
}

interface Proxy {
  readonly port: number
  stop(): Promise<void>
}

async function waitHealthy(port: number, proc: ChildProcess, output: string[]): Promise<void> {
  const agent = new Agent({ keepAlive: false })
  try {
    for (let i = 0; i < 200; i++) {
      if (proc.exitCode !== null) throw new Error(`proxy exited:\n${output.join('')}`)
      const r = await httpCall(agent, `http://127.0.0.1:${String(port)}/health`).catch(
        () => undefined,
      )
      if (r?.status === 200) return
      await new Promise((res) => setTimeout(res, 50))
    }
    throw new Error(`proxy not healthy on ${String(port)}:\n${output.join('')}`)
  } finally {
    agent.destroy()
  }
}

async function startProxy(
  kind: 'nginx' | 'haproxy',
  bin: string,
  nodePorts: readonly number[],
): Promise<Proxy> {
  const dir = mkdtempSync(join(tmpdir(), `latchkey-${kind}-`))
  // As root, nginx's workers run as an unprivileged user and must reach their temp dirs in here.
  chmodSync(dir, 0o755)
  const port = await freePort()
  const nodes = nodePorts.map(
    (p, i) => [`127.0.0.1:${String(9001 + i)}`, `127.0.0.1:${String(p)}`] as const,
  )
  let args: string[]
  if (kind === 'nginx') {
    const temp = ['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi']
      .map((t) => `${t}_temp_path ${join(dir, t)};`)
      .join(' ')
    const conf = fromTemplate('nginx.conf', [
      ...nodes,
      ['listen 9000 ', `listen 127.0.0.1:${String(port)} `],
      ['s3.example.com', DOMAIN],
      ['/var/log/nginx/latchkey-access.log', join(dir, 'access.log')],
      ['http {', `http {\n    ${temp}`],
    ])
    writeFileSync(join(dir, 'nginx.conf'), conf)
    args = [
      '-p',
      dir,
      '-c',
      join(dir, 'nginx.conf'),
      '-e',
      join(dir, 'error.log'),
      '-g',
      `daemon off; pid ${join(dir, 'nginx.pid')};`,
    ]
  } else {
    const conf = fromTemplate('haproxy.cfg', [
      ...nodes,
      ['bind :9000', `bind 127.0.0.1:${String(port)}`],
    ])
    writeFileSync(join(dir, 'haproxy.cfg'), conf)
    args = ['-f', join(dir, 'haproxy.cfg'), '-db']
  }
  const proc = spawn(bin, args, { stdio: ['ignore', 'pipe', 'pipe'] })
  const output: string[] = []
  proc.stdout?.on('data', (c: Buffer) => output.push(c.toString()))
  proc.stderr?.on('data', (c: Buffer) => output.push(c.toString()))
  const exited = new Promise<void>((r) => proc.once('exit', () => r()))
  // SIGTERM, not SIGKILL: nginx's master stops its workers before it exits; killed, it would
  // leave them running, still holding the port.
  const stop = async (): Promise<void> => {
    if (proc.exitCode === null && proc.signalCode === null) {
      proc.kill('SIGTERM')
      await exited
    }
    rmSync(dir, { recursive: true, force: true })
  }
  try {
    await waitHealthy(port, proc, output)
  } catch (e) {
    await stop()
    throw e
  }
  return { port, stop }
}

const pg: TestPostgres | undefined = await startPostgres()
const tools = { nginx: findTool('nginx'), haproxy: findTool('haproxy') }
const NO_PG = 'no PostgreSQL installed (initdb/pg_ctl not found, LATCHKEY_TEST_DATABASE_URL unset)'

let nodes: TestServer[] = []
let blobDir: string | undefined
const needNodes = pg !== undefined && (tools.nginx !== undefined || tools.haproxy !== undefined)

beforeAll(async () => {
  if (!needNodes) return
  const url = await pg!.createDatabase()
  blobDir = mkdtempSync(join(tmpdir(), 'latchkey-proxy-blobs-'))
  const node = {
    tls: false,
    args: ['--database', url, '--blob-store', `file:${blobDir}`, '--domain', DOMAIN],
    // The access log (info, on by default): one line per request, which tells the test which
    // node served it; debug for the rest.
    env: { LATCHKEY_MASTER_KEY: randomBytes(32).toString('base64'), LATCHKEY_LOG_LEVEL: 'debug' },
  }
  // The first node runs the migrations and seeds the root identity; the others start together.
  const first = await startServer(node)
  nodes = [first, ...(await Promise.all([startServer(node), startServer(node)]))]
}, 60_000)

afterAll(async () => {
  await Promise.allSettled(nodes.map((n) => n.stop()))
  if (blobDir !== undefined) rmSync(blobDir, { recursive: true, force: true })
  await pg?.stop()
})

/** Which nodes logged a finished `method` request on `path`. */
function nodesThatServed(method: string, path: string): number[] {
  const served: number[] = []
  nodes.forEach((n, i) => {
    for (const line of n.output) {
      if (!line.includes('"msg":"access"')) continue
      const rec = JSON.parse(line) as { method?: string; path?: string }
      if (rec.method === method && rec.path === path) served.push(i)
    }
  })
  return served
}

async function bytesOf(p: Promise<{ Body?: { transformToByteArray(): Promise<Uint8Array> } }>) {
  return Buffer.from(await (await p).Body!.transformToByteArray())
}

const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex')

for (const kind of ['nginx', 'haproxy'] as const) {
  const bin = tools[kind]
  const why =
    pg === undefined
      ? NO_PG
      : bin === undefined
        ? `${kind} not installed (apt-get install ${kind})`
        : ''
  describe.skipIf(why !== '')(
    `three nodes behind deploy/${kind === 'nginx' ? 'nginx.conf' : 'haproxy.cfg'}${why !== '' ? ` (${why})` : ''}`,
    () => {
      let proxy: Proxy
      let agent: Agent
      let path: S3Client
      let vhost: S3Client
      const bucket = `via-${kind}`
      const sent: { headers: Record<string, string> }[] = []

      beforeAll(async () => {
        proxy = await startProxy(
          kind,
          bin!,
          nodes.map((n) => n.port),
        )
        agent = new Agent({ keepAlive: true, lookup: toLoopback })
        const credentials = { accessKeyId: ROOT_ACCESS_KEY, secretAccessKey: ROOT_SECRET_KEY }
        const port = String(proxy.port)
        path = new S3Client({
          endpoint: `http://127.0.0.1:${port}`,
          region: 'us-east-1',
          forcePathStyle: true,
          credentials,
          requestHandler: { httpAgent: agent },
        })
        vhost = new S3Client({
          endpoint: `http://${DOMAIN}:${port}`,
          region: 'us-east-1',
          forcePathStyle: false,
          credentials,
          requestHandler: { httpAgent: agent },
        })
        for (const c of [path, vhost])
          c.middlewareStack.add(
            (next) => async (args) => {
              const r = args.request as { headers?: Record<string, string> }
              sent.push({ headers: { ...(r.headers ?? {}) } })
              return next(args)
            },
            { step: 'finalizeRequest', name: 'recordHeaders', priority: 'low' },
          )
        await path.send(new CreateBucketCommand({ Bucket: bucket }))
      }, 30_000)

      afterAll(async () => {
        path?.destroy()
        vhost?.destroy()
        agent?.destroy()
        await proxy?.stop()
      })

      it('/health answers through the proxy', async () => {
        const r = await httpCall(agent, `http://127.0.0.1:${String(proxy.port)}/health`)
        expect(r.status).toBe(200)
        expect(JSON.parse(r.body.toString())).toEqual({ status: 'ok' })
      })

      it('SigV4 path-style and virtual-hosted-style, a key the proxy must not rewrite', async () => {
        // `//`, `+`, `%`, a space and `..`-free dots: any decoding or merging breaks the signature.
        const key = 'dir//a b+c%20d/./e.txt'
        await path.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: 'path-style' }))
        expect(
          (
            await bytesOf(vhost.send(new GetObjectCommand({ Bucket: bucket, Key: key })))
          ).toString(),
        ).toBe('path-style')
        await vhost.send(new PutObjectCommand({ Bucket: bucket, Key: 'vh.txt', Body: 'vhost' }))
        expect(
          (
            await bytesOf(path.send(new GetObjectCommand({ Bucket: bucket, Key: 'vh.txt' })))
          ).toString(),
        ).toBe('vhost')
        const listed = await vhost.send(new ListObjectsV2Command({ Bucket: bucket }))
        expect(listed.Contents?.map((o) => o.Key)).toEqual(expect.arrayContaining([key, 'vh.txt']))
        const hosts = sent.map((s) => s.headers['host'])
        expect(hosts).toContain(`${bucket}.${DOMAIN}:${String(proxy.port)}`)
      })

      it('presigned PUT and GET URLs, path-style and virtual-hosted; a tampered one is refused', async () => {
        for (const [client, key] of [
          [path, 'pre/path.txt'],
          [vhost, 'pre/vhost.txt'],
        ] as const) {
          const put = await getSignedUrl(
            client,
            new PutObjectCommand({ Bucket: bucket, Key: key }),
            {
              expiresIn: 300,
            },
          )
          const p = await httpCall(agent, put, 'PUT', Buffer.from(`presigned ${key}`))
          expect(p.status, p.body.toString()).toBe(200)
          const get = await getSignedUrl(
            client,
            new GetObjectCommand({ Bucket: bucket, Key: key }),
            {
              expiresIn: 300,
            },
          )
          const g = await httpCall(agent, get)
          expect(g.status, g.body.toString()).toBe(200)
          expect(g.body.toString()).toBe(`presigned ${key}`)
          const bad = await httpCall(agent, get.replace(/X-Amz-Expires=300/, 'X-Amz-Expires=301'))
          expect(bad.status).toBe(403)
          expect(bad.body.toString()).toContain('SignatureDoesNotMatch')
        }
        expect(
          (
            await getSignedUrl(vhost, new GetObjectCommand({ Bucket: bucket, Key: 'x' }))
          ).startsWith(`http://${bucket}.${DOMAIN}:`),
        ).toBe(true)
      })

      it('a ~20 MiB streaming PUT (aws-chunked) arrives whole; GET with Range', async () => {
        const big = randomBytes(20 * MiB + 12345)
        const chunks = function* (): Generator<Buffer> {
          for (let i = 0; i < big.length; i += 256 * 1024) yield big.subarray(i, i + 256 * 1024)
        }
        const before = sent.length
        await vhost.send(
          new PutObjectCommand({
            Bucket: bucket,
            Key: 'stream.bin',
            Body: Readable.from(chunks()),
            ContentLength: big.length,
          }),
        )
        const put = sent.slice(before).at(-1)!.headers
        // What the SDK sends for a stream: aws-chunked with a trailing checksum.
        expect(put['x-amz-content-sha256']).toMatch(/^STREAMING-/)
        expect(put['content-encoding'] ?? '').toContain('aws-chunked')
        // …and asks the proxy for a 100 Continue before the body (nginx answers it itself,
        // HAProxy forwards it to the node).
        expect(put['Expect'] ?? put['expect']).toBe('100-continue')
        const back = await bytesOf(
          path.send(new GetObjectCommand({ Bucket: bucket, Key: 'stream.bin' })),
        )
        expect(back.length).toBe(big.length)
        expect(sha(back)).toBe(sha(big))
        const from = 7 * MiB + 3
        const ranged = await vhost.send(
          new GetObjectCommand({
            Bucket: bucket,
            Key: 'stream.bin',
            Range: `bytes=${String(from)}-${String(from + 99_999)}`,
          }),
        )
        expect(ranged.ContentRange).toBe(
          `bytes ${String(from)}-${String(from + 99_999)}/${String(big.length)}`,
        )
        const part = Buffer.from(await ranged.Body!.transformToByteArray())
        expect(part.equals(big.subarray(from, from + 100_000))).toBe(true)
      }, 30_000)

      it('a multipart upload whose parts land on different nodes (round-robin) completes', async () => {
        const key = `multi/${kind}.bin`
        const parts = [randomBytes(5 * MiB), randomBytes(5 * MiB), randomBytes(1000)]
        const { UploadId } = await path.send(
          new CreateMultipartUploadCommand({ Bucket: bucket, Key: key }),
        )
        const etags: string[] = []
        for (const [i, body] of parts.entries()) {
          const client = i % 2 === 0 ? path : vhost
          const r = await client.send(
            new UploadPartCommand({
              Bucket: bucket,
              Key: key,
              UploadId,
              PartNumber: i + 1,
              Body: body,
            }),
          )
          etags.push(r.ETag!)
        }
        await vhost.send(
          new CompleteMultipartUploadCommand({
            Bucket: bucket,
            Key: key,
            UploadId,
            MultipartUpload: { Parts: etags.map((ETag, i) => ({ ETag, PartNumber: i + 1 })) },
          }),
        )
        const back = await bytesOf(path.send(new GetObjectCommand({ Bucket: bucket, Key: key })))
        expect(sha(back)).toBe(sha(Buffer.concat(parts)))
        // Path-style parts log as /bucket/key, virtual-hosted ones as /key: count both.
        const served = [
          ...nodesThatServed('PUT', `/${bucket}/${key}`),
          ...nodesThatServed('PUT', `/${key}`),
        ]
        expect(served.length).toBeGreaterThanOrEqual(parts.length)
        expect(
          new Set(served).size,
          `part PUTs served by nodes ${served.join(',')}`,
        ).toBeGreaterThan(1)
      }, 30_000)
    },
  )
}
