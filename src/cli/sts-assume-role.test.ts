/**
 * The CLI against an in-process STS surface whose authentication is the real SigV4 verifier
 * (src/auth/authenticate.ts) over the real IamService on memory stores: the CLI's own signing
 * must verify, and the credentials it prints must be a session the service really holds.
 */
import { createServer, type Server } from 'node:http'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { AddressInfo } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { authenticate } from '../auth/authenticate.js'
import { SigningKeyCache } from '../auth/sigv4/signing-key.js'
import { makeIam, type Fixture } from '../iam/fixtures.case.js'
import type { SessionRequest } from '../iam/types.js'
import { silentLogger } from '../lib/logger.js'
import { createStsCore } from '../sts/router.js'
import { stsIamFrom } from '../sts/index.js'
import { recording } from '../sts/fakes.case.js'
import { formatCredentials, parseArgs, runStsAssumeRole } from './sts-assume-role.js'

const SECRET = 'rootTestSecretKey/0123456789abcdefghijklm'

let server: Server
let endpoint = ''
let f: Fixture
const issued: SessionRequest[] = []

beforeAll(async () => {
  f = await makeIam({
    bootstrap: { rootPassword: 'operator-pass-1', rootAccessKey: 'ROOTKEY', rootSecretKey: SECRET },
    scryptN: 1024,
  })
  // The CLI signs with the wall clock; the server's (manual) clock reads the same time.
  const clock = f.clock
  clock.set(Date.now())
  const keyCache = new SigningKeyCache()
  const handler = createStsCore({
    iam: recording(stsIamFrom(f.iam), issued),
    clock,
    log: silentLogger,
    config: { stsDefaultDuration: 3600, stsMaxDuration: 43200 },
    authenticate: (raw, query, opts) =>
      authenticate(raw, query, { credentials: f.iam, keyCache, clock }, opts),
  })
  server = createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      const [path, query = ''] = (req.url ?? '/').split('?', 2)
      const headers: Record<string, string> = {}
      for (const [k, v] of Object.entries(req.headers)) if (typeof v === 'string') headers[k] = v
      void handler(
        {
          method: req.method ?? 'POST',
          rawPath: path ?? '/',
          rawQuery: query,
          headers,
          body: req,
          remoteAddress: '127.0.0.1',
          secure: false,
        },
        { requestId: 'cli-test', clock: f.clock, log: silentLogger, receivedAt: f.clock.now() },
        Buffer.concat(chunks),
      ).then((r) => {
        res.writeHead(r.status, r.headers as Record<string, string>)
        res.end(r.body as string)
      })
    })
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
})

afterAll(async () => {
  await new Promise<void>((r) => server.close(() => r()))
  f.iam.close()
})

async function run(
  argv: string[],
  env: Record<string, string>,
): Promise<{ code: number; out: string[]; err: string[] }> {
  const out: string[] = []
  const err: string[] = []
  const code = await runStsAssumeRole(
    argv,
    env,
    (s) => out.push(s),
    (s) => err.push(s),
  )
  return { code, out, err }
}

describe('latchkey sts assume-role', () => {
  it('signs a request the real verifier accepts and prints export lines', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'lk-cli-'))
    const policy = join(dir, 'p.json')
    writeFileSync(
      policy,
      '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::b/*"}]}',
    )
    const r = await run(
      ['--endpoint', endpoint, '--policy', policy, '--duration', '1h', '--session-name', 'ci-job'],
      {
        AWS_ACCESS_KEY_ID: 'ROOTKEY',
        AWS_SECRET_ACCESS_KEY: SECRET,
      },
    )
    expect(r.err).toEqual([])
    expect(r.code).toBe(0)
    const akid = /^export AWS_ACCESS_KEY_ID=(ASIA[A-Z0-9]{16})$/.exec(r.out[0] ?? '')?.[1]
    const secret = /^export AWS_SECRET_ACCESS_KEY=([A-Za-z0-9]{40})$/.exec(r.out[1] ?? '')?.[1]
    const token = /^export AWS_SESSION_TOKEN=(LK1\.[A-Za-z0-9_-]{43})$/.exec(r.out[2] ?? '')?.[1]
    expect([akid, secret, token].map((v) => v !== undefined)).toEqual([true, true, true])
    const req = issued.at(-1)
    expect(req?.durationSeconds).toBe(3600)
    expect(req?.sessionName).toBe('ci-job')
    expect(req?.policies).toHaveLength(1)
    // What was printed is a live session of the service: its secret, its token, its policy.
    const cred = await f.iam.resolve(akid ?? '')
    expect(cred?.secretKey).toBe(secret)
    expect(cred && f.iam.checkSessionToken(cred, token, f.clock.now())).toBe('ok')
    const info = await f.iam.getSession(akid ?? '', f.clock.now())
    expect(info).toMatchObject({ sessionName: 'ci-job', hasPolicy: true })
    expect((info?.expiresAt ?? 0) - (info?.issuedAt ?? 0)).toBe(3_600_000)
  })

  it('prints credential_process JSON', async () => {
    const r = await run(['--endpoint', endpoint, '--format', 'json'], {
      AWS_ACCESS_KEY_ID: 'ROOTKEY',
      AWS_SECRET_ACCESS_KEY: SECRET,
    })
    expect(r.code).toBe(0)
    const j = JSON.parse(r.out.join('\n')) as Record<string, unknown>
    expect(Object.keys(j)).toEqual([
      'Version',
      'AccessKeyId',
      'SecretAccessKey',
      'SessionToken',
      'Expiration',
    ])
    expect(j['Version']).toBe(1)
  })

  it('exits 1 with the STS error for a wrong secret, 2 for usage errors', async () => {
    const bad = await run(['--endpoint', endpoint], {
      AWS_ACCESS_KEY_ID: 'ROOTKEY',
      AWS_SECRET_ACCESS_KEY: 'wrong',
    })
    expect(bad.code).toBe(1)
    expect(bad.err[0]).toContain('SignatureDoesNotMatch')
    const unknown = await run(['--endpoint', endpoint], {
      AWS_ACCESS_KEY_ID: 'NOPE',
      AWS_SECRET_ACCESS_KEY: 'x',
    })
    expect(unknown.err[0]).toContain('InvalidClientTokenId')
    expect(
      (await run(['--duration', 'soon'], { AWS_ACCESS_KEY_ID: 'a', AWS_SECRET_ACCESS_KEY: 'b' }))
        .code,
    ).toBe(2)
    expect((await run(['--bogus'], {})).code).toBe(2)
    expect((await run([], {})).code).toBe(2)
    expect(
      (
        await run(['--endpoint', endpoint, '--policy', '/nonexistent/p.json'], {
          AWS_ACCESS_KEY_ID: 'a',
          AWS_SECRET_ACCESS_KEY: 'b',
        })
      ).code,
    ).toBe(2)
  })

  it('parses durations and defaults', () => {
    expect(parseArgs(['--duration', '90d'], {}).durationSeconds).toBe(7776000)
    expect(parseArgs([], { LATCHKEY_ENDPOINT: 'https://s3.example' }).endpoint).toBe(
      'https://s3.example',
    )
    expect(parseArgs([], {}).endpoint).toBe('http://localhost:9000')
    expect(
      formatCredentials(
        { AccessKeyId: 'A', SecretAccessKey: "it's", SessionToken: '', Expiration: 'E' },
        'env',
      )[1],
    ).toBe("export AWS_SECRET_ACCESS_KEY='it'\\''s'")
  })
})
