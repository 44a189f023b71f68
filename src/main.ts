#!/usr/bin/env node
/**
 * The `latchkey` command: argv + env → Config → startApp(). Subcommands: `serve` (default),
 * `policy simulate`, `sts assume-role`, `admin reset-root-password` (recovery), `migrate` (single
 * node → cluster). A bad flag
 * or value prints one clear line and exits 2.
 * @module
 */
import { loadConfig, ConfigError } from './config/config.js'
import { createLogger } from './lib/pino-logger.js'
import { startApp } from './app/compose.js'
import { runPolicySimulate } from './cli/policy-simulate.js'
import { runStsAssumeRole } from './cli/sts-assume-role.js'
import { runResetRootPassword } from './cli/admin-reset-root-password.js'
import { runMigrate } from './cli/migrate.js'
import { showFirstStartSecrets, warnIfSecretsFileLeft } from './app/first-start-secrets.js'

const USAGE = `usage:
  latchkey serve [--address HOST:PORT] [--data-dir DIR] [--tls-cert FILE --tls-key FILE | --tls-self-signed]
                 [--sts-default-duration S] [--sts-max-duration S] [--domain DOMAIN] [--region REGION]
                 [--log-level LEVEL] [--max-sessions-per-parent N] [--presign-max-age S]
                 [--request-idle-timeout S] [--max-inflight N] [--max-inflight-per-caller N]
                 [--database postgres://USER:PASS@HOST:PORT/DB] [--blob-store file:/shared/dir]
                 (with --database, every node needs the same LATCHKEY_MASTER_KEY)
  latchkey policy simulate --policy FILE --action A --resource R [--context k=v]...
  latchkey sts assume-role [--endpoint URL] [--policy FILE] [--duration 1h] [--format env|json]
  latchkey admin reset-root-password [--data-dir DIR | --database postgres://…] [--password-stdin]
                 (SQLite: server stopped; PostgreSQL: nodes may run, they see the change at once)
  latchkey migrate --from sqlite:DIR --to postgres://USER:PASS@HOST:PORT/DB [--blob-store file:/shared/dir]
                 (single node → cluster: source server stopped, target database empty,
                  LATCHKEY_MASTER_KEY = the install's key; without --blob-store the bodies stay
                  in DIR/objects, which becomes the cluster's --blob-store)`

async function main(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv
  const out = (line: string): void => void process.stdout.write(line + '\n')
  if (cmd === '--help' || cmd === '-h' || cmd === 'help') {
    out(USAGE)
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
  if (cmd === 'migrate')
    return runMigrate(rest, process.env, {
      out,
      err: (line) => void process.stderr.write(line + '\n'),
    })
  if (cmd !== undefined && cmd !== 'serve' && !cmd.startsWith('--')) {
    process.stderr.write(`latchkey: unknown command "${cmd}"\n${USAGE}\n`)
    return 2
  }
  const serveArgs = cmd === 'serve' ? rest : argv
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
  const log = createLogger(config.logLevel)
  let app
  try {
    app = await startApp(config, log)
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
  process.stdout.write(JSON.stringify({ level: 'info', msg: 'listening', url: app.url }) + '\n')
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
