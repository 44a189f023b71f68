/**
 * The admin CLI's connection to a running server: the token file written by `admin login`, the
 * HTTP calls (Node's fetch) and the mapping of every failure to an exit code (args.ts EXIT).
 *
 * The token file holds the JWT, the endpoint it belongs to and whether TLS checks were skipped
 * at login. It is created 0600 in a 0700 directory ($XDG_CONFIG_HOME/latchkey/token, else
 * ~/.config/latchkey/token) by writing a temporary file and renaming it, so it is never readable
 * by others even for a moment; a token file that is not a regular file owned by this user with
 * mode 0600 (or stricter) is refused rather than used, as ssh does with keys. The token itself is
 * never printed: not on login, not in errors.
 * @module
 */
import { chmodSync, lstatSync, mkdirSync, readFileSync, renameSync, rmSync } from 'node:fs'
import { writeFileSync } from 'node:fs'
import { homedir } from 'node:os'
import { dirname, join } from 'node:path'
import { z } from 'zod'
import { EXIT, UsageError } from './args.js'

/** A failure that ends the command with `exitCode` after printing `message`. */
export class CliError extends Error {
  override readonly name = 'CliError'
  readonly exitCode: number
  constructor(exitCode: number, message: string) {
    super(message)
    this.exitCode = exitCode
  }
}

/** What the commands read and write; the real process's in index.ts, fakes in unit tests. */
export interface Io {
  out(line: string): void
  err(line: string): void
  readonly env: NodeJS.ProcessEnv
  /** One line from stdin (for --password-stdin). */
  readStdinLine(): Promise<string>
  /** Ask for a password without echo; throws UsageError when there is no terminal. */
  promptPassword(prompt: string): Promise<string>
  readonly now: () => number
}

const storedToken = z.object({
  endpoint: z.string().url(),
  token: z.string().min(1),
  expires_at: z.string().nullable(),
  insecure: z.boolean(),
  user: z.string(),
})
export type StoredToken = z.infer<typeof storedToken>

/** Where the token lives: $XDG_CONFIG_HOME/latchkey/token, else ~/.config/latchkey/token. */
export function tokenPath(env: NodeJS.ProcessEnv): string {
  const xdg = env['XDG_CONFIG_HOME']
  const base = xdg !== undefined && xdg !== '' ? xdg : join(env['HOME'] ?? homedir(), '.config')
  return join(base, 'latchkey', 'token')
}

const notLoggedIn = (why: string): CliError =>
  new CliError(EXIT.notLoggedIn, `${why}: run latchkey admin login --endpoint URL`)

/** Write the token file 0600 (a temp file renamed over it, in a 0700 directory). */
export function writeToken(env: NodeJS.ProcessEnv, t: StoredToken): string {
  const path = tokenPath(env)
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 })
  const tmp = `${path}.${process.pid}.tmp`
  rmSync(tmp, { force: true }) // left by a login killed mid-write with the same pid
  writeFileSync(tmp, JSON.stringify(t) + '\n', { mode: 0o600, flag: 'wx' })
  chmodSync(tmp, 0o600)
  renameSync(tmp, path)
  return path
}

/** Remove the token file; false when there was none. */
export function removeToken(env: NodeJS.ProcessEnv): boolean {
  const path = tokenPath(env)
  try {
    lstatSync(path)
  } catch {
    return false
  }
  rmSync(path, { force: true })
  return true
}

/** The stored login, checked (owner, mode, shape, expiry), or a CliError exiting 3. */
export function readToken(env: NodeJS.ProcessEnv, now: number): StoredToken {
  const path = tokenPath(env)
  let st
  try {
    st = lstatSync(path)
  } catch {
    throw notLoggedIn('not logged in')
  }
  if (!st.isFile()) throw notLoggedIn(`${path} is not a regular file; refusing to use it`)
  const uid = process.getuid?.()
  if (uid !== undefined && st.uid !== uid)
    throw notLoggedIn(`${path} belongs to another user; refusing to use it`)
  if ((st.mode & 0o077) !== 0)
    throw notLoggedIn(
      `${path} is accessible by others (mode ${(st.mode & 0o777).toString(8)}); refusing to use it. Remove it or chmod 600 it`,
    )
  let parsed
  try {
    parsed = storedToken.safeParse(JSON.parse(readFileSync(path, 'utf8')))
  } catch {
    throw notLoggedIn(`${path} is not a Latchkey token file`)
  }
  if (!parsed.success) throw notLoggedIn(`${path} is not a Latchkey token file`)
  const t = parsed.data
  if (t.expires_at !== null && Date.parse(t.expires_at) <= now)
    throw notLoggedIn(`the login to ${t.endpoint} expired at ${t.expires_at}`)
  return t
}

