/**
 * Operating Latchkey (issue 14, items 2–4), against real server processes: the access log (one
 * `info` line per request, with its fields; no secret, token, signature or password anywhere in
 * the whole log output), `/metrics` (counters move between two scrapes; the Bearer token rules;
 * the `--metrics-address` listener) and `/ready` beside `/health`.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import {
  GetObjectCommand,
  HeadBucketCommand,
  PutObjectCommand,
  CreateBucketCommand,
  S3Client,
} from '@aws-sdk/client-s3'
import { AssumeRoleCommand } from '@aws-sdk/client-sts'
import { getSignedUrl } from '@aws-sdk/s3-request-presigner'
import { startServer, outcome, ROOT_PASSWORD, type TestServer } from './harness.js'
import { adminLogin } from './admin-client.js'

const METRICS_TOKEN = 'metrics-token-0123456789abcdef'

/** The server's access-log lines, parsed. */
function accessLines(server: TestServer): Record<string, unknown>[] {
  return server.output
    .filter((l) => l.includes('"msg":"access"'))
    .map((l) => JSON.parse(l) as Record<string, unknown>)
}

/** One sample's value from an exposition document (0 when the series is absent). */
function sample(text: string, name: string, labels: Record<string, string> = {}): number {
  const want = Object.entries(labels).map(([k, v]) => `${k}="${v}"`)
  let sum = 0
  for (const line of text.split('\n')) {
    if (!line.startsWith(name)) continue
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line)
    if (m === null || m[1] !== name) continue
    const have = (m[2] ?? '').split(',')
    if (want.every((w) => have.includes(w))) sum += Number(m[3])
  }
  return sum
}

async function scrape(url: string, token?: string): Promise<{ status: number; text: string }> {
  const r = await fetch(`${url}/metrics`, {
    ...(token !== undefined ? { headers: { authorization: `Bearer ${token}` } } : {}),
  })
  return { status: r.status, text: await r.text() }
}

/** Captures every request's Authorization header (after signing) for the secret grep. */
function capturingClient(server: TestServer, seen: string[]): S3Client {
  const s3 = server.s3()
  s3.middlewareStack.add(
    (next) => async (args) => {
      const h = (args.request as { headers?: Record<string, string> }).headers
      if (h?.['authorization'] !== undefined) seen.push(h['authorization'])
      return next(args)
    },
    { step: 'deserialize', name: 'captureAuthorization' },
  )
  return s3
}

