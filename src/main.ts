#!/usr/bin/env -S node --max-semi-space-size=64 --no-memory-reducer
/**
 * The `latchkey` command: argv + env → Config → startApp(). Subcommands: `serve` (default),
 * `policy simulate`, `sts assume-role`, `admin reset-root-password` (recovery), `admin …`
 * (a running server), `migrate` (single node → cluster), `backup` and `restore` (cli/backup.ts),
 * and `--version`, `--help`. The help lists every serve flag from config.ts's SERVE_FLAGS, so a
 * new flag cannot be left out of it. A bad flag or value prints one clear line and exits 2. The
 * server's code (and migrate's engines) load only for the command that needs them.
 * @module
 */
import { readFileSync } from 'node:fs'
import { loadConfig, ConfigError, SERVE_FLAGS } from './config/config.js'
import { POLICY_SIMULATE_USAGE, runPolicySimulate } from './cli/policy-simulate.js'
import { STS_ASSUME_ROLE_USAGE, runStsAssumeRole } from './cli/sts-assume-role.js'
import { RESET_ROOT_PASSWORD_USAGE, runResetRootPassword } from './cli/admin-reset-root-password.js'
import { ADMIN_USAGE, runAdmin } from './cli/admin/index.js'
import { BACKUP_USAGE, runBackupCommand } from './cli/backup.js'
import { showFirstStartSecrets, warnIfSecretsFileLeft } from './app/first-start-secrets.js'

const MIGRATE_USAGE = `  latchkey migrate --from sqlite:DIR --to postgres://USER:PASS@HOST:PORT/DB [--blob-store URL]
        (single node → cluster: source server stopped, target database empty,
         LATCHKEY_MASTER_KEY = the install's key; without --blob-store the bodies stay
         in DIR/objects, which becomes the cluster's --blob-store)`

/** What each serve flag takes and does; a flag missing here is still listed, with its variable. */
const SERVE_HELP: Readonly<Record<string, readonly [value: string, text: string]>> = {
  '--address': ['HOST:PORT', 'listener for S3, STS and the admin API (default 0.0.0.0:9000)'],
  '--data-dir': ['DIR', 'SQLite database, object files, key file (default ./data)'],
  '--tls-cert': ['FILE', 'serve HTTPS with this certificate (with --tls-key)'],
  '--tls-key': ['FILE', "the certificate's private key"],
  '--tls-self-signed': ['', 'HTTPS with a certificate for localhost, made once in the data dir'],
  '--sts-default-duration': ['S', 'AssumeRole lifetime without DurationSeconds (default 3600)'],
  '--sts-max-duration': ['S', 'largest DurationSeconds accepted (default 43200; 90d = 7776000)'],
  '--database': ['URL', 'postgres://USER:PASS@HOST:PORT/DB: several nodes on one database'],
  '--blob-store': ['URL', 'file:/shared/dir or s3://BUCKET[/PREFIX] (default: the data dir)'],
  '--domain': ['DOMAIN', 'virtual-hosted-style addressing (bucket.DOMAIN)'],
  '--region': ['REGION', 'region reported by GetBucketLocation (default us-east-1)'],
  '--log-level': ['LEVEL', 'debug, info, warn, error, silent (default info)'],
  '--sts-issue-rate': ['N', 'STS sessions issued per second per key or user (default 600)'],
  '--sts-issue-burst': ['N', 'STS sessions one key or user may issue at once (default 1200)'],
  '--max-sessions-per-parent': ['N', 'STS sessions held per key or user (default 1000000)'],
  '--session-cache-entries': ['N', 'STS sessions kept in memory (default 100000)'],
  '--session-sweep-interval': ['S', 'seconds between sweeps of ended STS sessions (default 60)'],
  '--request-idle-timeout': ['S', 'cut a client idle this long (default 30)'],
  '--max-inflight': ['N', 'S3 requests at once before 503 SlowDown (default 1024)'],
  '--max-inflight-per-caller': ['N', "one caller's share of --max-inflight (default 128)"],
  '--presign-max-age': ['S', 'longest presigned URL lifetime (default and at most 7d)'],
  '--trusted-proxies': ['CIDR,…', 'load balancers whose X-Forwarded-For names the client'],
  '--lifecycle-day-seconds': ['N', 'FOR TESTING ONLY: lifecycle rules count days of N seconds'],
  '--aws-bucket-defaults': [
    '',
    "new buckets start as AWS's do: ACLs disabled, public access blocked",
  ],
  '--access-log': ['on|off|sample=N', 'one JSON line per request at info (default on)'],
  '--audit': ['on|off', 'record the audit trail in the database (default on)'],
  '--audit-requests': [
    'on|off',
    'off: no audit event per request made with temporary credentials (default on)',
  ],
  '--audit-retention': ['DURATION', 'keep audit events this long, e.g. 90d, 12h (default 90d)'],
  '--metrics-address': ['HOST:PORT', 'serve /metrics on a listener of its own, without a token'],
}

