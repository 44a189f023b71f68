/**
 * `latchkey admin reset-root-password [--data-dir DIR | --database postgres://…] [--password-stdin]`:
 * the documented way back in for an operator who lost the root (operator) password or never saw
 * the generated one.
 *
 * On SQLite, offline: the server keeps the operator row in memory and holds its database with an
 * exclusive lock, so a reset beside a running server could not take effect; the command says so
 * and changes nothing (app/backends.ts openIdentityStoreOffline fails at once on the lock).
 * On PostgreSQL (`--database`, or LATCHKEY_DATABASE_URL) nodes may be running: the command writes
 * through the identity store and publishes on the cluster's change feed like a node, and returns
 * once every live node has reloaded the operator (openIdentityStoreShared), so the new password
 * works on all of them at once. It needs
 * no master key: it writes only a password hash (and forgets a pending first-start password).
 * The new password is generated and printed to this command's own output, which is the
 * operator's terminal, never a log; a password the operator chose (one line on stdin with
 * --password-stdin, else LATCHKEY_ROOT_PASSWORD) is not echoed. Exit codes: 0 done, 1 refused
 * (database locked or missing, no operator yet), 2 usage error.
 * @module
 */
import { MAX_PASSWORD_LENGTH } from '../iam/password.js'
import { IamService, MIN_PASSWORD_LENGTH } from '../iam/service.js'
import { randomIds } from '../lib/clock.js'
import { isPostgresUrl } from '../config/config.js'
import type { IdentityStore } from '../storage/identity-store.js'
import { lockedError, openIdentityStoreOffline, openIdentityStoreShared } from '../app/backends.js'

export const RESET_ROOT_PASSWORD_USAGE =
  'usage: latchkey admin reset-root-password [--data-dir DIR | --database postgres://…] [--password-stdin]   (SQLite: server stopped)'

export interface ResetIo {
  out(line: string): void
  err(line: string): void
  /** Read for --password-stdin. */
  readonly stdin: AsyncIterable<Buffer | string>
}

class UsageError extends Error {}

/** Where the operator row lives: a data dir (SQLite) or a cluster database. */
type Target = { readonly dataDir: string } | { readonly databaseUrl: string }

function parseArgs(
  argv: readonly string[],
  env: NodeJS.ProcessEnv,
): { target: Target; passwordStdin: boolean } {
  let dataDir: string | undefined
  let databaseUrl: string | undefined
  let passwordStdin = false
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] ?? ''
    if (arg === '--password-stdin') {
      passwordStdin = true
      continue
    }
    const eq = arg.indexOf('=')
    const name = eq > 0 ? arg.slice(0, eq) : arg
    if (name !== '--data-dir' && name !== '--database')
      throw new UsageError(`unknown argument ${arg}`)
    const value = eq > 0 ? arg.slice(eq + 1) : argv[++i]
    if (value === undefined || value === '') throw new UsageError(`${name} needs a value`)
    if (name === '--data-dir') dataDir = value
    else databaseUrl = value
  }
  if (dataDir !== undefined && databaseUrl !== undefined)
    throw new UsageError('give --data-dir (SQLite) or --database (PostgreSQL), not both')
  const fromEnv = (k: string): string | undefined => {
    const v = env[k]
    return v !== undefined && v !== '' ? v : undefined
  }
  // A flag wins over the environment; LATCHKEY_DATABASE_URL only when no --data-dir is given.
  databaseUrl ??= dataDir === undefined ? fromEnv('LATCHKEY_DATABASE_URL') : undefined
  if (databaseUrl !== undefined) {
    if (!isPostgresUrl(databaseUrl) || !URL.canParse(databaseUrl))
      throw new UsageError('--database must be a postgres:// URL (for SQLite, use --data-dir)')
    return { target: { databaseUrl }, passwordStdin }
  }
  return {
    target: { dataDir: dataDir ?? fromEnv('LATCHKEY_DATA_DIR') ?? './data' },
    passwordStdin,
  }
}

/** The first line of stdin (without its line ending), read to the end, at most 64 KiB. */
async function readPasswordLine(stdin: AsyncIterable<Buffer | string>): Promise<string> {
  let text = ''
  for await (const chunk of stdin) {
    text += typeof chunk === 'string' ? chunk : chunk.toString('utf8')
    if (text.length > 65536) throw new UsageError('--password-stdin: input too long')
  }
  return text.split(/\r?\n/, 1)[0] ?? ''
}

export async function runResetRootPassword(
  argv: readonly string[],
  env: NodeJS.ProcessEnv,
  io: ResetIo,
): Promise<number> {
  const fail = (message: string, code: number): number => {
    io.err(`latchkey admin reset-root-password: ${message}`)
    if (code === 2) io.err(RESET_ROOT_PASSWORD_USAGE)
    return code
  }
  let args: { target: Target; passwordStdin: boolean }
  let password: string
  let source: 'generated' | 'stdin' | 'LATCHKEY_ROOT_PASSWORD'
  try {
    args = parseArgs(argv, env)
    const fromEnv = env['LATCHKEY_ROOT_PASSWORD']
    if (args.passwordStdin) {
      password = await readPasswordLine(io.stdin)
      source = 'stdin'
    } else if (fromEnv !== undefined && fromEnv !== '') {
      password = fromEnv
      source = 'LATCHKEY_ROOT_PASSWORD'
    } else {
      password = randomIds.alnum(24)
      source = 'generated'
    }
    if (password.length < MIN_PASSWORD_LENGTH || password.length > MAX_PASSWORD_LENGTH)
      throw new UsageError(
        `the password (${source}) must be ${MIN_PASSWORD_LENGTH}-${MAX_PASSWORD_LENGTH} characters`,
      )
  } catch (e) {
    if (e instanceof UsageError) return fail(e.message, 2)
    throw e
  }

  const target = args.target
  let opened: { store: IdentityStore; settle?(): Promise<boolean>; close(): Promise<void> }
  try {
    opened =
      'databaseUrl' in target
        ? await openIdentityStoreShared(target.databaseUrl)
        : openIdentityStoreOffline(target.dataDir)
  } catch (e) {
    const cause = e instanceof Error && e.cause instanceof Error ? ` (${e.cause.message})` : ''
    return fail(`${e instanceof Error ? e.message : String(e)}${cause}`, 1)
  }
  let username: string
  let settled = true
  try {
    ;({ username } = await IamService.resetOperatorPassword(opened.store, password))
    if (opened.settle !== undefined) settled = await opened.settle()
  } catch (e) {
    const shown = 'dataDir' in target ? lockedError(e, target.dataDir) : e
    return fail(shown instanceof Error ? shown.message : String(shown), 1)
  } finally {
    await opened.close()
  }
  if (!settled)
    io.err(
      'latchkey admin reset-root-password: the password is changed, but some running node did not confirm it within 10 s; it reloads when it reconnects to the database',
    )
  if (source === 'generated') {
    io.out(`Operator (root) password reset for user "${username}". Store it now:`)
    io.out(`  password: ${password}`)
  } else {
    io.out(`Operator (root) password for user "${username}" set from ${source}.`)
  }
  if (source !== 'LATCHKEY_ROOT_PASSWORD')
    io.out(
      'A different LATCHKEY_ROOT_PASSWORD in the server environment is ignored at start (with a warning).',
    )
  return 0
}
