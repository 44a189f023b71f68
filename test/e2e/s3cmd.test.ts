/**
 * s3cmd (the Debian build) against the real server, configured by a config file it is pointed at:
 * mb, put of a small file and of a multipart-sized one, ls/la, info (metadata), get byte-exact,
 * sync of a tree (and an idempotent second sync), del, rb; once with SigV4 (its default) and once
 * with `--signature-v2`. Skips when `s3cmd` is not installed (`.ci/run` installs it).
 */
import { execFileSync } from 'node:child_process'
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { randomBytes } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startServer, type TestServer } from './harness.js'
import { run, type RunResult } from './tools.js'

function hasS3cmd(): boolean {
  try {
    execFileSync('s3cmd', ['--version'], { stdio: 'ignore', timeout: 30_000 })
    return true
  } catch {
    return false
  }
}
const HAS_S3CMD = hasS3cmd()

describe.skipIf(!HAS_S3CMD)('s3cmd', () => {
  let server: TestServer
  let dir: string
  beforeAll(async () => {
    server = await startServer()
    dir = mkdtempSync(join(tmpdir(), 'latchkey-s3cmd-'))
  })
  afterAll(async () => {
    await server?.stop()
    rmSync(dir, { recursive: true, force: true })
  })

  function config(): string {
    const u = new URL(server.endpoint)
    const file = join(dir, 's3cfg')
    writeFileSync(
      file,
      [
        '[default]',
        `access_key = ${server.accessKeyId}`,
        `secret_key = ${server.secretAccessKey}`,
        `host_base = ${u.host}`,
        `host_bucket = ${u.host}`, // no %(bucket)s: path-style
        `use_https = ${u.protocol === 'https:' ? 'True' : 'False'}`,
        'check_ssl_certificate = False',
        'bucket_location = us-east-1',
        'multipart_chunk_size_mb = 5',
        '',
      ].join('\n'),
    )
    return file
  }

  const s3cmd = (...args: string[]): Promise<RunResult> =>
    run('s3cmd', ['-c', config(), '--no-progress', ...args], {
      PATH: process.env['PATH'],
      HOME: dir,
    })
  const ok = async (...args: string[]): Promise<RunResult> => {
    const r = await s3cmd(...args)
    expect(r.code, `s3cmd ${args.join(' ')}\n${r.stdout}\n${r.stderr}`).toBe(0)
    return r
  }

  for (const [name, extra] of [
    ['SigV4', []],
    ['SigV2 (--signature-v2)', ['--signature-v2']],
  ] as const) {
    it(`${name}: mb, put (small and multipart), ls, info, get, sync, del, rb`, async () => {
      const bucket = `s3cmd-${extra.length === 0 ? 'v4' : 'v2'}`
      const x = [...extra]
      await ok(...x, 'mb', `s3://${bucket}`)
      const small = join(dir, `small-${bucket}.txt`)
      writeFileSync(small, 'hello from s3cmd\n')
      const big = join(dir, `big-${bucket}.bin`)
      const bigData = randomBytes(12 * 1024 * 1024 + 3) // three parts of 5 MiB chunks
      writeFileSync(big, bigData)
      await ok(...x, 'put', small, `s3://${bucket}/docs/small.txt`, '--mime-type=text/plain')
      await ok(...x, 'put', big, `s3://${bucket}/big.bin`)

      const ls = await ok(...x, 'ls', '--recursive', `s3://${bucket}`)
      expect(ls.stdout).toContain(`s3://${bucket}/docs/small.txt`)
      expect(ls.stdout).toContain(`s3://${bucket}/big.bin`)
      expect(ls.stdout).toContain(String(bigData.length))
      const la = await ok(...x, 'la')
      expect(la.stdout).toContain(`s3://${bucket}/big.bin`)

      const info = await ok(...x, 'info', `s3://${bucket}/docs/small.txt`)
      expect(info.stdout).toMatch(/MIME type:\s+text\/plain/)
      expect(info.stdout).toMatch(/File size:\s+17/)

      const back = join(dir, `back-${bucket}.bin`)
      await ok(...x, 'get', `s3://${bucket}/big.bin`, back)
      expect(readFileSync(back).equals(bigData)).toBe(true)

      const tree = join(dir, `tree-${bucket}`)
      mkdirSync(join(tree, 'sub'), { recursive: true })
      writeFileSync(join(tree, 'a.txt'), 'a')
      writeFileSync(join(tree, 'sub', 'b.txt'), 'bb')
      await ok(...x, 'sync', `${tree}/`, `s3://${bucket}/tree/`)
      const again = await ok(...x, 'sync', `${tree}/`, `s3://${bucket}/tree/`)
      expect(again.stdout).not.toContain('upload:') // nothing changed, nothing sent
      const treeLs = await ok(...x, 'ls', '--recursive', `s3://${bucket}/tree/`)
      expect(treeLs.stdout).toContain('tree/sub/b.txt')

      await ok(...x, 'del', '--recursive', '--force', `s3://${bucket}`)
      const empty = await ok(...x, 'ls', '--recursive', `s3://${bucket}`)
      expect(empty.stdout.trim()).toBe('')
      await ok(...x, 'rb', `s3://${bucket}`)
      const gone = await s3cmd(...x, 'ls', `s3://${bucket}`)
      expect(gone.code).not.toBe(0)
    }, 120_000)
  }
})
