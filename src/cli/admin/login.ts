/**
 * `latchkey admin login` and `latchkey admin logout`. Login posts the password (from a prompt
 * without echo on a terminal, or the first line of stdin with --password-stdin; never a flag,
 * which would land in shell history and `ps`) and keeps the JWT in the 0600 token file
 * (client.ts). A wrong password is the server's refusal (exit 1), not "not logged in". Logout
 * forgets the token locally: the admin API has no revocation of JWTs, which expire on their own.
 * @module
 */
import { parseArgs, UsageError } from './args.js'
import { endpointOf, removeToken, request, tokenPath, writeToken, type Io } from './client.js'
import { emit } from './output.js'

export const LOGIN_USAGE = `  admin login --endpoint URL [--user U] [--customer C] [--password-stdin] [--otp CODE] [--insecure]
  admin logout                           forget the stored token`

export async function login(argv: string[], io: Io): Promise<void> {
  const p = parseArgs(argv, {
    values: ['--endpoint', '--user', '--customer', '--otp'],
    flags: ['--password-stdin'],
  })
  const given = p.values.get('--endpoint') ?? io.env['LATCHKEY_ENDPOINT']
  if (given === undefined || given === '')
    throw new UsageError('--endpoint URL is required (or set LATCHKEY_ENDPOINT)')
  const endpoint = endpointOf(given)
  const user = p.values.get('--user') ?? io.env['LATCHKEY_ROOT_USER'] ?? 'root'
  const customer = p.values.get('--customer')
  const otp = p.values.get('--otp')
  const password = p.flags.has('--password-stdin')
    ? await io.readStdinLine()
    : await io.promptPassword(`Password for ${user} at ${endpoint}: `)
  if (password === '') throw new UsageError('empty password')
  const insecure = p.flags.has('--insecure')
  const a = await request(endpoint, 'POST', '/api/admin/login', {
    body: {
      username: user,
      password,
      ...(otp !== undefined ? { otp } : {}),
      ...(customer !== undefined ? { customer } : {}),
    },
    insecure,
  })
  const answer = (a.json ?? {}) as { token?: unknown; expires_at?: unknown }
  if (typeof answer.token !== 'string' || answer.token === '')
    throw new UsageError(
      'the server answered the login without a token: is this a Latchkey endpoint?',
    )
  const expiresAt = typeof answer.expires_at === 'string' ? answer.expires_at : null
  const path = writeToken(io.env, {
    endpoint,
    token: answer.token,
    expires_at: expiresAt,
    insecure,
    user: customer !== undefined ? `${customer}/${user}` : user,
  })
  emit(
    io,
    p,
    { endpoint, user, customer: customer ?? null, expires_at: expiresAt, token_file: path },
    () => [
      `Logged in to ${endpoint} as ${user}${customer !== undefined ? ` (customer ${customer})` : ''}; token kept in ${path} until ${expiresAt ?? 'it expires'}.`,
    ],
  )
}

export async function logout(argv: string[], io: Io): Promise<void> {
  const p = parseArgs(argv, {})
  const path = tokenPath(io.env)
  const removed = removeToken(io.env)
  emit(io, p, { removed, token_file: path }, () => [
    removed ? `Logged out: ${path} removed.` : `Not logged in (no ${path}).`,
  ])
}
