/**
 * The audit writer: events are queued and appended in batches (every 100 ms, or at once when a
 * batch is full), never on the request's path; a failed append is logged and the writer goes on;
 * a full queue drops and counts. The event of a finished session request; the retention pass.
 * @module
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { MemoryAuditLog } from '../backends/memory/audit-log.js'
import { MemoryBlobLedger } from '../backends/memory/blob-ledger.js'
import { SqliteAuditLog } from '../backends/sqlite/audit-log.js'
import { openDatabase } from '../backends/sqlite/db.js'
import { GroupCommit } from '../backends/sqlite/group-commit.js'
import type { AccessEntry } from '../http/access-log.js'
import { newAccessRecord } from '../http/raw-request.js'
import { silentLogger, type Logger } from '../lib/logger.js'
import { auditDetailJson, type AuditEventInput, type AuditLog } from '../storage/audit-log.js'
import { AuditRecorder, sessionRequestEvent, startAuditRetention } from './audit.js'

const ev = (i: number): AuditEventInput => ({ at: i, kind: 'login', action: `a${String(i)}` })
const all = { limit: 1000, offset: 0 }

/** A log whose appends are counted (and can be made to fail). */
function counting(fail = false): AuditLog & { batches: number[] } {
  const inner = new MemoryAuditLog()
  const batches: number[] = []
  return {
    batches,
    append: async (rows) => {
      batches.push(rows.length)
      if (fail) throw new Error('database down')
      await inner.append(rows)
    },
    query: (f, p) => inner.query(f, p),
    prune: (b) => inner.prune(b),
  }
}

function recordingLogger(): Logger & { lines: string[] } {
  const lines: string[] = []
  const log = { ...silentLogger, lines } as Logger & { lines: string[] }
  log.warn = (_o: unknown, msg?: string) => void lines.push(`warn ${msg ?? ''}`)
  log.error = (_o: unknown, msg?: string) => void lines.push(`error ${msg ?? ''}`)
  return log
}

describe('AuditRecorder', () => {
  beforeEach(() => vi.useFakeTimers())
  afterEach(() => vi.useRealTimers())

  it('appends nothing on record; one batch after 100 ms', async () => {
    const store = counting()
    const r = new AuditRecorder(store, { log: silentLogger })
    for (let i = 0; i < 5; i++) r.record(ev(i))
    expect(store.batches).toEqual([])
    await vi.advanceTimersByTimeAsync(99)
    expect(store.batches).toEqual([])
    await vi.advanceTimersByTimeAsync(1)
    expect(store.batches).toEqual([5])
    expect((await store.query({}, all)).total).toBe(5)
  })

  it('flushes at once when a batch is full (1,000 rows), without waiting for the timer', async () => {
    const store = counting()
    const r = new AuditRecorder(store, { log: silentLogger })
    for (let i = 0; i < 2500; i++) r.record(ev(i))
    await vi.advanceTimersByTimeAsync(0)
    expect(store.batches).toEqual([1000, 1000])
    await r.flush()
    expect(store.batches).toEqual([1000, 1000, 500])
  })

  it('logs a failed append and keeps going', async () => {
    const store = counting(true)
    const log = recordingLogger()
    const r = new AuditRecorder(store, { log })
    r.record(ev(1))
    await r.flush()
    expect(log.lines).toEqual(['error audit: append failed'])
    r.record(ev(2))
    await r.flush()
    expect(store.batches).toEqual([1, 1])
  })

  it('drops beyond its bound and says how many', async () => {
    const store = counting()
    const log = recordingLogger()
    const r = new AuditRecorder(store, { log, maxQueue: 3, maxBatch: 10 })
    for (let i = 0; i < 5; i++) r.record(ev(i))
    await r.flush()
    expect(store.batches).toEqual([3])
    expect(log.lines).toEqual(['warn audit: events dropped (queue full)'])
  })
})

