/**
 * The audit trail's writer: every surface hands events to one AuditRecorder, which queues them in
 * memory and appends them to the AuditLog in batches (every ~100 ms or 1,000 rows), so a request
 * never waits on the database to be audited. Why 1,000: under load every batch is one
 * transaction and one WAL fsync on the event loop; at 100 rows a busy node (8,000 session
 * requests/s) paid ~80 of them a second, about 5 us of server CPU per session request, while at
 * 1,000 the 100 ms timer flushes first and a batch costs its rows and one commit. What a batch that fails to append loses is logged
 * (count and error), never retried forever: the trail must not become a memory leak when the
 * database is down. The queue is bounded for the same reason.
 *
 * Also here: the events built from a finished S3 request made with temporary credentials (from
 * the listener's completion hook and the pipeline's access record), and the retention pass (one node at a time: `BlobLedger.lead(…, 'audit-retention')`).
 * @module
 */
import { startElectedPass } from '../storage/periodic.js'
import type { AccessEntry } from '../http/access-log.js'
import type { AccessRecord, SessionAccess } from '../http/raw-request.js'
import type { Logger } from '../lib/logger.js'
import {
  DETAIL_JSON,
  type AuditEventInput,
  type AuditLog,
  type AuditSink,
} from '../storage/audit-log.js'
import type { BlobLedger } from '../storage/blob-ledger.js'

export type { AuditSink }

/** A sink that drops everything (unit tests, tools). */
export const NO_AUDIT: AuditSink = { record: () => {} }

export interface AuditRecorderOptions {
  readonly flushMs?: number
  readonly maxBatch?: number
  /** Events held at most while the database is slow; beyond, new ones are dropped (and counted). */
  readonly maxQueue?: number
  readonly log: Logger
}

export class AuditRecorder implements AuditSink {
  /** Events, session requests' in their compact form (PendingRequest). */
  private queue: AuditEventInput[] = []
  private timer: NodeJS.Timeout | undefined
  private inFlight: Promise<void> = Promise.resolve()
  private dropped = 0
  private readonly store: AuditLog
  private readonly flushMs: number
  private readonly maxBatch: number
  private readonly maxQueue: number
  private readonly log: Logger

  constructor(store: AuditLog, opts: AuditRecorderOptions) {
    this.store = store
    this.flushMs = opts.flushMs ?? 100
    this.maxBatch = opts.maxBatch ?? 1000
    this.maxQueue = opts.maxQueue ?? 100_000
    this.log = opts.log
  }

  record(e: AuditEventInput): void {
    this.enqueue(e)
  }

  /**
   * Record the event of a finished request when the caller used temporary credentials (else
   * nothing): held compactly until its batch is written (PendingRequest), the same event as
   * `sessionRequestEvent` gives.
   */
  recordSessionRequest(entry: AccessEntry, access: AccessRecord, now: number): void {
    const s = access.session
    if (s !== undefined) this.enqueue(new PendingRequest(entry, s, now).asEvent())
  }

  private enqueue(e: AuditEventInput): void {
    if (this.queue.length >= this.maxQueue) {
      this.dropped++
      return
    }
    this.queue.push(e)
    if (this.queue.length >= this.maxBatch) void this.flush()
    else if (this.timer === undefined) {
      this.timer = setTimeout(() => void this.flush(), this.flushMs)
      this.timer.unref()
    }
  }

  /** Append what is queued now; resolves once it (and every earlier batch) is stored or failed. */
  flush(): Promise<void> {
    if (this.timer !== undefined) {
      clearTimeout(this.timer)
      this.timer = undefined
    }
    if (this.dropped > 0) {
      this.log.warn({ dropped: this.dropped }, 'audit: events dropped (queue full)')
      this.dropped = 0
    }
    const batch = this.queue
    this.queue = []
    const prev = this.inFlight
    const next = (async () => {
      await prev
      for (let i = 0; i < batch.length; i += this.maxBatch) {
        const part = batch.length <= this.maxBatch ? batch : batch.slice(i, i + this.maxBatch)
        try {
          await this.store.append(part)
        } catch (err) {
          this.log.error(
            { err: err instanceof Error ? err.message : String(err), events: part.length },
            'audit: append failed',
          )
        }
      }
    })()
    this.inFlight = next
    return next
  }
}

/** The operation as an IAM-style action (`PutObject` → `s3:PutObject`, `AssumeRole` → `sts:…`). */
function actionOf(surface: string, op: string | undefined): string {
  const prefix = surface === 'sts' ? 'sts' : 's3'
  const name = op ?? 'Unknown'
  // One string per operation for the process's life (a few dozen operations), not per request.
  const byOp = prefix === 'sts' ? STS_ACTIONS : S3_ACTIONS
  let action = byOp.get(name)
  if (action === undefined) {
    action = `${prefix}:${name}`
    if (byOp.size < 256) byOp.set(name, action)
  }
  return action
}

const S3_ACTIONS = new Map<string, string>()
const STS_ACTIONS = new Map<string, string>()

/**
 * The audit event of a finished request made with temporary credentials, or undefined when the
 * caller was not a session (long-term keys and anonymous requests are in the access log only).
 */
export function sessionRequestEvent(
  entry: AccessEntry,
  access: AccessRecord | undefined,
  now: number,
): AuditEventInput | undefined {
  const s = access?.session
  if (s === undefined) return undefined
  return new PendingRequest(entry, s, now).event()
}