describe('access log, metrics and /ready', () => {
  let server: TestServer

  beforeAll(async () => {
    server = await startServer({
      env: { LATCHKEY_LOG_LEVEL: 'info', LATCHKEY_METRICS_TOKEN: METRICS_TOKEN },
    })
    await server.s3().send(new CreateBucketCommand({ Bucket: 'ops' }))
  }, 30_000)

  afterAll(async () => {
    await server?.stop()
  })

  it('logs one line per request with its fields, and never a secret, token, signature or password', async () => {
    const authorizations: string[] = []
    const s3 = capturingClient(server, authorizations)
    const body = 'x'.repeat(1234)
    await s3.send(new PutObjectCommand({ Bucket: 'ops', Key: 'dir/a b.txt', Body: body }))
    const got = await s3.send(new GetObjectCommand({ Bucket: 'ops', Key: 'dir/a b.txt' }))
    expect(await got.Body!.transformToString()).toBe(body)
    const getId = got.$metadata.requestId

    // STS AssumeRole answers a secret and a session token; a presigned URL carries both.
    const assumed = await server
      .sts()
      .send(new AssumeRoleCommand({ RoleSessionName: 'logged', DurationSeconds: 900 } as never))
    const c = assumed.Credentials!
    const session = server.s3({
      accessKeyId: c.AccessKeyId!,
      secretAccessKey: c.SecretAccessKey!,
      sessionToken: c.SessionToken!,
    })
    const url = await getSignedUrl(
      session,
      new GetObjectCommand({ Bucket: 'ops', Key: 'dir/a b.txt' }),
      { expiresIn: 300 },
    )
    const presigned = new URL(url)
    expect((await fetch(url)).status).toBe(200)
    const signature = presigned.searchParams.get('X-Amz-Signature')!
    expect(presigned.searchParams.get('X-Amz-Security-Token')).toBe(c.SessionToken)

    // Admin login with the password (and a failed one with another), then a call with the JWT.
    const admin = await adminLogin(server)
    const wrongPassword = 'not-the-password-9876'
    const bad = await fetch(`${server.endpoint}/api/admin/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username: server.rootUser, password: wrongPassword }),
    })
    expect(bad.status).toBe(401)
    expect((await admin.call('GET', '/api/admin/users')).status).toBe(200)

    await vi.waitFor(
      () =>
        expect(
          accessLines(server).some(
            (l) => l['surface'] === 'admin' && l['operation'] === 'GET /users',
          ),
        ).toBe(true),
      { timeout: 5000, interval: 50 },
    )

    // The GET's line.
    const lines = accessLines(server)
    const getLine = lines.find((l) => l['requestId'] === getId)
    expect(getLine).toMatchObject({
      level: 30,
      msg: 'access',
      remoteAddress: '127.0.0.1',
      method: 'GET',
      surface: 's3',
      operation: 'GetObject',
      bucket: 'ops',
      key: 'dir/a b.txt',
      principal: { kind: 'account-root', accessKeyId: server.accessKeyId, account: 'default' },
      status: 200,
      bytesIn: 0,
      bytesOut: 1234,
      aborted: false,
    })
    expect(typeof getLine!['time']).toBe('string')
    expect(getLine!['durationMs']).toBeGreaterThan(0)
    const putLine = lines.find((l) => l['operation'] === 'PutObject' && l['key'] === 'dir/a b.txt')
    expect(putLine?.['bytesIn']).toBe(1234)
    // The presigned GET: the session's key id and the query without signature or token.
    const presignedLine = lines.find(
      (l) =>
        l['operation'] === 'GetObject' && (l['principal'] as { kind?: string }).kind === 'session',
    )
    expect(presignedLine?.['principal']).toMatchObject({ accessKeyId: c.AccessKeyId })
    expect(presignedLine?.['query']).toContain('X-Amz-Credential=')
    expect(presignedLine?.['query']).not.toMatch(/Signature|Security-Token/i)
    expect(lines.find((l) => l['operation'] === 'AssumeRole')).toMatchObject({
      surface: 'sts',
      status: 200,
      principal: { accessKeyId: server.accessKeyId },
    })
    expect(
      lines.find((l) => l['operation'] === 'POST /login' && l['status'] === 401),
    ).toMatchObject({ surface: 'admin', errorCode: 'Unauthorized' })

    // Nothing secret anywhere in what the server printed.
    const all = server.output.join('\n')
    const headerSignatures = authorizations.map((a) => /Signature=([0-9a-f]{64})/.exec(a)?.[1])
    expect(headerSignatures.length).toBeGreaterThanOrEqual(2)
    const secrets: Record<string, string | undefined> = {
      'root secret key': server.secretAccessKey,
      'session secret': c.SecretAccessKey,
      'session token': c.SessionToken,
      'presigned signature': signature,
      'admin password': ROOT_PASSWORD,
      'wrong password': wrongPassword,
      'admin JWT': admin.token,
      'metrics token': METRICS_TOKEN,
    }
    headerSignatures.forEach((s, i) => (secrets[`header signature ${i}`] = s))
    for (const [what, secret] of Object.entries(secrets)) {
      expect(secret, what).toBeTruthy()
      expect(all.includes(secret!), `${what} appears in the log`).toBe(false)
    }
  })

  it('/metrics: counters move between two scrapes; the token rules hold', async () => {
    const none = await scrape(server.endpoint)
    expect(none.status).toBe(401)
    expect((await scrape(server.endpoint, 'wrong-token-0123456789')).status).toBe(403)
    const before = await scrape(server.endpoint, METRICS_TOKEN)
    expect(before.status).toBe(200)

    const s3 = server.s3()
    await s3.send(new PutObjectCommand({ Bucket: 'ops', Key: 'm', Body: 'metrics!' }))
    await s3.send(new GetObjectCommand({ Bucket: 'ops', Key: 'm' }))
    await server.sts().send(new AssumeRoleCommand({ RoleSessionName: 'counted' } as never))
    const wrong = server.s3({
      accessKeyId: server.accessKeyId,
      secretAccessKey: 'wrong-secret-123456',
    })
    expect(await outcome(wrong.send(new GetObjectCommand({ Bucket: 'ops', Key: 'm' })))).toMatch(
      /SignatureDoesNotMatch/,
    )
    // A signed request on /metrics is S3's: the bucket `metrics` cannot exist.
    expect(await outcome(s3.send(new HeadBucketCommand({ Bucket: 'metrics' })))).toBe('NotFound')

    const after = await scrape(server.endpoint, METRICS_TOKEN)
    const moved = (name: string, labels: Record<string, string> = {}): number =>
      sample(after.text, name, labels) - sample(before.text, name, labels)
    expect(
      moved('latchkey_requests_total', { surface: 's3', operation: 'GetObject', status: '200' }),
    ).toBe(1)
    expect(
      moved('latchkey_requests_total', { surface: 's3', operation: 'PutObject', status: '200' }),
    ).toBe(1)
    expect(moved('latchkey_requests_total', { surface: 'metrics', status: '200' })).toBe(1)
    // The good GET and the one refused for its signature.
    expect(
      moved('latchkey_request_duration_seconds_count', { surface: 's3', operation: 'GetObject' }),
    ).toBe(2)
    expect(moved('latchkey_request_body_bytes_total', { surface: 's3' })).toBe(8)
    expect(moved('latchkey_response_body_bytes_total', { surface: 's3' })).toBeGreaterThanOrEqual(8)
    expect(moved('latchkey_sts_credentials_issued_total', { action: 'AssumeRole' })).toBe(1)
    expect(
      moved('latchkey_auth_failures_total', { surface: 's3', reason: 'SignatureDoesNotMatch' }),
    ).toBe(1)
    expect(moved('latchkey_storage_commit_seconds_count', { backend: 'sqlite' })).toBeGreaterThan(0)
    expect(sample(after.text, 'latchkey_storage_fsync_seconds_count')).toBeGreaterThan(0)
    expect(sample(after.text, 'latchkey_active_sessions')).toBeGreaterThanOrEqual(1)
    for (const name of [
      'process_cpu_seconds_total',
      'process_resident_memory_bytes',
      'process_open_fds',
      'process_start_time_seconds',
      'nodejs_eventloop_lag_seconds',
    ])
      expect(after.text, name).toMatch(new RegExp(`^${name} `, 'm'))
  })

  it('/ready answers 200 when the database and blob store answer; /health too', async () => {
    const ready = await fetch(`${server.endpoint}/ready`)
    expect(ready.status).toBe(200)
    expect(await ready.json()).toEqual({ status: 'ready' })
    expect((await fetch(`${server.endpoint}/health`)).status).toBe(200)
  })
})

describe('metrics without a token: only on --metrics-address', () => {
  let server: TestServer
  let metricsUrl: string

  beforeAll(async () => {
    server = await startServer({
      args: ['--metrics-address', '127.0.0.1:0', '--access-log', 'off'],
    })
    const line = server.output.find((l) => l.includes('"metricsUrl"'))!
    metricsUrl = (JSON.parse(line) as { metricsUrl: string }).metricsUrl
  }, 30_000)

  afterAll(async () => {
    await server?.stop()
  })

  it('the main port answers 404 on /metrics (no token set); the metrics listener serves it without one', async () => {
    const main = await scrape(server.endpoint)
    expect(main.status).toBe(404)
    expect(main.text).toContain('not enabled')
    expect((await scrape(server.endpoint, 'any-token-0123456789')).status).toBe(404)

    const before = await scrape(metricsUrl)
    expect(before.status).toBe(200)
    await server.s3().send(new CreateBucketCommand({ Bucket: 'counted' }))
    const after = await scrape(metricsUrl)
    expect(
      sample(after.text, 'latchkey_requests_total', { operation: 'CreateBucket', status: '200' }) -
        sample(before.text, 'latchkey_requests_total', {
          operation: 'CreateBucket',
          status: '200',
        }),
    ).toBe(1)
    expect((await fetch(`${metricsUrl}/health`)).status).toBe(404)
  })
})
