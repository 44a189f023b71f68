/** The admin route table and path splitting, without a server or IAM. */
import { describe, expect, it } from 'vitest'
import { ADMIN_ROUTE_ACTIONS } from '../policy/admin-authorize.js'
import { openApiDocument, openApiPath, SUMMARIES } from './openapi.js'
import { ADMIN_PREFIX, ROUTES, match, segmentsOf } from './router.js'

describe('segmentsOf', () => {
  it('splits and decodes the path below /api/admin, ignoring outer slashes', () => {
    expect(segmentsOf('/api/admin')).toEqual([])
    expect(segmentsOf('/api/admin//users/u%20%2B1/')).toEqual(['users', 'u +1'])
    expect(segmentsOf('/api/adminx/users')).toBeUndefined()
  })
  it('refuses dot segments, encoded slashes, empty and over-long segments', () => {
    for (const p of [
      '/api/admin/users/..',
      '/api/admin/users/%2E%2E',
      '/api/admin/users/a%2Fb',
      '/api/admin/users//x',
      `/api/admin/users/${'a'.repeat(257)}`,
    ])
      expect(segmentsOf(p), p).toBeUndefined()
  })
})

describe('match', () => {
  it('binds parameters and picks the pattern of the same length', () => {
    const m = match(['customers', 'acme', 'master-key', 'reset'])
    expect(m?.params).toEqual(['acme'])
    expect(Object.keys(m?.methods ?? {})).toEqual(['POST'])
    expect(match(['users', 'u1', 'nope'])).toBeUndefined()
  })
  it('every pattern is reachable by its own literal segments', () => {
    for (const r of ROUTES) {
      const segs = r.pattern.map((p) => (p === ':' ? 'x' : p))
      expect(match(segs)?.methods).toBe(r.methods)
    }
  })
})

// Who may use a route is the policy engine's answer for the route's iam:* action (the role check
// `requireManager` is gone; authorization.test.ts covers the decisions).
describe('route actions', () => {
  it('every route declares the iam:* action ADMIN_ROUTE_ACTIONS names for it, and only routes', () => {
    const declared: Record<string, string> = {}
    for (const r of ROUTES)
      for (const [method, route] of Object.entries(r.methods))
        if (route.access === undefined) declared[`${method} ${r.pattern.join('/')}`] = route.action
    expect(declared).toEqual(ADMIN_ROUTE_ACTIONS)
  })
})

// The OpenAPI document is generated from the route table: nothing in ROUTES can be missing.
describe('openapi.json', () => {
  it('describes every route and method of ROUTES (and login), each with its own summary', () => {
    const doc = openApiDocument(ROUTES, ADMIN_PREFIX) as {
      paths: Record<string, Record<string, { summary: string; 'x-latchkey-access': string }>>
    }
    let n = 0
    for (const r of ROUTES)
      for (const method of Object.keys(r.methods)) {
        const path = openApiPath(r.pattern)
        const op = doc.paths[ADMIN_PREFIX + path]?.[method.toLowerCase()]
        expect(op, `${method} ${path}`).toBeDefined()
        expect(op?.summary).toBe(SUMMARIES[`${method} ${path}`])
        n++
      }
    expect(doc.paths[`${ADMIN_PREFIX}/login`]?.['post']?.summary).toBe(SUMMARIES['POST /login'])
    const documented = Object.values(doc.paths).reduce((k, m) => k + Object.keys(m).length, 0)
    expect(documented).toBe(n + 1)
    // Every summary belongs to a route (no stale entries).
    expect(Object.keys(SUMMARIES).length).toBe(n + 1)
    expect(doc.paths[`${ADMIN_PREFIX}/me`]?.['get']?.['x-latchkey-access']).toBe('self')
    expect(doc.paths[`${ADMIN_PREFIX}/users`]?.['get']?.['x-latchkey-access']).toBe('admin')
  })
})
