/**
 * rclone (the Debian build, s3 backend with provider Other) against the real server, configured
 * through environment variables only: mkdir, copy of a tree with a multipart-sized file, ls/lsf,
 * check, an idempotent sync, cat, deletefile and purge. Skips when `rclone` is not installed.
 */
import { execFileSync } from 'node:child_process'
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createHash, randomBytes } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { HeadObjectCommand, ListObjectsV2Command } from '@aws-sdk/client-s3'
import { startServer, type TestServer } from './harness.js'
import { run, type RunResult } from './tools.js'

function hasRclone(): boolean {
  try {
    execFileSync('rclone', ['version'], { stdio: 'ignore', timeout: 30_000 })
    return true
  } catch {
    return false
  }
}
const HAS_RCLONE = hasRclone()

describe.skipIf(!HAS_RCLONE)('rclone', () => {
  let server: TestServer
  let dir: string
  beforeAll(async () => {
    server = await startServer()
    dir = mkdtempSync(join(tmpdir(), 'latchkey-rclone-'))
  })
  afterAll(async () => {
    await server.stop()
    rmSync(dir, { recursive: true, force: true })
  })

  function env(): NodeJS.ProcessEnv {
    const config = join(dir, 'empty-rclone.conf')
    writeFileSync(config, '')
    return {
      PATH: process.env['PATH'],
      HOME: dir,
      RCLONE_CONFIG: config,
      RCLONE_CONFIG_LK_TYPE: 's3',
      RCLONE_CONFIG_LK_PROVIDER: 'Other',
      RCLONE_CONFIG_LK_ENDPOINT: server.endpoint,
      RCLONE_CONFIG_LK_ACCESS_KEY_ID: server.accessKeyId,
      RCLONE_CONFIG_LK_SECRET_ACCESS_KEY: server.secretAccessKey,
      RCLONE_CONFIG_LK_REGION: 'us-east-1',
      RCLONE_CONFIG_LK_FORCE_PATH_STYLE: 'true',
      ...(server.endpoint.startsWith('https') ? { RCLONE_NO_CHECK_CERTIFICATE: 'true' } : {}),
    }
  }
  const rclone = (...args: string[]): Promise<RunResult> =>
    run('rclone', ['--retries', '1', '--low-level-retries', '1', ...args], env())
  const ok = async (...args: string[]): Promise<RunResult> => {
    const r = await rclone(...args)
    expect(r.code, `rclone ${args.join(' ')}\n${r.stderr}`).toBe(0)
    return r
  }
  const md5 = (b: Buffer | string): string => createHash('md5').update(b).digest('hex')

  it('mkdir, copy (multipart), ls, lsf, check, sync, cat, deletefile, purge', async () => {
    const tree = join(dir, 'tree')
    mkdirSync(join(tree, 'sub', 'deeper'), { recursive: true })
    const big = randomBytes(12 * 1024 * 1024) // above the 5M cutoff: 5M + 5M + 2M parts
    writeFileSync(join(tree, 'big.bin'), big)
    writeFileSync(join(tree, 'a.txt'), 'alpha\n')
    writeFileSync(join(tree, 'sub', 'b.txt'), 'bravo bravo\n')
    writeFileSync(join(tree, 'sub', 'deeper', 'c.txt'), 'charlie\n')
    writeFileSync(join(tree, 'sub', 'empty.txt'), '')
    const multipart = ['--s3-upload-cutoff', '5M', '--s3-chunk-size', '5M']

    await ok('mkdir', 'lk:rclone-bucket')
    await ok('copy', ...multipart, tree, 'lk:rclone-bucket/tree')

    // The big file really went up in parts and is intact.
    const s3 = server.s3()
    const head = await s3.send(
      new HeadObjectCommand({ Bucket: 'rclone-bucket', Key: 'tree/big.bin' }),
    )
    expect(head.ContentLength).toBe(big.length)
    expect(head.ETag).toMatch(/-3"$/)
    // rclone stores the whole-file md5 in metadata for multipart uploads.
    expect(head.Metadata?.['md5chksum']).toBe(Buffer.from(md5(big), 'hex').toString('base64'))

    let r = await ok('ls', 'lk:rclone-bucket')
    const ls = r.stdout
      .trim()
      .split('\n')
      .map((line) => line.trim().split(/\s+/))
      .map(([size, name]) => `${String(name)}=${String(size)}`)
      .sort()
    expect(ls).toEqual([
      'tree/a.txt=6',
      `tree/big.bin=${big.length}`,
      'tree/sub/b.txt=12',
      'tree/sub/deeper/c.txt=8',
      'tree/sub/empty.txt=0',
    ])
    r = await ok('lsf', 'lk:rclone-bucket/tree')
    expect(r.stdout.trim().split('\n').sort()).toEqual(['a.txt', 'big.bin', 'sub/'])
    r = await ok('lsf', '-R', '--format', 'ph', '--hash', 'MD5', 'lk:rclone-bucket/tree/sub')
    expect(r.stdout.trim().split('\n').sort()).toEqual([
      `b.txt;${md5('bravo bravo\n')}`,
      'deeper/;',
      `deeper/c.txt;${md5('charlie\n')}`,
      `empty.txt;${md5('')}`,
    ])

    // check compares sizes and MD5s (including the multipart file's stored md5).
    r = await ok('check', tree, 'lk:rclone-bucket/tree')
    expect(r.stderr).toMatch(/0 differences found/)
    expect(r.stderr).toMatch(/5 matching files/)
    // A changed local file makes check fail: the comparison is real.
    writeFileSync(join(tree, 'a.txt'), 'ALPHA\n')
    r = await rclone('check', tree, 'lk:rclone-bucket/tree')
    expect(r.code).not.toBe(0)
    expect(r.stderr).toMatch(/1 differences found/)

    // sync uploads the change, deletes the removed file; a second sync transfers nothing.
    rmSync(join(tree, 'sub', 'deeper', 'c.txt'))
    r = await ok('sync', ...multipart, '-v', tree, 'lk:rclone-bucket/tree')
    expect(r.stderr).toMatch(/a\.txt: Copied/)
    expect(r.stderr).toMatch(/c\.txt: Deleted/)
    r = await ok('sync', ...multipart, '-v', tree, 'lk:rclone-bucket/tree')
    expect(r.stderr).not.toMatch(/Copied|Deleted/)
    expect(r.stderr).toMatch(/There was nothing to transfer/)
    await ok('check', tree, 'lk:rclone-bucket/tree')

    r = await ok('cat', 'lk:rclone-bucket/tree/a.txt')
    expect(r.stdout).toBe('ALPHA\n')
    // A ranged read: the bytes are binary, so compare them as hex rather than through a string.
    const slice = join(dir, 'slice.bin')
    r = await run(
      'sh',
      ['-c', `rclone cat --offset 1000 --count 10 lk:rclone-bucket/tree/big.bin > '${slice}'`],
      env(),
    )
    expect(r.code, r.stderr).toBe(0)
    expect(readFileSync(slice).equals(big.subarray(1000, 1010))).toBe(true)

    // Download the tree back and compare bytes.
    const down = join(dir, 'down')
    await ok('copy', 'lk:rclone-bucket/tree', down)
    expect(readFileSync(join(down, 'big.bin')).equals(big)).toBe(true)
    expect(readFileSync(join(down, 'sub', 'b.txt'), 'utf8')).toBe('bravo bravo\n')

    await ok('deletefile', 'lk:rclone-bucket/tree/a.txt')
    r = await ok('lsf', 'lk:rclone-bucket/tree')
    expect(r.stdout.trim().split('\n').sort()).toEqual(['big.bin', 'sub/'])
    r = await rclone('cat', 'lk:rclone-bucket/tree/a.txt')
    expect(r.stdout).toBe('') // rclone cat of a missing file prints nothing (and exits 0)
    const gone = await s3
      .send(new HeadObjectCommand({ Bucket: 'rclone-bucket', Key: 'tree/a.txt' }))
      .then(() => 'exists')
      .catch((e: { name?: string }) => String(e.name))
    expect(gone).toBe('NotFound')

    await ok('purge', 'lk:rclone-bucket')
    r = await ok('lsd', 'lk:')
    expect(r.stdout).not.toContain('rclone-bucket')
    const list = await s3
      .send(new ListObjectsV2Command({ Bucket: 'rclone-bucket' }))
      .then(() => 'exists')
      .catch((e: { name?: string }) => String(e.name))
    expect(list).toBe('NoSuchBucket')
  }, 120_000)

  it('bad credentials fail with a clear error and change nothing', async () => {
    await ok('mkdir', 'lk:rclone-auth')
    const r = await run(
      'rclone',
      ['--retries', '1', '--low-level-retries', '1', 'mkdir', 'lk:rclone-nope'],
      {
        ...env(),
        RCLONE_CONFIG_LK_SECRET_ACCESS_KEY: 'wrong-secret-wrong-secret-wrong-secret00',
      },
    )
    expect(r.code).not.toBe(0)
    expect(r.stderr).toContain('SignatureDoesNotMatch')
    const lsd = await ok('lsd', 'lk:')
    expect(lsd.stdout).toContain('rclone-auth')
    expect(lsd.stdout).not.toContain('rclone-nope')
  })
})
