/**
 * `latchkey admin sessions …` and `latchkey admin policy …`: active temporary-credential
 * sessions (list, revoke one by access key id, or every session of one user — the API revokes
 * one at a time, so the CLI lists them and revokes each, reporting how many) and a user's extra
 * IAM policy, read from and printed as JSON.
 * @module
 */
import { readFile } from 'node:fs/promises'
import { arg, parseArgs, UsageError } from './args.js'
import { adminPath, CliError, loggedIn, type Io } from './client.js'
import { EXIT } from './args.js'
import { emit, LIST_FLAGS, listPages, type Row } from './output.js'
import type { Column } from './table.js'

export const SESSIONS_USAGE = `  admin sessions list [--customer C] [--user USER_ID] [--limit N] [--offset N] [--all]
  admin sessions revoke ACCESS_KEY_ID  |  admin sessions revoke --user USER_ID   (every session of the user)
  admin policy put USER_ID FILE          a user's extra IAM policy (JSON file)
  admin policy get USER_ID  |  admin policy delete USER_ID`

const SESSION_COLUMNS: readonly Column<Row>[] = [
  { header: 'ACCESS KEY', get: (r) => r['access_key'] },
  { header: 'CUSTOMER', get: (r) => r['customer'] },
  {
    header: 'PARENT',
    get: (r) => {
      const p = (r['parent'] ?? {}) as Row
      return p['kind'] === 'user'
        ? `user ${String(p['username'])}`
        : `master key ${String(p['access_key'])}`
    },
  },
  { header: 'SESSION NAME', get: (r) => r['session_name'] },
  { header: 'ISSUED', get: (r) => r['issued_at'] },
  { header: 'EXPIRES', get: (r) => r['expires_at'] },
  { header: 'POLICY', get: (r) => r['has_policy'] },
]

type Handlers = Readonly<Record<string, (argv: string[], io: Io) => Promise<void>>>

export const sessions: Handlers = {
  list: async (argv, io) => {
    const p = parseArgs(argv, { values: ['--customer', '--user', ...LIST_FLAGS], flags: ['--all'] })
    const query = { customer: p.values.get('--customer'), user: p.values.get('--user') }
    await listPages(io, loggedIn(io), adminPath('sessions'), query, p, SESSION_COLUMNS)
  },
  revoke: async (argv, io) => {
    const p = parseArgs(argv, { values: ['--user'], max: 1 })
    const user = p.values.get('--user')
    const api = loggedIn(io)
    if (user === undefined) {
      if (p.positionals.length === 0) throw new UsageError('give ACCESS_KEY_ID or --user USER_ID')
      await api.call('DELETE', adminPath('sessions', arg(p, 0)))
      emit(io, p, { revoked: [arg(p, 0)] }, () => [`Session ${arg(p, 0)} revoked.`])
      return
    }
    if (p.positionals.length > 0) throw new UsageError('give ACCESS_KEY_ID or --user, not both')
    const akids: string[] = []
    for (let offset = 0; ;) {
      const a = await api.call(
        'GET',
        `${adminPath('sessions')}?${new URLSearchParams({ user, limit: '1000', offset: String(offset) })}`,
      )
      for (const s of (a.json ?? []) as Row[]) akids.push(String(s['access_key']))
      const next = a.headers.get('x-next-offset')
      if (next === null || !/^\d+$/.test(next) || Number(next) <= offset) break
      offset = Number(next)
    }
    const revoked: string[] = []
    for (const akid of akids) {
      try {
        await api.call('DELETE', adminPath('sessions', akid))
        revoked.push(akid)
      } catch (e) {
        // Expired or revoked meanwhile: nothing left to revoke.
        if (!(e instanceof CliError && e.exitCode === EXIT.api && e.message.startsWith('NotFound')))
          throw e
      }
    }
    emit(io, p, { revoked }, () => [`${revoked.length} session(s) of user ${user} revoked.`])
  },
}

export const policy: Handlers = {
  put: async (argv, io) => {
    const p = parseArgs(argv, { min: 2 })
    let text: string
    try {
      text = await readFile(arg(p, 1), 'utf8')
    } catch (e) {
      throw new UsageError(`cannot read ${arg(p, 1)}: ${(e as Error).message}`)
    }
    const a = await loggedIn(io).call(
      'PUT',
      adminPath('users', arg(p, 0), 'policy'),
      undefined,
      text,
    )
    emit(io, p, a.json, () => [`Policy of user ${arg(p, 0)} set.`])
  },
  get: async (argv, io) => {
    const p = parseArgs(argv, { min: 1 })
    const a = await loggedIn(io).call('GET', adminPath('users', arg(p, 0), 'policy'))
    io.out(JSON.stringify(a.json, null, 2))
  },
  delete: async (argv, io) => {
    const p = parseArgs(argv, { min: 1 })
    await loggedIn(io).call('DELETE', adminPath('users', arg(p, 0), 'policy'))
    emit(io, p, { deleted: arg(p, 0) }, () => [`Policy of user ${arg(p, 0)} deleted.`])
  },
}