/**
 * A session request's event as the recorder holds it until its batch is written: one small
 * object of references to strings the request already made (and the session's own facts, shared
 * by all its requests), not the event with its detail, resource ARN and JSON text. Held events
 * outlive a scavenge or two and are promoted to the old generation, so what they hold is GC cost
 * per request.
 *
 * It reads as the event itself (the port's fields are getters; absent ones read undefined), so a
 * batch goes to the store as it is: the relational stores read each field once while binding the
 * row, and the resource ARN and detail JSON they make then die young. `event()` is the same event
 * as a plain object.
 */
class PendingRequest {
  readonly at: number
  readonly action: string
  readonly source: string
  readonly #s: SessionAccess
  readonly #status: number
  readonly #requestId: string
  readonly #bucket: string | undefined
  readonly #key: string | undefined
  readonly #reason: string | undefined

  constructor(entry: AccessEntry, s: SessionAccess, at: number) {
    this.at = at
    this.action = actionOf(entry.surface, entry.operation)
    this.source = entry.remoteAddress
    this.#s = s
    this.#status = entry.status
    this.#requestId = entry.requestId
    this.#bucket = entry.bucket
    this.#key = entry.key
    this.#reason = entry.errorCode
  }

  get kind(): 'request' {
    return 'request'
  }
  get accountId(): string {
    return this.#s.accountId
  }
  get principal(): string {
    return this.#s.parent
  }
  get session(): string {
    return this.#s.accessKeyId
  }
  get decision(): 'allow' | 'deny' {
    return this.#status === 403 ? 'deny' : 'allow'
  }
  get resource(): string | undefined {
    const bucket = this.#bucket
    if (bucket === undefined) return undefined
    const key = this.#key
    return key === undefined ? `arn:aws:s3:::${bucket}` : `arn:aws:s3:::${bucket}/${key}`
  }
  get reason(): string | undefined {
    return this.#reason
  }
  get detail(): RequestDetail {
    return new RequestDetail(this.#s, this.#status, this.#requestId)
  }

  /** This event as the port's type (its absent fields read undefined, as the stores expect). */
  asEvent(): AuditEventInput {
    return this as unknown as AuditEventInput
  }

  /** The same event as a plain object. */
  event(): AuditEventInput {
    // One object built whole (no spread temporaries); absent fields are added only when present
    // (exactOptionalPropertyTypes).
    const ev: Mutable<AuditEventInput> = {
      at: this.at,
      kind: 'request',
      action: this.action,
      accountId: this.accountId,
      principal: this.principal,
      session: this.session,
      decision: this.decision,
      source: this.source,
      detail: this.detail,
    }
    const resource = this.resource
    if (resource !== undefined) ev.resource = resource
    if (this.#reason !== undefined) ev.reason = this.#reason
    return ev
  }
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] }

/**
 * A session request's detail, with its JSON text (DETAIL_JSON) made on demand from the
 * per-session part serialized once (detailHead) and the request's own two fields. A class, not
 * `Object.defineProperty` on a plain object (which cost ~0.4 us per request): the text is behind
 * a prototype getter, so fields, copies, JSON.stringify and comparisons see only the five facts.
 */
class RequestDetail {
  // The port's detail type is a record; these five are all its own enumerable fields.
  readonly [field: string]: unknown
  readonly chain: readonly string[]
  readonly sessionName: string
  readonly issuedAt: number
  readonly status: number
  readonly requestId: string
  readonly #s: SessionAccess

  constructor(s: SessionAccess, status: number, requestId: string) {
    this.chain = s.chain
    this.sessionName = s.sessionName
    this.issuedAt = s.issuedAt
    this.status = status
    this.requestId = requestId
    this.#s = s
  }

  get [DETAIL_JSON](): string {
    return `${detailHead(this.#s)}"status":${String(this.status)},"requestId":${JSON.stringify(this.requestId)}}`
  }
}

/**
 * The start of a session request's detail JSON, up to the per-request fields: once per session
 * (the access facts are one object per session principal), not stringified per request.
 */
function detailHead(s: SessionAccess): string {
  let head = headOf.get(s)
  if (head === undefined) {
    const json = JSON.stringify({
      chain: s.chain,
      sessionName: s.sessionName,
      issuedAt: s.issuedAt,
    })
    head = `${json.slice(0, -1)},`
    headOf.set(s, head)
  }
  return head
}

const headOf = new WeakMap<SessionAccess, string>()

/**
 * Prune events older than the retention every `everyMs` (default hourly, first pass soon after
 * start), on the one node the ledger elects. Returns a stop function.
 */
export function startAuditRetention(o: {
  readonly audit: AuditLog
  readonly ledger: BlobLedger
  readonly retentionMs: number
  readonly now: () => number
  readonly log: Logger
  readonly everyMs?: number
}): () => Promise<void> {
  return startElectedPass({
    ledger: o.ledger,
    role: 'audit-retention',
    run: async () => {
      const n = await o.audit.prune(o.now() - o.retentionMs)
      if (n > 0) o.log.info({ pruned: n }, 'audit: events past retention pruned')
    },
    log: o.log,
    what: 'audit retention pass',
    firstDelayMs: 5_000,
    everyMs: o.everyMs ?? 3_600_000,
  })
}
