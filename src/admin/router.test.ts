/** The admin route table and path splitting, without a server or IAM. */
import { describe, expect, it } from 'vitest'
import { ROUTES, match, segmentsOf } from './router.js'
import { requireManager } from './session.js'

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

describe('requireManager', () => {
  it('lets SuperUsers through and refuses every other role with Forbidden', () => {
    expect(() => requireManager('SuperUser')).not.toThrow()
    for (const role of ['ReadOnly', 'ReadWrite', 'superuser', ''])
      expect(() => requireManager(role), role).toThrow(
        expect.objectContaining({
          code: 'Forbidden',
          message: 'Only SuperUsers may use the admin API',
        }),
      )
  })
})