describe('sessionRequestEvent', () => {
  const entry: AccessEntry = {
    requestId: 'R1',
    remoteAddress: '10.0.0.9',
    method: 'PUT',
    path: '/b/k',
    query: '',
    surface: 's3',
    operation: 'PutObject',
    bucket: 'b',
    key: 'k',
    principal: { kind: 'session', accessKeyId: 'ASIA1' },
    status: 403,
    errorCode: 'AccessDenied',
    bytesIn: 0,
    bytesOut: 0,
    durationMs: 1,
    aborted: false,
  }

  it('names an STS call made with a session (role chaining) as sts:*', () => {
    const access = newAccessRecord()
    access.session = {
      accessKeyId: 'ASIA1',
      accountId: '111111111111',
      sessionName: 'up',
      issuedAt: 1,
      parent: 'alice',
      chain: ['session:ASIA1', 'user:alice'],
    }
    const sts = {
      ...entry,
      surface: 'sts',
      operation: 'AssumeRole',
      bucket: undefined,
      key: undefined,
    }
    expect(sessionRequestEvent(sts, access, 5)).toMatchObject({
      action: 'sts:AssumeRole',
      session: 'ASIA1',
    })
    expect(sessionRequestEvent(sts, access, 5)?.resource).toBeUndefined()
  })

  it('is undefined unless the caller used temporary credentials', () => {
    expect(sessionRequestEvent(entry, newAccessRecord(), 5)).toBeUndefined()
  })

  it('names the session, its chain, the action, the object and the decision', () => {
    const access = newAccessRecord()
    access.session = {
      accessKeyId: 'ASIA1',
      accountId: '111111111111',
      sessionName: 'up',
      issuedAt: 1,
      parent: 'alice',
      chain: ['session:ASIA1', 'user:alice (AKIA1)'],
    }
    expect(sessionRequestEvent(entry, access, 5)).toEqual({
      at: 5,
      kind: 'request',
      action: 's3:PutObject',
      accountId: '111111111111',
      principal: 'alice',
      session: 'ASIA1',
      resource: 'arn:aws:s3:::b/k',
      decision: 'deny',
      reason: 'AccessDenied',
      source: '10.0.0.9',
      detail: {
        chain: ['session:ASIA1', 'user:alice (AKIA1)'],
        sessionName: 'up',
        issuedAt: 1,
        status: 403,
        requestId: 'R1',
      },
    })
  })

  it('is what AuditRecorder.recordSessionRequest stores (held compactly until its batch)', async () => {
    const store = new MemoryAuditLog()
    const r = new AuditRecorder(store, { log: silentLogger })
    const access = newAccessRecord()
    r.recordSessionRequest(entry, access, 4) // not a session: nothing
    access.session = {
      accessKeyId: 'ASIA3',
      accountId: '111111111111',
      sessionName: 'up',
      issuedAt: 1,
      parent: 'alice',
      chain: ['session:ASIA3', 'user:alice'],
    }
    const ok = { ...entry, status: 200, errorCode: undefined, key: undefined }
    r.recordSessionRequest(entry, access, 5)
    r.recordSessionRequest(ok, access, 6)
    await r.flush()
    const { events, total } = await store.query({}, all)
    expect(total).toBe(2)
    expect(events.map(({ id: _id, ...e }) => e)).toEqual([
      sessionRequestEvent(ok, access, 6),
      sessionRequestEvent(entry, access, 5),
    ])
    expect(events[0]).toMatchObject({ resource: 'arn:aws:s3:::b', decision: 'allow' })
    expect(events[0]).not.toHaveProperty('reason')
    expect(auditDetailJson(events[1]?.detail ?? {})).toBe(
      '{"chain":["session:ASIA3","user:alice"],"sessionName":"up","issuedAt":1,"status":403,"requestId":"R1"}',
    )
  })

  it('is what SQLite stores from a recorded session request, in a 100-row chunk or alone', async () => {
    const db = openDatabase(':memory:')
    const commits = new GroupCommit(db)
    const store = SqliteAuditLog.open(db, commits)
    const r = new AuditRecorder(store, { log: silentLogger })
    const access = newAccessRecord()
    access.session = {
      accessKeyId: 'ASIA4',
      accountId: '111111111111',
      sessionName: 'q"uote\\é',
      issuedAt: 1,
      parent: 'alice',
      chain: ['session:ASIA4', 'user:alice'],
    }
    const entries = Array.from({ length: 101 }, (_, i) =>
      i % 2 === 0
        ? { ...entry, requestId: `R${String(i)}` }
        : {
            ...entry,
            status: 200,
            errorCode: undefined,
            key: undefined,
            requestId: `R${String(i)}`,
          },
    )
    entries.forEach((e, i) => r.recordSessionRequest(e, access, 10 + i))
    await r.flush()
    const { events, total } = await store.query({}, { limit: 200, offset: 0 })
    expect(total).toBe(101)
    expect(events.map(({ id: _id, ...e }) => e)).toEqual(
      entries.map((e, i) => sessionRequestEvent(e, access, 10 + i)).reverse(),
    )
    await commits.drain()
    db.close()
  })

  it('carries its detail as ready JSON text, the same as JSON.stringify gives, per session', () => {
    const access = newAccessRecord()
    access.session = {
      accessKeyId: 'ASIA2',
      accountId: '111111111111',
      sessionName: 'q"uote\\é\u2028',
      issuedAt: 1_700_000_000_123,
      parent: 'AKIAROOT',
      chain: ['session:ASIA2', 'session:ASIA1', 'account-root:AKIAROOT'],
    }
    for (const [status, requestId] of [
      [200, 'R1'],
      [403, 'R"2'],
    ] as const) {
      const ev = sessionRequestEvent({ ...entry, status, requestId }, access, 5)
      const detail = ev?.detail ?? {}
      expect(auditDetailJson(detail)).toBe(JSON.stringify(detail))
      expect(JSON.parse(auditDetailJson(detail))).toEqual({
        chain: ['session:ASIA2', 'session:ASIA1', 'account-root:AKIAROOT'],
        sessionName: 'q"uote\\é\u2028',
        issuedAt: 1_700_000_000_123,
        status,
        requestId,
      })
    }
  })
})

describe('startAuditRetention', () => {
  beforeEach(() => vi.useFakeTimers())
  afterEach(() => vi.useRealTimers())

  it('prunes what is older than the retention, soon after start and then every period', async () => {
    const audit = new MemoryAuditLog()
    let now = 10_000
    await audit.append([ev(1000), ev(9000)])
    const stop = startAuditRetention({
      audit,
      ledger: new MemoryBlobLedger(),
      retentionMs: 5000,
      now: () => now,
      log: silentLogger,
      everyMs: 60_000,
    })
    await vi.advanceTimersByTimeAsync(5000)
    expect((await audit.query({}, all)).events.map((e) => e.at)).toEqual([9000])
    now = 20_000
    await vi.advanceTimersByTimeAsync(60_000)
    expect((await audit.query({}, all)).total).toBe(0)
    await stop()
  })
})