/** Environment-only settings (no flag). */
const SERVE_ENV_ONLY = `  LATCHKEY_ROOT_USER, LATCHKEY_ROOT_PASSWORD      the operator's admin login (seed)
  LATCHKEY_ROOT_ACCESS_KEY, LATCHKEY_ROOT_SECRET_KEY   the default account's master key (seed)
  LATCHKEY_ROOT_KEY_OVERRIDE=1, LATCHKEY_ROOT_PASSWORD_OVERRIDE=1   replace stored ones
  LATCHKEY_MASTER_KEY                              key sealing stored secrets (required with postgres://)
  LATCHKEY_METRICS_TOKEN                           /metrics on the main port asks this Bearer token
  LATCHKEY_BLOB_S3_ENDPOINT, _REGION, _ACCESS_KEY_ID, _SECRET_ACCESS_KEY, _FORCE_PATH_STYLE=1
                                                   the upstream of --blob-store s3://`

const usageOf = (u: string): string => u.replace(/^usage: /, '  ').replace(/\n {7}/g, '\n        ')

export const USAGE = `usage: latchkey [COMMAND] [FLAGS]        (from a checkout or an npm install: npx latchkey …)

commands:
  serve                       run the server (the default when no command is given)
  policy simulate             decide one request against policy files, offline
  sts assume-role             temporary credentials from a running server, for scripts
  admin reset-root-password   a new operator password (server stopped)
  admin …                     users, keys, customers, sessions on a running server (below)
  migrate                     move a single-node install into a PostgreSQL cluster
  backup, restore             a running server's backup to a directory; restore it (below)
  --version, -v               print the version
  --help, -h                  print this help

latchkey serve [FLAGS]        each flag can also be set by its environment variable
${Object.entries(SERVE_FLAGS)
  .map(([flag, env]) => {
    const [value, text] = SERVE_HELP[flag] ?? ['', '']
    return `  ${`${flag} ${value}`.padEnd(30)}${env}\n  ${' '.repeat(30)}${text}`.trimEnd()
  })
  .join('\n')}
environment only:
${SERVE_ENV_ONLY}

${usageOf(POLICY_SIMULATE_USAGE)}
${usageOf(STS_ASSUME_ROLE_USAGE)}
${usageOf(RESET_ROOT_PASSWORD_USAGE)}
${MIGRATE_USAGE}
${usageOf(BACKUP_USAGE).replace(/\nusage: /, '\n  ')}

${ADMIN_USAGE.replace(/^usage: /, '')}`

/** The package's version (package.json next to dist/). */
function version(): string {
  const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as {
    version?: unknown
  }
  return typeof pkg.version === 'string' ? pkg.version : 'unknown'
}

