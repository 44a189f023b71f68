/**
 * End-to-end harness: starts the real server (dist/main.js, built by `npm test`) as a child
 * process on a free loopback port with a temp data dir, and hands out endpoint + credentials.
 * @module
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, dirname } from 'node:path'
import { fileURLToPath } from 'node:url'
import { createInterface } from 'node:readline'
import { S3Client } from '@aws-sdk/client-s3'
import { STSClient, type Credentials } from '@aws-sdk/client-sts'

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..')
export const MAIN = join(ROOT, 'dist', 'main.js')

export interface TestServer {
  readonly endpoint: string
  readonly port: number
  readonly dataDir: string
  readonly accessKeyId: string
  readonly secretAccessKey: string
  readonly rootUser: string
  readonly rootPassword: string
  readonly proc: ChildProcess
  /** Lines the server printed (stdout + stderr). */
  readonly output: string[]
  s3(creds?: { accessKeyId: string; secretAccessKey: string; sessionToken?: string }): S3Client
  sts(creds?: { accessKeyId: string; secretAccessKey: string; sessionToken?: string }): STSClient
  stop(): Promise<void>
  /** SIGKILL, no cleanup of the data dir. */
  kill(): Promise<void>
}

export interface StartOptions {
  readonly tls?: boolean
  readonly args?: readonly string[]
  readonly env?: Readonly<Record<string, string>>
  /** Reuse a data dir (restart after a crash). */
  readonly dataDir?: string
  readonly keepDataDir?: boolean
}

export const ROOT_ACCESS_KEY = 'LKIAROOTTESTKEY00001'
export const ROOT_SECRET_KEY = 'rootTestSecretKey/0123456789abcdefghijklm'
export const ROOT_PASSWORD = 'operator-password-123'

export async function startServer(opts: StartOptions = {}): Promise<TestServer> {
  const dataDir = opts.dataDir ?? mkdtempSync(join(tmpdir(), 'latchkey-e2e-'))
  // LATCHKEY_E2E_TLS=1 re-runs the same suites over HTTPS with --tls-self-signed.
  const tls = opts.tls ?? process.env['LATCHKEY_E2E_TLS'] === '1'
  if (tls) allowSelfSigned()
  const args = [MAIN, 'serve', '--address', '127.0.0.1:0', '--data-dir', dataDir]
  if (tls) args.push('--tls-self-signed')
  args.push(...(opts.args ?? []))
  const proc = spawn(process.execPath, args, {
    env: {
      ...process.env,
      LATCHKEY_ROOT_ACCESS_KEY: ROOT_ACCESS_KEY,
      LATCHKEY_ROOT_SECRET_KEY: ROOT_SECRET_KEY,
      LATCHKEY_ROOT_PASSWORD: ROOT_PASSWORD,
      LATCHKEY_LOG_LEVEL: process.env['LATCHKEY_LOG_LEVEL'] ?? 'warn',
      ...opts.env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  const output: string[] = []
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`server did not start:\n${output.join('\n')}`)),
      30_000,
    )
    const onLine = (line: string): void => {
      output.push(line)
      const m = /"url":"(https?:\/\/[^"]+)"/.exec(line)
      if (m?.[1] !== undefined && line.includes('listening')) {
        clearTimeout(timer)
        resolve(m[1])
      }
    }
    createInterface({ input: proc.stdout }).on('line', onLine)
    createInterface({ input: proc.stderr }).on('line', onLine)
    proc.on('exit', (code) => {
      clearTimeout(timer)
      reject(new Error(`server exited with ${String(code)}:\n${output.join('\n')}`))
    })
  })
  const port = Number(new URL(url).port)
  const endpoint = url.replace('127.0.0.1', tls ? 'localhost' : '127.0.0.1')
  const exited = new Promise<void>((r) => proc.on('exit', () => r()))
  const clientConfig = (creds?: {
    accessKeyId: string
    secretAccessKey: string
    sessionToken?: string
  }) => ({
    endpoint,
    region: 'us-east-1',
    forcePathStyle: true,
    credentials: creds ?? { accessKeyId: ROOT_ACCESS_KEY, secretAccessKey: ROOT_SECRET_KEY },
  })
  return {
    endpoint,
    port,
    dataDir,
    accessKeyId: ROOT_ACCESS_KEY,
    secretAccessKey: ROOT_SECRET_KEY,
    rootUser: 'root',
    rootPassword: ROOT_PASSWORD,
    proc,
    output,
    s3: (creds) => new S3Client(clientConfig(creds)),
    sts: (creds) => new STSClient(clientConfig(creds)),
    async stop() {
      if (proc.exitCode === null) {
        proc.kill('SIGTERM')
        await exited
      }
      if (opts.keepDataDir !== true && opts.dataDir === undefined)
        rmSync(dataDir, { recursive: true, force: true })
    },
    async kill() {
      if (proc.exitCode === null) {
        proc.kill('SIGKILL')
        await exited
      }
    },
  }
}

/** For HTTPS tests with the self-signed cert. */
export function allowSelfSigned(): void {
  process.env['NODE_TLS_REJECT_UNAUTHORIZED'] = '0'
}

/** 'OK' when `p` resolves, else the S3 error's name (AccessDenied, …) or the error's name. */
/** The keys of an STS answer's Credentials, as the SDK clients take them ('' where absent). */
export function sessionKeys(c: Credentials | undefined): {
  accessKeyId: string
  secretAccessKey: string
  sessionToken: string
} {
  return {
    accessKeyId: c?.AccessKeyId ?? '',
    secretAccessKey: c?.SecretAccessKey ?? '',
    sessionToken: c?.SessionToken ?? '',
  }
}

export async function outcome(p: Promise<unknown>): Promise<string> {
  try {
    await p
    return 'OK'
  } catch (e) {
    return e instanceof Error ? e.name : String(e)
  }
}
