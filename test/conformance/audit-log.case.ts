/**
 * The AuditLog contract, run against every implementation (memory, SQLite, PostgreSQL): appended
 * events come back whole (every optional field, the detail object) with increasing ids, newest
 * first; each filter (principal, session, action, since inclusive, until exclusive, accounts —
 * none matches nothing) and their combination; pagination with the total; pruning removes only
 * what is older than its bound and says how many; an empty append is a no-op.
 */
import { describe, expect, it } from 'vitest'
import type { AuditEventInput, AuditLog } from '../../src/storage/audit-log.js'

export interface AuditLogHarness {
  readonly audit: AuditLog
  close(): Promise<void>
}

const T0 = Date.UTC(2026, 0, 1)

const FULL: AuditEventInput = {
  at: T0,
  kind: 'issuance',
  action: 'sts:AssumeRole',
  accountId: '111111111111',
  principal: 'alice',
  session: 'ASIAAAAAAAAAAAAAAAA1',
  resource: 'arn:aws:sts::111111111111:assumed-role/alice/upload',
  decision: 'allow',
  reason: 'ok',
  source: '10.0.0.1',
  detail: { policyHash: 'ab'.repeat(32), durationSeconds: 3600, chain: ['a', 'b'] },
}

/** Ten events: alternating principals and accounts, one second apart. */
function ten(): AuditEventInput[] {
  return Array.from({ length: 10 }, (_, i) => ({
    at: T0 + i * 1000,
    kind: i % 2 === 0 ? ('request' as const) : ('admin' as const),
    action: i % 2 === 0 ? 's3:PutObject' : 'iam:CreateUser',
    accountId: i % 2 === 0 ? '111111111111' : '222222222222',
    principal: i % 2 === 0 ? 'alice' : 'bob',
    ...(i < 3 ? { session: 'ASIAAAAAAAAAAAAAAAA1' } : {}),
  }))
}

export function auditLogConformance(name: string, open: () => Promise<AuditLogHarness>): void {
  describe(`AuditLog conformance: ${name}`, () => {
    async function withLog(fn: (a: AuditLog) => Promise<void>): Promise<void> {
      const h = await open()
      try {
        await fn(h.audit)
      } finally {
        await h.close()
      }
    }
    const all = { limit: 1000, offset: 0 }

    it('returns an event whole, with every field and its detail', () =>
      withLog(async (a) => {
        await a.append([FULL, { at: T0, kind: 'login', action: 'admin:Login' }])
        const { events, total } = await a.query({}, all)
        expect(total).toBe(2)
        const full = events.find((e) => e.action === 'sts:AssumeRole')
        expect(full).toEqual({ ...FULL, id: full?.id })
        const bare = events.find((e) => e.action === 'admin:Login')
        expect(bare).toEqual({ at: T0, kind: 'login', action: 'admin:Login', id: bare?.id })
      }))

    it('lists newest first; equal times in reverse append order; ids increase', () =>
      withLog(async (a) => {
        await a.append(ten())
        await a.append([{ at: T0 + 9000, kind: 'login', action: 'later' }])
        const { events } = await a.query({}, all)
        expect(events.map((e) => e.at)).toEqual(
          [...ten().map((e) => e.at), T0 + 9000].sort((x, y) => y - x),
        )
        expect(events[0]?.action).toBe('later')
        expect(events[0]!.id).toBeGreaterThan(events[1]!.id)
      }))

    it('a large batch (SQLite: several multi-row INSERTs and a remainder) keeps each event whole, in append order', () =>
      withLog(async (a) => {
        const many: AuditEventInput[] = Array.from({ length: 63 }, (_, i) => ({
          ...FULL,
          at: T0,
          action: `s3:Op${String(i)}`,
          ...(i % 3 === 0 ? { session: `ASIA${String(i).padStart(16, '0')}` } : {}),
          detail: { n: i },
        }))
        await a.append(many)
        const { events, total } = await a.query({}, all)
        expect(total).toBe(63)
        // equal times: newest (last appended) first
        const appended = [...events].reverse()
        expect(appended.map(({ id: _id, ...e }) => e)).toEqual(many)
        for (let i = 1; i < appended.length; i++)
          expect(appended[i]!.id).toBeGreaterThan(appended[i - 1]!.id)
      }))

    it('filters by principal, session, action, time and account, alone and together', () =>
      withLog(async (a) => {
        await a.append(ten())
        const count = async (f: Parameters<AuditLog['query']>[0]) => (await a.query(f, all)).total
        expect(await count({ principal: 'alice' })).toBe(5)
        expect(await count({ session: 'ASIAAAAAAAAAAAAAAAA1' })).toBe(3)
        expect(await count({ action: 'iam:CreateUser' })).toBe(5)
        expect(await count({ since: T0 + 5000 })).toBe(5) // inclusive
        expect(await count({ until: T0 + 5000 })).toBe(5) // exclusive
        expect(await count({ since: T0 + 2000, until: T0 + 4000 })).toBe(2)
        expect(await count({ accountIds: ['222222222222'] })).toBe(5)
        expect(await count({ accountIds: ['111111111111', '222222222222'] })).toBe(10)
        expect(await count({ accountIds: [] })).toBe(0)
        expect(await count({ principal: 'alice', session: 'ASIAAAAAAAAAAAAAAAA1' })).toBe(2)
        expect(await count({ principal: 'alice', accountIds: ['222222222222'] })).toBe(0)
        expect(await count({ principal: 'nobody' })).toBe(0)
      }))

    it('pages with the total of the whole match', () =>
      withLog(async (a) => {
        await a.append(ten())
        const p1 = await a.query({ principal: 'alice' }, { limit: 2, offset: 0 })
        const p3 = await a.query({ principal: 'alice' }, { limit: 2, offset: 4 })
        expect(p1.total).toBe(5)
        expect(p1.events.map((e) => e.at)).toEqual([T0 + 8000, T0 + 6000])
        expect(p3.events.map((e) => e.at)).toEqual([T0])
        expect((await a.query({}, { limit: 5, offset: 50 })).events).toEqual([])
      }))

    it('prunes only what is older than the bound, and says how many', () =>
      withLog(async (a) => {
        await a.append(ten())
        expect(await a.prune(T0 + 3000)).toBe(3)
        expect(await a.prune(T0 + 3000)).toBe(0)
        const { events, total } = await a.query({}, all)
        expect(total).toBe(7)
        expect(Math.min(...events.map((e) => e.at))).toBe(T0 + 3000)
      }))

    it('an empty append changes nothing', () =>
      withLog(async (a) => {
        await a.append([])
        expect((await a.query({}, all)).total).toBe(0)
      }))
  })
}