async function main(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv
  const out = (line: string): void => void process.stdout.write(line + '\n')
  if (cmd === '--help' || cmd === '-h' || cmd === 'help') {
    out(USAGE)
    return 0
  }
  if (cmd === '--version' || cmd === '-v' || cmd === 'version') {
    out(`latchkey ${version()}`)
    return 0
  }
  if (cmd === 'policy' && rest[0] === 'simulate') return runPolicySimulate(rest.slice(1), out)
  if (cmd === 'sts' && rest[0] === 'assume-role')
    return runStsAssumeRole(rest.slice(1), process.env, out)
  if (cmd === 'admin' && rest[0] === 'reset-root-password')
    return runResetRootPassword(rest.slice(1), process.env, {
      out,
      err: (line) => void process.stderr.write(line + '\n'),
      stdin: process.stdin,
    })
  if (cmd === 'admin') return runAdmin(rest)
  if (cmd === 'migrate') {
    const { runMigrate } = await import('./app/migrate.js')
    return runMigrate(rest, process.env, {
      out,
      err: (line) => void process.stderr.write(line + '\n'),
    })
  }
  if (cmd === 'backup' || cmd === 'restore') return runBackupCommand(cmd, rest)
  if (cmd !== undefined && cmd !== 'serve' && !cmd.startsWith('--')) {
    process.stderr.write(`latchkey: unknown command "${cmd}"\n${USAGE}\n`)
    return 2
  }
  const serveArgs = cmd === 'serve' ? rest : argv
  if (serveArgs.includes('--help') || serveArgs.includes('-h')) {
    out(USAGE)
    return 0
  }
  let config
  try {
    config = loadConfig(serveArgs, process.env)
  } catch (e) {
    if (e instanceof ConfigError) {
      process.stderr.write(`latchkey: ${e.message}\n`)
      return 2
    }
    throw e
  }
  // The server's code loads only for `serve`: the other commands start in a fraction of the time.
  const { createAccessLogger, createLogger } = await import('./lib/pino-logger.js')
  const { startApp } = await import('./app/compose.js')
  const log = createLogger(config.logLevel)
  let app
  try {
    app = await startApp(config, log, { accessLogger: createAccessLogger(config.logLevel) })
  } catch (e) {
    // A storage error's cause is the driver's own words (e.g. connect ECONNREFUSED host:port).
    const cause = e instanceof Error && e.cause instanceof Error ? ` (${e.cause.message})` : ''
    process.stderr.write(
      `latchkey: cannot start: ${e instanceof Error ? e.message : String(e)}${cause}\n`,
    )
    return 1
  }
  // Shown once the listener is bound, then confirmed: a start that failed after they were
  // generated left them pending, and this start shows them. Never on stdout (the log stream):
  // to the terminal on stderr, or to a 0600 file in the data dir (first-start-secrets.ts).
  const g = app.generated
  if (Object.keys(g).length > 0) {
    let shown = false
    try {
      showFirstStartSecrets({
        secrets: g,
        dataDir: config.dataDir,
        stderr: process.stderr,
        log,
        now: new Date(),
        url: app.url,
      })
      shown = true
    } catch (err) {
      log.error(
        { err: err instanceof Error ? err.message : String(err) },
        'could not deliver the first-start secrets; the next start shows them again',
      )
    }
    if (shown)
      await app.firstStartSecretsShown().catch((err: unknown) => {
        log.warn(
          { err: err instanceof Error ? err.message : String(err) },
          'could not record that the first-start secrets were shown; the next start shows them again',
        )
      })
  } else {
    warnIfSecretsFileLeft(config.dataDir, log)
  }
  process.stdout.write(
    JSON.stringify({
      level: 'info',
      msg: 'listening',
      url: app.url,
      ...(app.metricsUrl !== undefined ? { metricsUrl: app.metricsUrl } : {}),
      // node's own flags (`npm start` passes config/node-flags.ts's): what V8 runs the server with.
      ...(process.execArgv.length > 0 ? { nodeFlags: process.execArgv } : {}),
    }) + '\n',
  )
  let stopping = false
  const stop = (signal: string): void => {
    if (stopping) return
    stopping = true
    log.info({ signal }, 'shutting down: finishing in-flight requests')
    app
      .close()
      .then(() => process.exit(0))
      .catch((err: unknown) => {
        log.error({ err }, 'shutdown failed')
        process.exit(1)
      })
  }
  process.on('SIGTERM', () => stop('SIGTERM'))
  process.on('SIGINT', () => stop('SIGINT'))
  return -1
}

main(process.argv.slice(2)).then(
  (code) => {
    if (code >= 0) process.exitCode = code
  },
  (err: unknown) => {
    process.stderr.write(`latchkey: ${err instanceof Error ? err.message : String(err)}\n`)
    process.exit(1)
  },
)