export interface Answer {
  readonly status: number
  readonly json: unknown
  readonly headers: Headers
}

/** Validate and normalise an endpoint URL (no trailing slash). */
export function endpointOf(value: string): string {
  let url: URL
  try {
    url = new URL(value)
  } catch {
    throw new UsageError(`--endpoint must be a URL, got "${value}"`)
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    throw new UsageError('--endpoint must be http:// or https://')
  return url.origin + url.pathname.replace(/\/+$/, '')
}

/**
 * Skip TLS certificate checks for this process (--insecure, for a self-signed certificate). Node's
 * fetch has no per-request switch without undici's Agent, which is not a dependency; the process
 * is a short-lived CLI talking to one endpoint, so the process-wide setting is equivalent.
 * NODE_EXTRA_CA_CERTS is the better answer and works without this.
 */
export function allowInsecureTls(): void {
  process.env['NODE_TLS_REJECT_UNAUTHORIZED'] = '0'
}

/** The server's error as "Code: message", from the admin API's {error:{code,message}}. */
function apiError(status: number, json: unknown): string {
  const e = (json as { error?: { code?: unknown; message?: unknown } } | undefined)?.error
  const code = typeof e?.code === 'string' ? e.code : `HTTP ${status}`
  const message = typeof e?.message === 'string' ? e.message : 'request failed'
  return `${code}: ${message}`
}

/** Why fetch failed, in the words of its cause (ECONNREFUSED, a certificate error, …). */
function reachError(endpoint: string, e: unknown): CliError {
  let why = e instanceof Error ? e.message : String(e)
  const cause = e instanceof Error ? (e.cause as { code?: unknown; message?: unknown }) : undefined
  if (cause && typeof cause.message === 'string')
    why = typeof cause.code === 'string' ? `${cause.code} ${cause.message}` : cause.message
  if (e instanceof Error && e.name === 'TimeoutError') why = 'no answer in time'
  const hint = /certificate|self.signed|CERT/i.test(why)
    ? ' (a self-signed certificate? set NODE_EXTRA_CA_CERTS=FILE, or pass --insecure)'
    : ''
  return new CliError(EXIT.unreachable, `cannot reach ${endpoint}: ${why}${hint}`)
}

/**
 * One HTTP call to the admin API. `auth` false for login (its 401 is a wrong password: exit 1);
 * otherwise a 401 means the stored token is no longer good (exit 3).
 */
export async function request(
  endpoint: string,
  method: string,
  path: string,
  opts: {
    token?: string
    body?: unknown
    rawBody?: string
    insecure?: boolean
    /** How long to wait for the answer (default 30 s; a backup takes longer). */
    timeoutMs?: number
  } = {},
): Promise<Answer> {
  if (opts.insecure === true) allowInsecureTls()
  const headers: Record<string, string> = { accept: 'application/json' }
  if (opts.token !== undefined) headers['authorization'] = `Bearer ${opts.token}`
  let body: string | undefined
  if (opts.rawBody !== undefined) body = opts.rawBody
  else if (opts.body !== undefined) body = JSON.stringify(opts.body)
  if (body !== undefined) headers['content-type'] = 'application/json'
  let res: Response
  let text: string
  try {
    res = await fetch(`${endpoint}${path}`, {
      method,
      headers,
      ...(body !== undefined ? { body } : {}),
      redirect: 'error',
      signal: AbortSignal.timeout(opts.timeoutMs ?? 30_000),
    })
    text = await res.text()
  } catch (e) {
    throw reachError(endpoint, e)
  }
  let json: unknown
  try {
    json = text === '' ? undefined : (JSON.parse(text) as unknown)
  } catch {
    json = undefined
  }
  if (res.status >= 400) {
    if (res.status === 401 && opts.token !== undefined)
      throw notLoggedIn(`the server refused the stored token (${apiError(res.status, json)})`)
    throw new CliError(EXIT.api, apiError(res.status, json))
  }
  return { status: res.status, json, headers: res.headers }
}

/** A logged-in client: calls carry the stored token to the stored endpoint. */
export interface AdminApi {
  readonly endpoint: string
  call(method: string, path: string, body?: unknown, rawBody?: string): Promise<Answer>
}

export function loggedIn(io: Io): AdminApi {
  const t = readToken(io.env, io.now())
  return {
    endpoint: t.endpoint,
    call: (method, path, body, rawBody) =>
      request(t.endpoint, method, path, {
        token: t.token,
        insecure: t.insecure,
        ...(body !== undefined ? { body } : {}),
        ...(rawBody !== undefined ? { rawBody } : {}),
      }),
  }
}

/** `/api/admin/` + path segments, each percent-encoded. */
export function adminPath(...segments: readonly string[]): string {
  return `/api/admin/${segments.map(encodeURIComponent).join('/')}`
}
