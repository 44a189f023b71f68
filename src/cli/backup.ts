/**
 * `latchkey backup --to DIR` and `latchkey restore --from DIR --data-dir NEWDIR`.
 *
 * backup: a running server holds its database with an exclusive lock, so only it can copy it.
 * The command asks it (POST /api/admin/backup, with the admin CLI's stored login: `latchkey
 * admin login` first, as the operator) to make a consistent backup in its own data dir
 * (backends/sqlite/backup.ts), then copies that directory to DIR, checks every file against the
 * manifest, and removes the server-side copy. It therefore runs on the server's machine, as a
 * user that can read the data dir (the server's user, or root). The master key is never part of
 * a backup: keep it separately.
 *
 * restore: refuses a non-empty data dir (and, when LATCHKEY_MASTER_KEY is set, a key whose
 * fingerprint is not the backup's), checks every file of the backup against its manifest
 * before writing anything (a damaged backup is refused with the file and what is wrong), then
 * copies the database and the blobs into the data dir's layout and checks the copies again. A
 * server started there with the same master key serves everything the backup holds.
 *
 * Exit codes are the admin CLI's (cli/admin/args.ts EXIT): 0 ok, 1 failed (the server refused,
 * a damaged backup, a non-empty data dir), 2 usage, 3 not logged in, 4 server unreachable.
 * @module
 */
