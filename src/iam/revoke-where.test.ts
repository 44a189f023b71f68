/**
 * revokeWhere pages through an account's sessions (a parent may hold a million): every session it
 * picks is revoked, none it leaves, however the picks fall across pages.
 */
import { describe, expect, it } from 'vitest'
import { MemoryIdentityStore } from '../backends/memory/identity-store.js'
import { ManualClock } from '../lib/clock.js'
import type { SessionRow } from '../storage/identity-store.js'
import { revokeWhere, type IamContext } from './common.js'

describe('revokeWhere', () => {
  it('revokes exactly the picked sessions across pages of 1,000', async () => {
    const store = new MemoryIdentityStore()
    const clock = new ManualClock()
    clock.set(1000)
    const row = (i: number): SessionRow => ({
      accessKeyId: `ASIA${String(i).padStart(16, '0')}`,
      accountId: '111111111111',
      quotaKey: 'root:1',
      parent: '{}',
      secret: 's',
      sessionName: `n${String(i % 3)}`,
      policies: '[]',
      roleName: 'r',
      roleId: 'AROA',
      issuedAt: i,
      expiresAt: 10_000,
      revoked: false,
    })
    for (let i = 0; i < 2500; i++) await store.insertSession(row(i))
    const ctx = { store, clock } as unknown as IamContext
    await revokeWhere(ctx, { accountId: '111111111111' }, (r) => r.sessionName === 'n1')
    const left = await store.listActiveSessions({}, clock.now())
    expect(left).toHaveLength(2500 - 833)
    expect(left.every((r) => r.sessionName !== 'n1')).toBe(true)
  })
})
