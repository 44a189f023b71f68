/**
 * `latchkey admin users …` and `latchkey admin credentials …`: the users of the accounts the
 * logged-in admin manages (GET/POST/PATCH/DELETE /api/admin/users…) and each user's one access
 * key. A new user's password comes from --password-stdin or is generated and shown once; a new
 * key's secret is shown once (the server cannot show it again).
 * @module
 */
import { randomBytes } from 'node:crypto'
import { arg, parseArgs, UsageError, type Parsed } from './args.js'
import { adminPath, loggedIn, type Io } from './client.js'
import { emit, emitRecord, LIST_FLAGS, listPages, type Row } from './output.js'
import { renderRecord, type Column } from './table.js'

export const USERS_USAGE = `  admin users list [--customer C] [--limit N] [--offset N] [--all]
  admin users create USERNAME --role Reader|Writer|SuperUser [--customer C] [--email E] [--password-stdin]
  admin users get USER_ID
  admin users set-role USER_ID ROLE
  admin users deactivate USER_ID | activate USER_ID | delete USER_ID
  admin credentials generate USER_ID     a new access key; the secret is printed once
  admin credentials revoke USER_ID`

const USER_FIELDS = [
  'id',
  'username',
  'customer',
  'role',
  'is_active',
  'access_key',
  'email',
  'totp_enabled',
  'has_policy',
  'created_at',
  'last_access',
]

const USER_COLUMNS: readonly Column<Row>[] = [
  { header: 'ID', get: (r) => r['id'] },
  { header: 'USERNAME', get: (r) => r['username'] },
  { header: 'CUSTOMER', get: (r) => r['customer'] },
  { header: 'ROLE', get: (r) => r['role'] },
  { header: 'ACTIVE', get: (r) => r['is_active'] },
  { header: 'ACCESS KEY', get: (r) => r['access_key'] },
  { header: 'CREATED', get: (r) => r['created_at'] },
]

const ROLES = ['Reader', 'Writer', 'SuperUser']

function role(value: string): string {
  if (!ROLES.includes(value))
    throw new UsageError(`the role must be one of ${ROLES.join(', ')}, got "${value}"`)
  return value
}

/** A generated password: 24 characters from [A-Za-z0-9]. */
function generatePassword(): string {
  const abc = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789'
  return [...randomBytes(24)].map((b) => abc[b % abc.length]).join('')
}

/** PATCH the user named by the first positional; print the changed user. */
async function patch(io: Io, p: Parsed, body: Row): Promise<void> {
  const a = await loggedIn(io).call('PATCH', adminPath('users', arg(p, 0)), body)
  emitRecord(io, p, a.json as Row, USER_FIELDS)
}

export const users: Readonly<Record<string, (argv: string[], io: Io) => Promise<void>>> = {
  list: async (argv, io) => {
    const p = parseArgs(argv, { values: ['--customer', ...LIST_FLAGS], flags: ['--all'] })
    const api = loggedIn(io)
    await listPages(
      io,
      api,
      adminPath('users'),
      { customer: p.values.get('--customer') },
      p,
      USER_COLUMNS,
    )
  },
  create: async (argv, io) => {
    const p = parseArgs(argv, {
      values: ['--role', '--customer', '--email'],
      flags: ['--password-stdin'],
      min: 1,
    })
    const r = p.values.get('--role')
    if (r === undefined) throw new UsageError('--role is required')
    const api = loggedIn(io)
    const generated = !p.flags.has('--password-stdin')
    const password = generated ? generatePassword() : await io.readStdinLine()
    const customer = p.values.get('--customer')
    const email = p.values.get('--email')
    const a = await api.call('POST', adminPath('users'), {
      username: arg(p, 0),
      password,
      role: role(r),
      ...(customer !== undefined ? { customer } : {}),
      ...(email !== undefined ? { email } : {}),
    })
    const user = a.json as Row
    // `user` is parsed JSON: copied by a spread (an own `__proto__` key stays a plain key), then
    // the password set on the copy, so no literal starts with a spread and adds to it.
    let shown = user
    if (generated) {
      shown = { ...user }
      shown['password'] = password
    }
    emit(io, p, shown, () => [
      ...renderRecord(USER_FIELDS.map((f) => [f, user[f]] as const)),
      ...(generated ? ['', 'Generated password (shown once, store it now):', `  ${password}`] : []),
    ])
  },
  get: async (argv, io) => {
    const p = parseArgs(argv, { min: 1 })
    const a = await loggedIn(io).call('GET', adminPath('users', arg(p, 0)))
    emitRecord(io, p, a.json as Row, USER_FIELDS)
  },
  'set-role': async (argv, io) => {
    const p = parseArgs(argv, { min: 2 })
    await patch(io, p, { role: role(arg(p, 1)) })
  },
  deactivate: (argv, io) => patch(io, parseArgs(argv, { min: 1 }), { is_active: false }),
  activate: (argv, io) => patch(io, parseArgs(argv, { min: 1 }), { is_active: true }),
  delete: async (argv, io) => {
    const p = parseArgs(argv, { min: 1 })
    await loggedIn(io).call('DELETE', adminPath('users', arg(p, 0)))
    emit(io, p, { deleted: arg(p, 0) }, () => [`User ${arg(p, 0)} deleted.`])
  },
}

export const credentials: Readonly<Record<string, (argv: string[], io: Io) => Promise<void>>> = {
  generate: async (argv, io) => {
    const p = parseArgs(argv, { min: 1 })
    const a = await loggedIn(io).call('POST', adminPath('users', arg(p, 0), 'credentials'))
    const k = a.json as Row
    emit(io, p, k, () => [
      ...renderRecord([
        ['access_key', k['access_key']],
        ['secret_key', k['secret_key']],
      ]),
      'The secret key is shown once: store it now. Any previous key of this user is revoked.',
    ])
  },
  revoke: async (argv, io) => {
    const p = parseArgs(argv, { min: 1 })
    await loggedIn(io).call('DELETE', adminPath('users', arg(p, 0), 'credentials'))
    emit(io, p, { revoked: arg(p, 0) }, () => [`Access key of user ${arg(p, 0)} revoked.`])
  },
}