import { copyFile, mkdir, open, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises'
import { constants as FS } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import { EXIT, parseArgs, UsageError } from './admin/args.js'
import { CliError, endpointOf, readToken, request, type Io } from './admin/client.js'
import { parseMasterKey } from '../crypto/master-key.js'
import {
  MANIFEST_FILE,
  MASTER_KEY_NOTE,
  masterKeyFingerprint,
  parseManifest,
  verifyFiles,
  type Manifest,
} from '../backup/manifest.js'

export const BACKUP_USAGE = `usage: latchkey backup --to DIR [--endpoint URL] [--json] [--insecure]
       a consistent backup of a running server (SQLite mode), on its machine, after
       latchkey admin login as the operator; the master key is NOT included: keep it apart
usage: latchkey restore --from DIR --data-dir NEWDIR [--json]
       a backup, checked file by file, into an empty data dir`

export type BackupIo = Pick<Io, 'out' | 'err' | 'env' | 'now'>

/** How long the server may take to make a backup (it hashes every blob). */
const BACKUP_TIMEOUT_MS = 6 * 60 * 60 * 1000

/** True when `dir` does not exist or is an empty directory; throws if it is a file. */
async function isEmptyDir(dir: string): Promise<boolean> {
  const st = await stat(dir).catch(() => undefined)
  if (st === undefined) return true
  if (!st.isDirectory()) throw new CliError(EXIT.api, `${dir} is not a directory`)
  return (await readdir(dir)).length === 0
}

async function fsyncFile(path: string): Promise<void> {
  const fh = await open(path, 'r')
  try {
    await fh.sync()
  } finally {
    await fh.close()
  }
}

/** Copy every file the manifest names from `from` to `to` (same relative paths), fsynced. */
async function copyAll(from: string, to: string, m: Manifest): Promise<void> {
  const made = new Set<string>()
  for (const e of [m.database, ...m.blobs]) {
    const dst = join(to, e.path)
    const parent = dirname(dst)
    if (!made.has(parent)) {
      await mkdir(parent, { recursive: true, mode: 0o700 })
      made.add(parent)
    }
    await copyFile(join(from, e.path), dst, FS.COPYFILE_EXCL | FS.COPYFILE_FICLONE)
    await fsyncFile(dst)
  }
}

/** "N problems" as lines, at most 10 of them shown. */
function damage(problems: readonly string[]): string {
  const shown = problems.slice(0, 10).map((p) => `  ${p}`)
  if (problems.length > 10) shown.push(`  … and ${problems.length - 10} more`)
  return shown.join('\n')
}

async function backup(argv: string[], io: BackupIo): Promise<void> {
  const p = parseArgs(argv, { values: ['--to', '--endpoint'] })
  const to = p.values.get('--to')
  if (to === undefined) throw new UsageError('--to DIR is required')
  const t = readToken(io.env, io.now())
  const wanted = p.values.get('--endpoint')
  if (wanted !== undefined && endpointOf(wanted) !== t.endpoint)
    throw new CliError(
      EXIT.notLoggedIn,
      `logged in to ${t.endpoint}, not ${endpointOf(wanted)}: run latchkey admin login --endpoint ${endpointOf(wanted)}`,
    )
  const target = resolve(to)
  if (!(await isEmptyDir(target)))
    throw new CliError(EXIT.api, `${target} is not empty: back up into a new or empty directory`)
  const answer = await request(t.endpoint, 'POST', '/api/admin/backup', {
    token: t.token,
    insecure: t.insecure || p.flags.has('--insecure'),
    timeoutMs: BACKUP_TIMEOUT_MS,
  })
  const a = answer.json as { id?: unknown; path?: unknown; manifest?: unknown } | undefined
  if (typeof a?.path !== 'string' || typeof a.id !== 'string')
    throw new CliError(EXIT.api, 'the server answered no backup')
  const serverDir = a.path
  let m: Manifest
  try {
    m = parseManifest(JSON.stringify(a.manifest))
  } catch (e) {
    throw new CliError(EXIT.api, `the server's answer: ${(e as Error).message}`)
  }
  const readable = await stat(join(serverDir, MANIFEST_FILE)).catch(() => undefined)
  if (readable === undefined)
    throw new CliError(
      EXIT.api,
      `the server made backup ${a.id} in ${serverDir}, which cannot be read here: run latchkey backup on the server's machine, as the server's user or root (the backup is left there)`,
    )
  await mkdir(target, { recursive: true, mode: 0o700 })
  try {
    await copyAll(serverDir, target, m)
    await writeFile(join(target, MANIFEST_FILE), JSON.stringify(m, null, 2) + '\n', {
      mode: 0o600,
      flag: 'wx',
    })
    await fsyncFile(join(target, MANIFEST_FILE))
    const problems = await verifyFiles(target, m)
    if (problems.length > 0)
      throw new CliError(
        EXIT.api,
        `the copy in ${target} does not match its manifest:\n${damage(problems)}`,
      )
  } catch (e) {
    // Nothing half-made is left to be mistaken for a backup; the server's copy stays.
    await rm(target, { recursive: true, force: true }).catch(() => undefined)
    throw e
  }
  // The copy is whole: the server-side one (hard links and a database copy) is no longer needed.
  await rm(serverDir, { recursive: true, force: true }).catch((e: unknown) => {
    io.err(`latchkey backup: could not remove the server-side copy ${serverDir}: ${String(e)}`)
  })
  const bytes = m.database.size + m.counts.blobBytes
  if (p.flags.has('--json')) io.out(JSON.stringify({ id: m.id, dir: target, manifest: m }))
  else {
    io.out(
      `backup ${m.id} in ${target}: database ${m.database.size} bytes, ${m.counts.blobs} blobs, ${bytes} bytes in all, checksums verified`,
    )
    io.out(`${MASTER_KEY_NOTE} Its fingerprint: ${m.masterKey.fingerprint}.`)
  }
}

async function restore(argv: string[], io: BackupIo): Promise<void> {
  const p = parseArgs(argv, { values: ['--from', '--data-dir'] })
  const from = p.values.get('--from')
  const dataDirArg = p.values.get('--data-dir')
  if (from === undefined) throw new UsageError('--from DIR is required')
  if (dataDirArg === undefined) throw new UsageError('--data-dir NEWDIR is required')
  const source = resolve(from)
  const dataDir = resolve(dataDirArg)
  let text: string
  try {
    text = await readFile(join(source, MANIFEST_FILE), 'utf8')
  } catch {
    throw new CliError(EXIT.api, `${source} is not a Latchkey backup (no ${MANIFEST_FILE})`)
  }
  let m: Manifest
  try {
    m = parseManifest(text)
  } catch (e) {
    throw new CliError(EXIT.api, `backup ${source}: ${(e as Error).message}`)
  }
  if (!(await isEmptyDir(dataDir)))
    throw new CliError(
      EXIT.api,
      `${dataDir} is not empty: restore only into a new or empty data dir (nothing was changed)`,
    )
  // A server started with another key would open none of the stored secrets: say so now.
  const envKey = io.env['LATCHKEY_MASTER_KEY']
  if (envKey !== undefined && envKey !== '') {
    let key: Buffer
    try {
      key = parseMasterKey(envKey, 'LATCHKEY_MASTER_KEY')
    } catch (e) {
      throw new CliError(EXIT.api, (e as Error).message)
    }
    const got = masterKeyFingerprint(key)
    if (got !== m.masterKey.fingerprint)
      throw new CliError(
        EXIT.api,
        `LATCHKEY_MASTER_KEY (fingerprint ${got}) is not the master key backup ${m.id} was made under (fingerprint ${m.masterKey.fingerprint}); nothing was changed`,
      )
  }
  const problems = await verifyFiles(source, m)
  if (problems.length > 0)
    throw new CliError(
      EXIT.api,
      `backup ${source} is damaged; refusing to restore (nothing was changed):\n${damage(problems)}`,
    )
  const existed = (await stat(dataDir).catch(() => undefined)) !== undefined
  await mkdir(dataDir, { recursive: true, mode: 0o700 })
  try {
    await copyAll(source, dataDir, m)
    const after = await verifyFiles(dataDir, m)
    if (after.length > 0)
      throw new CliError(
        EXIT.api,
        `the restored files do not match the manifest:\n${damage(after)}`,
      )
  } catch (e) {
    // Leave the data dir as it was found: empty (or absent).
    if (existed)
      for (const name of await readdir(dataDir))
        await rm(join(dataDir, name), { recursive: true, force: true })
    else await rm(dataDir, { recursive: true, force: true })
    throw e
  }
  if (p.flags.has('--json')) io.out(JSON.stringify({ id: m.id, dataDir, manifest: m }))
  else {
    io.out(
      `restored backup ${m.id} (made ${m.createdAt} by Latchkey ${m.latchkeyVersion}) into ${dataDir}: database and ${m.counts.blobs} blobs, checksums verified`,
    )
    io.out(
      `start it with: latchkey serve --data-dir ${dataDir}, with the same master key (fingerprint ${m.masterKey.fingerprint}): LATCHKEY_MASTER_KEY, or a copy of the old data dir's master.key in ${dataDir}`,
    )
  }
}

/** `latchkey backup …` or `latchkey restore …`: one line on failure, the exit code. */
export async function runBackupCommand(
  cmd: 'backup' | 'restore',
  argv: string[],
  io: BackupIo = {
    out: (line) => void process.stdout.write(line + '\n'),
    err: (line) => void process.stderr.write(line + '\n'),
    env: process.env,
    now: Date.now,
  },
): Promise<number> {
  if (argv.includes('--help') || argv.includes('-h')) {
    io.out(BACKUP_USAGE)
    return EXIT.ok
  }
  try {
    await (cmd === 'backup' ? backup(argv, io) : restore(argv, io))
    return EXIT.ok
  } catch (e) {
    if (e instanceof UsageError) {
      io.err(`latchkey ${cmd}: ${e.message}`)
      io.err(BACKUP_USAGE)
      return EXIT.usage
    }
    io.err(`latchkey ${cmd}: ${e instanceof Error ? e.message : String(e)}`)
    return e instanceof CliError ? e.exitCode : EXIT.api
  }
}
