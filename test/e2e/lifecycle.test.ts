/**
 * Start-up and shutdown of the real process: one clear line for a bad flag, first-start
 * generation (printed once, never again), the key file's mode, the self-signed certificate made
 * once and reused, /health, and SIGTERM letting an in-flight upload finish.
 */
import { describe, it, expect } from 'vitest'
import { spawnSync } from 'node:child_process'
import { mkdtempSync, readFileSync, statSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { request } from 'node:http'
import { CreateBucketCommand, GetObjectCommand } from '@aws-sdk/client-s3'
import { getSignedUrl } from '@aws-sdk/s3-request-presigner'
import { PutObjectCommand } from '@aws-sdk/client-s3'
import { MAIN, startServer } from './harness.js'

function runMain(args: string[], env: Record<string, string> = {}) {
  return spawnSync(process.execPath, [MAIN, ...args], {
    encoding: 'utf8',
    env: { ...process.env, ...env },
    timeout: 30_000,
  })
}

describe('start-up', () => {
  it.each([
    [['serve', '--bogus'], /unknown flag --bogus/],
    [['serve', '--address', 'nope'], /--address must be HOST:PORT/],
    [['serve', '--sts-max-duration', 'soon'], /--sts-max-duration must be seconds or a duration/],
    [['serve', '--sts-default-duration', '100'], /--sts-default-duration must be between 900/],
    [['serve', '--tls-cert', 'x.pem'], /--tls-cert and --tls-key must be given together/],
    [['serve', '--database', 'mysql://x'], /--database must be a postgres:\/\/ URL/],
  ])('refuses %j with one clear line', (args, message) => {
    const r = runMain(args as string[])
    expect(r.status).toBe(2)
    const lines = r.stderr.trim().split('\n')
    expect(lines).toHaveLength(1)
    expect(lines[0]).toMatch(message as RegExp)
  })

  it('refuses a malformed LATCHKEY_MASTER_KEY with one line', () => {
    const dir = mkdtempSync(join(tmpdir(), 'latchkey-mk-'))
    const r = runMain(['serve', '--address', '127.0.0.1:0', '--data-dir', dir], {
      LATCHKEY_MASTER_KEY: 'not-base64-32-bytes',
    })
    expect(r.status).not.toBe(0)
    expect(r.stderr.trim().split('\n')).toHaveLength(1)
    expect(r.stderr).toMatch(/LATCHKEY_MASTER_KEY/)
    rmSync(dir, { recursive: true, force: true })
  })

  it('generates the operator password and master key once, hands them over once (no terminal: a 0600 file, not the log), keeps the key file private', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'latchkey-gen-'))
    const env = {
      LATCHKEY_ROOT_ACCESS_KEY: '',
      LATCHKEY_ROOT_SECRET_KEY: '',
      LATCHKEY_ROOT_PASSWORD: '',
    }
    const first = await startServer({ dataDir: dir, env })
    const file = join(dir, 'first-start-secrets.txt')
    const saved = readFileSync(file, 'utf8')
    expect(saved).toMatch(/rootPassword: \S{12,}/)
    expect(saved).toMatch(/masterAccessKeyId: S4AK[A-Za-z0-9]{20}/)
    expect(saved).toMatch(/masterSecretKey: \S{40}/)
    expect(statSync(file).mode & 0o777).toBe(0o600)
    expect(first.output.join('\n')).not.toMatch(/rootPassword|masterSecretKey/)
    expect(first.output.join('\n')).toContain(file)
    expect(statSync(join(dir, 'master.key')).mode & 0o777).toBe(0o600)
    await first.stop()
    const second = await startServer({ dataDir: dir, env })
    expect(second.output.join('\n')).not.toMatch(/rootPassword|masterSecretKey/)
    expect(readFileSync(file, 'utf8')).toBe(saved) // nothing generated or written again
    await second.stop()
    rmSync(dir, { recursive: true, force: true })
  })

  it('makes the self-signed certificate once and reuses it; /health answers over HTTPS', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'latchkey-tls-'))
    const a = await startServer({ dataDir: dir, tls: true })
    const certA = readFileSync(join(dir, 'tls-cert.pem'), 'utf8')
    expect(statSync(join(dir, 'tls-key.pem')).mode & 0o777).toBe(0o600)
    const health = await fetch(`${a.endpoint}/health`)
    expect(health.status).toBe(200)
    expect(await health.json()).toEqual({ status: 'ok' })
    await a.stop()
    const b = await startServer({ dataDir: dir, tls: true })
    expect(readFileSync(join(dir, 'tls-cert.pem'), 'utf8')).toBe(certA)
    await b.stop()
    rmSync(dir, { recursive: true, force: true })
  })
})

describe('graceful shutdown', () => {
  it('SIGTERM lets an in-flight upload finish, then exits 0; the object is complete after restart', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'latchkey-term-'))
    const server = await startServer({ dataDir: dir, tls: false })
    const s3 = server.s3()
    await s3.send(new CreateBucketCommand({ Bucket: 'term' }))
    const size = 3 * 1024 * 1024
    const url = await getSignedUrl(s3, new PutObjectCommand({ Bucket: 'term', Key: 'slow.bin' }), {
      expiresIn: 300,
    })
    const chunk = Buffer.alloc(64 * 1024, 7)
    const status = await new Promise<number>((resolve, reject) => {
      const req = request(
        url,
        { method: 'PUT', headers: { 'content-length': String(size) } },
        (res) => {
          res.resume()
          resolve(res.statusCode ?? 0)
        },
      )
      req.on('error', reject)
      let sent = 0
      const tick = (): void => {
        if (sent >= size) return void req.end()
        req.write(chunk)
        sent += chunk.length
        // Send SIGTERM once the upload is well under way.
        if (sent === 16 * chunk.length) server.proc.kill('SIGTERM')
        setTimeout(tick, 5)
      }
      tick()
    })
    expect(status).toBe(200)
    const code = await new Promise<number | null>((r) =>
      server.proc.exitCode !== null ? r(server.proc.exitCode) : server.proc.on('exit', (c) => r(c)),
    )
    expect(code).toBe(0)
    const again = await startServer({ dataDir: dir })
    const got = await again.s3().send(new GetObjectCommand({ Bucket: 'term', Key: 'slow.bin' }))
    const bytes = await got.Body?.transformToByteArray()
    expect(bytes?.length).toBe(size)
    await again.stop()
    rmSync(dir, { recursive: true, force: true })
  }, 60_000)
})
