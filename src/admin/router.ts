/**
 * The admin API's route table: path patterns below /api/admin (`:` is a parameter) and the
 * route for each method. `segmentsOf` turns the raw path into decoded segments and refuses
 * tricks (`..`, encoded slashes, empty or very long segments) before anything is matched.
 * @module
 */
import { decodePlusLiteralOrKeep } from '../http/percent.js'
import type { PublicRoute, Route } from './call.js'
import { openApiDocument } from './openapi.js'
import * as backup from './routes/backup.js'
import * as consoleRoutes from './routes/console.js'
import * as customers from './routes/customers.js'
import * as policy from './routes/policy.js'
import * as sessions from './routes/sessions.js'
import * as audit from './routes/audit.js'
import * as users from './routes/users.js'

export const ADMIN_PREFIX = '/api/admin'

/** GET openapi.json: the document of this very table (openapi.ts), made once. */
let openApiText: string | undefined
const openApiRoute: PublicRoute = {
  access: 'public',
  run: async () => {
    openApiText ??= JSON.stringify(openApiDocument(ROUTES, ADMIN_PREFIX))
    return {
      status: 200,
      headers: { 'content-type': 'application/json', 'cache-control': 'no-cache' },
      body: openApiText,
    }
  },
}

/** Path pattern (segments after /api/admin; ':' = parameter) → method → route. */
export const ROUTES: readonly {
  readonly pattern: readonly string[]
  readonly methods: Readonly<Record<string, Route | PublicRoute>>
}[] = [
  { pattern: ['users'], methods: { GET: users.listUsers, POST: users.createUser } },
  {
    pattern: ['users', ':'],
    methods: { GET: users.getUser, PATCH: users.patchUser, DELETE: users.deleteUser },
  },
  {
    pattern: ['users', ':', 'credentials'],
    methods: { POST: users.createCredentials, DELETE: users.deleteCredentials },
  },
  {
    pattern: ['users', ':', 'policy'],
    methods: { PUT: users.putPolicy, GET: users.getPolicy, DELETE: users.deletePolicy },
  },
  {
    pattern: ['users', ':', 'totp'],
    methods: { POST: users.enrollTotp, DELETE: users.deleteTotp },
  },
  {
    pattern: ['customers'],
    methods: { GET: customers.listCustomers, POST: customers.createCustomer },
  },
  { pattern: ['customers', ':'], methods: { GET: customers.getCustomer } },
  { pattern: ['customers', ':', 'master-key'], methods: { GET: customers.getMasterKey } },
  {
    pattern: ['customers', ':', 'master-key', 'reset'],
    methods: { POST: customers.resetMasterKey },
  },
  {
    pattern: ['customers', ':', 'master-key', 'reveal'],
    methods: { POST: customers.revealMasterKey },
  },
  {
    pattern: ['customers', ':', 'allowlist'],
    methods: { GET: customers.getAllowlist, PUT: customers.putAllowlist },
  },
  {
    pattern: ['sessions'],
    methods: { GET: sessions.listSessions, DELETE: sessions.revokeSessionsOf },
  },
  { pattern: ['sessions', ':'], methods: { DELETE: sessions.revokeSession } },
  { pattern: ['policy', 'simulate'], methods: { POST: policy.simulatePolicy } },
  { pattern: ['policy', 'validate'], methods: { POST: policy.validatePolicy } },
  { pattern: ['backup'], methods: { POST: backup.createBackup } },
  { pattern: ['audit'], methods: { GET: audit.listAudit } },
  {
    pattern: ['console', 'session'],
    methods: {
      POST: consoleRoutes.signInRoute,
      GET: consoleRoutes.getConsoleSession,
      DELETE: consoleRoutes.deleteConsoleSession,
    },
  },
  { pattern: ['console', 'credentials'], methods: { GET: consoleRoutes.getConsoleCredentials } },
  { pattern: ['me'], methods: { GET: consoleRoutes.getMe } },
  { pattern: ['me', 'password'], methods: { PUT: consoleRoutes.putMyPassword } },
  {
    pattern: ['me', 'totp'],
    methods: { POST: consoleRoutes.postMyTotp, DELETE: consoleRoutes.deleteMyTotp },
  },
  { pattern: ['me', 'credentials'], methods: { POST: consoleRoutes.postMyCredentials } },
  { pattern: ['openapi.json'], methods: { GET: openApiRoute } },
]

export function match(segments: readonly string[]):
  | {
      methods: Readonly<Record<string, Route | PublicRoute>>
      params: string[]
      pattern: readonly string[]
    }
  | undefined {
  for (const r of ROUTES) {
    if (r.pattern.length !== segments.length) continue
    const params: string[] = []
    let hit = true
    for (let i = 0; i < segments.length; i++) {
      const p = r.pattern[i]
      const s = segments[i] ?? ''
      if (p === ':') params.push(s)
      else if (p !== s) {
        hit = false
        break
      }
    }
    if (hit) return { methods: r.methods, params, pattern: r.pattern }
  }
  return undefined
}

/** Split the path after /api/admin into decoded segments; undefined for tricks like `..`. */
export function segmentsOf(rawPath: string): string[] | undefined {
  if (rawPath !== ADMIN_PREFIX && !rawPath.startsWith(ADMIN_PREFIX + '/')) return undefined
  const rest = rawPath.slice(ADMIN_PREFIX.length).replace(/^\/+/, '').replace(/\/+$/, '')
  if (rest === '') return []
  const segs = rest.split('/').map(decodePlusLiteralOrKeep)
  if (segs.some((s) => s === '' || s === '.' || s === '..' || s.includes('/') || s.length > 256))
    return undefined
  return segs
}
