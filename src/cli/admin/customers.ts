/**
 * `latchkey admin customers …`, `admin master-key …` and `admin allowlist …`: accounts, their
 * master key and their address allow-list (/api/admin/customers…). The master key's secret is
 * printed only by the two answers that carry it (a new customer, a reset), once; `master-key
 * show` prints the access key id alone, as the API answers.
 * @module
 */
import { arg, parseArgs, UsageError } from './args.js'
import { adminPath, loggedIn, type Io } from './client.js'
import { emit, emitRecord, LIST_FLAGS, listPages, type Row } from './output.js'
import { renderRecord, type Column } from './table.js'

export const CUSTOMERS_USAGE = `  admin customers list [--limit N] [--offset N] [--all]
  admin customers create NAME [--type customer|reseller] [--reseller R]   prints the master key once
  admin master-key show [CUSTOMER]       the access key id (CUSTOMER defaults to "default")
  admin master-key reset [CUSTOMER]      a new secret, printed once; the old one stops working
  admin allowlist get CUSTOMER
  admin allowlist set CUSTOMER CIDR…  |  admin allowlist set CUSTOMER --clear`

const CUSTOMER_COLUMNS: readonly Column<Row>[] = [
  { header: 'NAME', get: (r) => r['name'] },
  { header: 'TYPE', get: (r) => r['type'] },
  { header: 'RESELLER', get: (r) => r['reseller'] },
  { header: 'MASTER ACCESS KEY', get: (r) => r['master_access_key'] },
  { header: 'ALLOW-LIST', get: (r) => (r['allowlist'] as string[] | undefined)?.join(',') },
  { header: 'CREATED', get: (r) => r['created_at'] },
]

type Handlers = Readonly<Record<string, (argv: string[], io: Io) => Promise<void>>>

export const customers: Handlers = {
  list: async (argv, io) => {
    const p = parseArgs(argv, { values: [...LIST_FLAGS], flags: ['--all'] })
    await listPages(io, loggedIn(io), adminPath('customers'), {}, p, CUSTOMER_COLUMNS)
  },
  create: async (argv, io) => {
    const p = parseArgs(argv, { values: ['--type', '--reseller'], min: 1 })
    const type = p.values.get('--type') ?? 'customer'
    if (type !== 'customer' && type !== 'reseller')
      throw new UsageError(`--type must be customer or reseller, got "${type}"`)
    const reseller = p.values.get('--reseller')
    const a = await loggedIn(io).call('POST', adminPath('customers'), {
      name: arg(p, 0),
      type,
      ...(reseller !== undefined ? { reseller } : {}),
    })
    const c = a.json as Row
    const key = (c['master_key'] ?? {}) as Row
    emit(io, p, c, () => [
      ...renderRecord(
        ['id', 'name', 'type', 'reseller', 'canonical_id', 'created_at'].map(
          (f) => [f, c[f]] as const,
        ),
      ),
      '',
      'Master key (the secret is shown once, store it now):',
      ...renderRecord([
        ['access_key', key['access_key']],
        ['secret_key', key['secret_key']],
      ]).map((l) => `  ${l}`),
    ])
  },
}

export const masterKey: Handlers = {
  show: async (argv, io) => {
    const p = parseArgs(argv, { max: 1 })
    const name = p.positionals[0] ?? 'default'
    const a = await loggedIn(io).call('GET', adminPath('customers', name, 'master-key'))
    emitRecord(io, p, a.json as Row, ['access_key'])
  },
  reset: async (argv, io) => {
    const p = parseArgs(argv, { max: 1 })
    const name = p.positionals[0] ?? 'default'
    const a = await loggedIn(io).call('POST', adminPath('customers', name, 'master-key', 'reset'))
    const k = a.json as Row
    emit(io, p, k, () => [
      ...renderRecord([
        ['access_key', k['access_key']],
        ['secret_key', k['secret_key']],
      ]),
      `The master key secret of ${name} was reset: shown once, store it now. The old secret no longer works.`,
    ])
  },
}

export const allowlist: Handlers = {
  get: async (argv, io) => {
    const p = parseArgs(argv, { min: 1 })
    const a = await loggedIn(io).call('GET', adminPath('customers', arg(p, 0), 'allowlist'))
    const cidrs = ((a.json as Row)['cidrs'] ?? []) as string[]
    emit(io, p, a.json, () => (cidrs.length === 0 ? ['(no allow-list: any address)'] : cidrs))
  },
  set: async (argv, io) => {
    const p = parseArgs(argv, { flags: ['--clear'], min: 1, max: 101 })
    const cidrs = p.positionals.slice(1)
    if (cidrs.length === 0 && !p.flags.has('--clear'))
      throw new UsageError('give one or more CIDRs, or --clear to remove the allow-list')
    if (cidrs.length > 0 && p.flags.has('--clear')) throw new UsageError('--clear takes no CIDRs')
    const a = await loggedIn(io).call('PUT', adminPath('customers', arg(p, 0), 'allowlist'), {
      cidrs,
    })
    const now = ((a.json as Row)['cidrs'] ?? []) as string[]
    emit(io, p, a.json, () => (now.length === 0 ? ['(no allow-list: any address)'] : now))
  },
}
