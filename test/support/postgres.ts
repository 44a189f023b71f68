/**
 * A throwaway PostgreSQL for tests: `LATCHKEY_TEST_DATABASE_URL` when given, else a cluster of
 * its own (`initdb` + `pg_ctl` into a temp dir, on a free loopback port, fsync off: tests need
 * speed, not durability), stopped and removed by `stop()`. Each caller gets fresh databases from
 * `createDatabase()`, so suites never see each other's rows. As root (CI containers), the server
 * runs as the `postgres` user (PostgreSQL refuses to run as root).
 *
 * Returns undefined when no PostgreSQL is installed: suites then skip, saying why. `.ci/run`
 * installs Debian's postgresql, so CI always runs them.
 *
 * The benchmark (bench/targets/postgres.ts) uses it too, with its own URL variable and a durable
 * cluster (fsync on: its PUT figures are compared with SQLite's durable writes), and reads the
 * server's CPU time through `serverPid`.
 */
import { execFileSync, spawnSync } from 'node:child_process'
import { chmodSync, existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { randomBytes } from 'node:crypto'
import pg from 'pg'
import { freePort } from './ports.js'

export interface TestPostgres {
  /** A connection URL for database `db`. */
  url(db: string): string
  /** A new empty database; returns its URL. */
  createDatabase(): Promise<string>
  /**
   * Stop the server (fast shutdown: connections are cut) and start it again on the same port and
   * data; only for a cluster this module started (undefined for LATCHKEY_TEST_DATABASE_URL).
   */
  readonly halt?: () => void
  readonly resume?: () => void
  stop(): Promise<void>
  /** The postmaster's pid when the cluster is ours (undefined for a given URL; as first started). */
  readonly serverPid?: number
}

export interface PostgresOptions {
  /** The variable naming an existing server to use instead (default LATCHKEY_TEST_DATABASE_URL). */
  readonly urlEnv?: string
  /** fsync and synchronous commit on (default off: tests need speed, not durability). */
  readonly durable?: boolean
}

function findBin(name: string): string | undefined {
  const which = spawnSync('sh', ['-c', `command -v ${name}`], { encoding: 'utf8' })
  if (which.status === 0 && which.stdout.trim() !== '') return which.stdout.trim()
  const base = '/usr/lib/postgresql'
  if (!existsSync(base)) return undefined
  for (const v of readdirSync(base).sort().reverse()) {
    const p = join(base, v, 'bin', name)
    if (existsSync(p)) return p
  }
  return undefined
}

async function withClient<T>(url: string, fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const c = new pg.Client({ connectionString: url })
  await c.connect()
  try {
    return await fn(c)
  } finally {
    await c.end()
  }
}

function databases(base: string): TestPostgres['createDatabase'] {
  return async () => {
    const name = `lk_${randomBytes(6).toString('hex')}`
    await withClient(base, (c) => c.query(`CREATE DATABASE ${name}`))
    const u = new URL(base)
    u.pathname = `/${name}`
    return u.toString()
  }
}

export async function startPostgres(opts: PostgresOptions = {}): Promise<TestPostgres | undefined> {
  const given = process.env[opts.urlEnv ?? 'LATCHKEY_TEST_DATABASE_URL']
  if (given !== undefined && given !== '') {
    const url = (db: string): string => {
      const u = new URL(given)
      u.pathname = `/${db}`
      return u.toString()
    }
    return { url, createDatabase: databases(given), stop: async () => {} }
  }
  const initdb = findBin('initdb')
  const pgCtl = findBin('pg_ctl')
  if (initdb === undefined || pgCtl === undefined) return undefined
  const dir = mkdtempSync(join(tmpdir(), 'lk-pg-'))
  chmodSync(dir, 0o777)
  const data = join(dir, 'data')
  const asRoot = process.getuid?.() === 0
  const run = (cmd: string, args: readonly string[]): void => {
    const [file, argv] = asRoot
      ? ['runuser', ['-u', 'postgres', '--', cmd, ...args]]
      : [cmd, [...args]]
    execFileSync(file, argv, { stdio: 'pipe', cwd: dir })
  }
  const port = await freePort()
  run(initdb, ['-D', data, '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--no-sync'])
  const start = (): void =>
    run(pgCtl, [
      '-D',
      data,
      '-l',
      join(dir, 'log'),
      '-o',
      `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1${opts.durable === true ? '' : ' -c fsync=off -c synchronous_commit=off -c full_page_writes=off'} -c max_connections=200`,
      '-w',
      'start',
    ])
  start()
  const base = `postgres://postgres@127.0.0.1:${port}/postgres`
  // postmaster.pid's first line; the backends are its children.
  const serverPid = Number(readFileSync(join(data, 'postmaster.pid'), 'utf8').split('\n')[0])
  return {
    serverPid,
    url: (db) => `postgres://postgres@127.0.0.1:${port}/${db}`,
    createDatabase: databases(base),
    halt: () => run(pgCtl, ['-D', data, '-m', 'fast', '-w', 'stop']),
    resume: start,
    stop: async () => {
      try {
        run(pgCtl, ['-D', data, '-m', 'immediate', '-w', 'stop'])
      } finally {
        rmSync(dir, { recursive: true, force: true })
      }
    },
  }
}
