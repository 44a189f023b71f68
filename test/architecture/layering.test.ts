/**
 * The spine's layering, enforced: each rule names the folders it binds and why; the whole
 * product import graph has no cycle. A forbidden import added anywhere in `src/` turns this red
 * (the last cases show the checker catching one on a made-up graph, so the rules cannot pass
 * vacuously).
 */
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import { cycles, readGraph, violations, type Rule } from './import-graph.js'

const ROOT = fileURLToPath(new URL('../..', import.meta.url))

const SURFACES = ['src/s3', 'src/sts', 'src/admin', 'src/app']

export const RULES: readonly Rule[] = [
  {
    why: 'the wire layer knows no surface, no domain and no store',
    from: ['src/http'],
    only: ['src/lib'],
  },
  {
    why: 'lib is the floor: it imports nothing else of the product',
    from: ['src/lib'],
    only: [],
  },
  {
    why: 'store interfaces sit below everything but lib and the role list',
    from: ['src/storage'],
    only: ['src/lib', 'src/policy/roles.ts'],
  },
  {
    why: 'backends store rows: they know the store interfaces, lib, crypto, the role list and the backup format',
    from: ['src/backends'],
    only: ['src/storage', 'src/lib', 'src/crypto', 'src/policy/roles.ts', 'src/backup/manifest.ts'],
  },
  {
    why: 'only the composition root chooses backends',
    from: ['src'],
    except: ['src/app', 'src/backends'],
    deny: ['src/backends'],
  },
  {
    why: 'auth speaks its own errors and owns its ports: no surface, no identity domain, no store',
    from: ['src/auth'],
    deny: [...SURFACES, 'src/iam', 'src/storage', 'src/backends', 'src/config'],
  },
  {
    why: 'the policy engine is pure: no I/O, no HTTP, no surface, no store',
    from: ['src/policy'],
    deny: [...SURFACES, 'src/http', 'src/iam', 'src/storage', 'src/backends', 'src/crypto'],
  },
  {
    why: 'the identity domain sees only the store ports, never a surface or the wire',
    from: ['src/iam'],
    deny: [...SURFACES, 'src/http', 'src/backends'],
  },
  {
    why: 'STS is a sibling of S3, not its client',
    from: ['src/sts'],
    deny: ['src/s3', 'src/admin', 'src/app', 'src/backends', 'src/storage'],
  },
  {
    why: 'S3 operations see the store interfaces, never another surface',
    from: ['src/s3'],
    deny: ['src/sts', 'src/admin', 'src/app', 'src/backends'],
  },
  {
    why: 'the admin API is a surface over the IAM facade: no other surface, no store',
    from: ['src/admin'],
    deny: ['src/s3', 'src/sts', 'src/app', 'src/backends', 'src/storage'],
  },
]

describe('layering', () => {
  const graph = readGraph(ROOT)
  it('reads the whole product graph', () => {
    expect(graph.size).toBeGreaterThan(150)
    expect(graph.get('src/main.ts')?.length).toBeGreaterThan(0)
  })

  it('every layering rule holds', () => {
    expect(violations(graph, RULES)).toEqual([])
  })

  it('has no import cycle', () => {
    expect(cycles(graph)).toEqual([])
  })

  it('catches a forbidden import and a cycle on a made-up graph', () => {
    const fake = new Map<string, string[]>([
      ['src/http/listener.ts', ['src/app/dispatch.ts', 'src/lib/clock.ts']],
      ['src/app/dispatch.ts', ['src/http/listener.ts']],
      ['src/storage/metadata-store.ts', ['src/auth/principal.ts', 'src/policy/roles.ts']],
      ['src/iam/service.ts', ['src/backends/sqlite/db.ts', 'src/iam/users.ts']],
      ['src/iam/users.ts', []],
    ])
    expect(violations(fake, RULES)).toEqual([
      'src/http/listener.ts → src/app/dispatch.ts: the wire layer knows no surface, no domain and no store',
      'src/iam/service.ts → src/backends/sqlite/db.ts: only the composition root chooses backends',
      'src/iam/service.ts → src/backends/sqlite/db.ts: the identity domain sees only the store ports, never a surface or the wire',
      'src/storage/metadata-store.ts → src/auth/principal.ts: store interfaces sit below everything but lib and the role list',
    ])
    expect(cycles(fake)).toEqual([
      'src/http/listener.ts → src/app/dispatch.ts → src/http/listener.ts',
    ])
  })
})
