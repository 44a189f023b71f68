/** Who may manage which account: the operator all, a reseller its own and its customers, others their own. */
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import {
  canManageAccount,
  visibleAccount,
  visibleAccountIds,
  visibleUser,
  type Manager,
} from './tenancy.js'

const accounts = [
  { id: 'op-default', type: 'customer' as const },
  { id: 'reseller-a', type: 'reseller' as const },
  { id: 'cust-a1', type: 'customer' as const, resellerId: 'reseller-a' },
  { id: 'reseller-b', type: 'reseller' as const },
  { id: 'cust-b1', type: 'customer' as const, resellerId: 'reseller-b' },
  { id: 'cust-a2', type: 'customer' as const, resellerId: 'reseller-a' },
]
const operator: Manager = { kind: 'operator' }
const as = (id: string): Manager => {
  const a = accounts.find((x) => x.id === id)
  if (a === undefined) throw new Error(id)
  return { kind: 'user', account: a }
}

describe('visibleAccountIds', () => {
  it('the operator sees every account, in directory order', () => {
    expect(visibleAccountIds(operator, accounts)).toEqual(accounts.map((a) => a.id))
  })
  it('a reseller sees itself first, then only its own customers', () => {
    expect(visibleAccountIds(as('reseller-a'), accounts)).toEqual([
      'reseller-a',
      'cust-a1',
      'cust-a2',
    ])
  })
  it('a customer sees only itself, even a reseller’s customer', () => {
    expect(visibleAccountIds(as('cust-a1'), accounts)).toEqual(['cust-a1'])
    expect(visibleAccountIds(as('op-default'), accounts)).toEqual(['op-default'])
  })
  it('no user ever sees an account outside its own tree (any directory)', () => {
    const tree = fc
      .array(fc.record({ id: fc.uuid(), reseller: fc.boolean(), under: fc.nat() }), {
        minLength: 1,
        maxLength: 12,
      })
      .map((rows) => {
        const uniq = [...new Map(rows.map((r) => [r.id, r])).values()]
        const resellers = uniq.filter((r) => r.reseller)
        return uniq.map((r) => {
          const parent = resellers[r.under % Math.max(resellers.length, 1)]
          return {
            id: r.id,
            type: r.reseller ? ('reseller' as const) : ('customer' as const),
            ...(!r.reseller && parent !== undefined && r.under % 2 === 0
              ? { resellerId: parent.id }
              : {}),
          }
        })
      })
    fc.assert(
      fc.property(tree, fc.nat(), (all, pick) => {
        const me = all[pick % all.length]
        if (me === undefined) return
        for (const id of visibleAccountIds({ kind: 'user', account: me }, all)) {
          const a = all.find((x) => x.id === id)
          expect(id === me.id || a?.resellerId === me.id).toBe(true)
        }
      }),
    )
  })
})

describe('canManageAccount / visibleAccount / visibleUser', () => {
  it('a reseller manages its customers but not another reseller’s', () => {
    expect(canManageAccount(as('reseller-a'), 'cust-a2', accounts)).toBe(true)
    expect(canManageAccount(as('reseller-a'), 'cust-b1', accounts)).toBe(false)
    expect(canManageAccount(as('cust-a1'), 'reseller-a', accounts)).toBe(false)
    expect(canManageAccount(operator, 'cust-b1', accounts)).toBe(true)
  })
  it('unknown is not-found, someone else’s is other-account, else the view itself', () => {
    const cust = { id: 'cust-b1', name: 'b1' }
    expect(visibleAccount(as('reseller-a'), undefined, accounts)).toEqual({
      ok: false,
      reason: 'not-found',
    })
    expect(visibleAccount(as('reseller-a'), cust, accounts)).toEqual({
      ok: false,
      reason: 'other-account',
    })
    expect(visibleAccount(as('reseller-b'), cust, accounts)).toEqual({ ok: true, value: cust })
    const user = { id: 'u1', accountId: 'cust-a1' }
    expect(visibleUser(as('reseller-a'), user, accounts)).toEqual({ ok: true, value: user })
    expect(visibleUser(as('cust-a2'), user, accounts)).toEqual({
      ok: false,
      reason: 'other-account',
    })
    expect(visibleUser(operator, undefined, accounts)).toEqual({ ok: false, reason: 'not-found' })
  })
})
