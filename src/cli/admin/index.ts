/**
 * `latchkey admin …`: the admin CLI's entry. Online commands talk to a running server's admin
 * REST API with the token `admin login` stored; `master-key-id` (here) and
 * `reset-root-password` (../admin-reset-root-password.ts, dispatched by main.ts) work offline on
 * a stopped data dir. This module routes `admin GROUP SUB` to its handler, turns every failure
 * into one line on stderr and the exit code of args.ts EXIT, and supplies the real process's
 * stdin/stdout/terminal to the handlers (which get them as an Io, so tests can fake them).
 * @module
 */
import { EXIT, UsageError } from './args.js'
import { allowInsecureTls, CliError, type Io } from './client.js'
import { allowlist, customers, CUSTOMERS_USAGE, masterKey } from './customers.js'
import { login, LOGIN_USAGE, logout } from './login.js'
import { MASTER_KEY_ID_USAGE, masterKeyId } from './offline.js'
import { policy, sessions, SESSIONS_USAGE } from './sessions.js'
import { audit, AUDIT_USAGE } from './audit.js'
import { credentials, users, USERS_USAGE } from './users.js'

export const ADMIN_USAGE = `usage: latchkey admin COMMAND [ARGS] [--json] [--insecure]
${LOGIN_USAGE}
${USERS_USAGE}
${CUSTOMERS_USAGE}
${SESSIONS_USAGE}
${MASTER_KEY_ID_USAGE}
  admin reset-root-password [--data-dir DIR] [--password-stdin]   (server stopped)
${AUDIT_USAGE}
  --json prints the server's JSON (for scripts); tables otherwise. --insecure skips TLS
  certificate checks (given at login, for every command of that login); NODE_EXTRA_CA_CERTS=FILE
  trusts a self-signed certificate instead.
  The token is kept in $XDG_CONFIG_HOME/latchkey/token (else ~/.config/latchkey/token), mode 0600.
  exit codes: 0 ok; 1 the server refused (its error code and message are printed) or an offline
  command failed; 2 usage error; 3 not logged in, token expired or refused, or a token file
  readable by others; 4 cannot reach the server`

type Handler = (argv: string[], io: Io) => Promise<void>

const GROUPS: Readonly<Record<string, Readonly<Record<string, Handler>>>> = {
  users,
  credentials,
  'master-key': masterKey,
  customers,
  allowlist,
  sessions,
  policy,
}

const SINGLE: Readonly<Record<string, Handler>> = {
  login,
  logout,
  'master-key-id': masterKeyId,
  audit,
}

/** The command's handler and its own argv, or a UsageError naming what is missing. */
function route(argv: readonly string[]): { name: string; handler: Handler; rest: string[] } {
  const [group, sub, ...rest] = argv
  if (group === undefined) throw new UsageError('missing command')
  const single = SINGLE[group]
  if (single) return { name: group, handler: single, rest: argv.slice(1) }
  const handlers = GROUPS[group]
  if (!handlers) throw new UsageError(`unknown command "${group}"`)
  const handler = sub !== undefined ? handlers[sub] : undefined
  if (!handler)
    throw new UsageError(
      `${sub === undefined ? 'missing' : `unknown "${sub}"`}: ${group} takes ${Object.keys(handlers).join(', ')}`,
    )
  return { name: `${group} ${sub ?? ''}`, handler, rest }
}

export async function runAdmin(argv: readonly string[], io: Io = processIo()): Promise<number> {
  if (argv.length === 0 || argv[0] === 'help' || argv.includes('--help') || argv.includes('-h')) {
    const target = argv.length === 0 ? io.err : io.out
    target(ADMIN_USAGE)
    return argv.length === 0 ? EXIT.usage : EXIT.ok
  }
  let name = argv[0] ?? ''
  // Login stores --insecure for the later commands; given to any other command, it holds for it.
  if (argv.includes('--insecure')) allowInsecureTls()
  try {
    const r = route(argv)
    name = r.name
    await r.handler(r.rest, io)
    return EXIT.ok
  } catch (e) {
    if (e instanceof UsageError) {
      io.err(`latchkey admin ${name}: ${e.message}`)
      io.err('(latchkey admin --help lists the commands)')
      return EXIT.usage
    }
    if (e instanceof CliError) {
      io.err(`latchkey admin ${name}: ${e.message}`)
      return e.exitCode
    }
    // Anything else (the token file's directory not writable, …): one line, exit 1.
    io.err(`latchkey admin ${name}: ${e instanceof Error ? e.message : String(e)}`)
    return EXIT.api
  }
}

/** The first line of stdin (without its line ending), read to the end, at most 64 KiB. */
async function readStdinLine(): Promise<string> {
  let text = ''
  for await (const chunk of process.stdin as AsyncIterable<Buffer | string>) {
    text += typeof chunk === 'string' ? chunk : chunk.toString('utf8')
    if (text.length > 65536) throw new UsageError('stdin: input too long')
  }
  return text.split(/\r?\n/, 1)[0] ?? ''
}

/** Read a line from the terminal without echoing it (raw mode; Ctrl-C cancels). */
function promptPassword(prompt: string): Promise<string> {
  const stdin = process.stdin
  if (!stdin.isTTY)
    return Promise.reject(
      new UsageError('no terminal to ask for the password: use --password-stdin'),
    )
  // Echo off before the prompt shows: a password typed the moment the prompt appears must not
  // reach the screen (the e2e test types it exactly then).
  stdin.setRawMode(true)
  process.stderr.write(prompt)
  stdin.setEncoding('utf8')
  stdin.resume()
  return new Promise((resolve, reject) => {
    let typed = ''
    const done = (): void => {
      stdin.off('data', onData)
      stdin.setRawMode(false)
      stdin.pause()
      process.stderr.write('\n')
    }
    const onData = (chunk: string): void => {
      for (const ch of chunk) {
        if (ch === '\r' || ch === '\n' || ch === '\u0004') {
          done()
          resolve(typed)
          return
        }
        if (ch === '\u0003') {
          done()
          reject(new UsageError('cancelled'))
          return
        }
        if (ch === '\u007f' || ch === '\b') typed = typed.slice(0, -1)
        else typed += ch
      }
    }
    stdin.on('data', onData)
  })
}

function processIo(): Io {
  return {
    out: (line) => void process.stdout.write(line + '\n'),
    err: (line) => void process.stderr.write(line + '\n'),
    env: process.env,
    readStdinLine,
    promptPassword,
    now: Date.now,
  }
}
