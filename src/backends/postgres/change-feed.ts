/**
 * The ChangeFeed of a cluster sharing one PostgreSQL: every change reaches every node, in commit
 * order, at least once, and `applied(seq)` means "every live node has applied it", which is what
 * makes an admin revoke refused on every node on the very next request after the call returns.
 *
 * - `publish` stays synchronous (the port): the changes fan out to this node's subscribers at
 *   once, exactly as the memory feed does, so this node's caches are fresh before the write
 *   returns. They are then queued (all but object changes, which no other node needs) for the
 *   outbox table `latchkey_changes`; one writer at a time
 *   appends everything queued as one row in one statement that takes an advisory lock, inserts
 *   (the identity id is the cluster-wide order) and `pg_notify`s the id. The lock makes ids
 *   commit in id order, so a reader keeping "last id seen" never skips a row committed late
 *   (NOTIFY serialises committing transactions anyway, so the lock costs little more). A failed
 *   append is retried with back-off; after a few failures the queued changes collapse into one
 *   "resync" row (NULL changes: other nodes reload everything), which also bounds memory while
 *   the database is away.
 * - Other nodes: a dedicated `pg.Client` LISTENs, and every notification (and a poll every
 *   `pollMs`, through the pool, which survives lost notifications) reads rows with id > last seen,
 *   in order, delivering those another node wrote. When the LISTEN connection is lost, or a poll
 *   failed, notifications may have been missed: after reconnecting, every subscriber `resync`s
 *   first, then the outbox is read on from the last id seen.
 * - Local sequence numbers count changes as this node delivers them (own and others'); a list of
 *   marks maps them to outbox ids (for own changes once the append returns).
 * - `applied(seq)`: this node's subscribers finished (their promises), the outbox id covering
 *   `seq` is known, and every node whose heartbeat in `latchkey_feed_nodes` is younger than
 *   `liveMs` reports `applied_id` ≥ that id. A node reports `applied_id = X` only after it has
 *   read every row up to X and its subscribers' promises for them resolved. Nodes that stop
 *   heartbeating drop out after `liveMs`; a node that closes removes its row at once.
 * - Rows older than `pruneAfterMs` and applied by every live node are deleted.
 * - `current` (not on the port yet) is false while this node's own heartbeat is stale or it has
 *   missed changes not yet resynced: the window in which others may have stopped waiting for it.
 *
 * Nothing here ever rejects unobserved: background work logs and goes on.
 * @module
 */
import { randomUUID } from 'node:crypto'
import pg from 'pg'
import { silentLogger, type Logger } from '../../lib/logger.js'
import type { Change, ChangeFeed, ChangeSubscriber } from '../../storage/change-feed.js'
import { runMigrations, type PgDatabase } from './db.js'
import { CHANGE_FEED_MIGRATIONS, CHANGE_FEED_MIGRATIONS_NAME } from './migrations/change-feed.js'

const CHANNEL = 'latchkey_changes'
/** Serialises outbox appends cluster-wide (ids commit in id order). */
const APPEND_LOCK = 7204518
/** Outbox rows read per query. */
const READ_BATCH = 500
/** How often `applied()` re-reads the nodes table while waiting. */
const APPLIED_POLL_MS = 20

export interface PostgresChangeFeedOptions {
  /** Connection URL for the LISTEN client (the pool of `db` serves everything else). */
  readonly url: string
  readonly log?: Logger
  /** This node's id in the outbox and the nodes table (random by default). */
  readonly nodeId?: string
  /** Poll and heartbeat period (default 1 s). */
  readonly pollMs?: number
  /** A node whose heartbeat is older than this is not waited for (default 5 s). */
  readonly liveMs?: number
  /** Outbox rows older than this (and applied everywhere) are deleted (default 5 min). */
  readonly pruneAfterMs?: number
  /** Delay before reconnecting the LISTEN client (default 500 ms). */
  readonly reconnectMs?: number
  /** Failed appends before the queue collapses into one resync row (default 3). */
  readonly appendRetries?: number
}

interface Batch {
  /** null: "changes were lost, resync". */
  readonly changes: readonly Change[] | null
  readonly resolve: (id: number | undefined) => void
}

/** Local sequence numbers first..last are covered by outbox row `id` (undefined: never appended). */
interface Mark {
  readonly first: number
  readonly last: number
  id: number | undefined | Promise<number | undefined>
}

interface Row {
  readonly id: string
  readonly node: string
  readonly changes: readonly Change[] | null
}

const TIMEOUT = Symbol('timeout')

/** Run the migrations, read the outbox head, register the node and start listening. */
export async function openPostgresChangeFeed(
  db: PgDatabase,
  opts: PostgresChangeFeedOptions,
): Promise<PostgresChangeFeed> {
  await runMigrations(db, CHANGE_FEED_MIGRATIONS_NAME, CHANGE_FEED_MIGRATIONS)
  const feed = new PostgresChangeFeed(db, opts)
  try {
    await feed.start()
  } catch (e) {
    await feed.close()
    throw e
  }
  return feed
}

export class PostgresChangeFeed implements ChangeFeed {
  readonly nodeId: string
  private readonly log: Logger
  private readonly pollMs: number
  private readonly liveMs: number
  private readonly pruneAfterMs: number
  private readonly reconnectMs: number
  private readonly appendRetries: number
  private readonly subscribers = new Set<ChangeSubscriber>()
  private seq = 0
  /** Subscribers' promises still running, by local sequence number. */
  private readonly pending = new Map<number, Promise<unknown>>()
  private marks: Mark[] = []
  private queue: Batch[] = []
  private flushing: Promise<void> | undefined
  private polling: Promise<void> | undefined
  private pollAgain = false
  private reporting: Promise<void> | undefined
  private reportAgain = false
  /** Highest outbox id read. */
  private lastId = 0
  /** Highest outbox id this node has fully applied (reported in the nodes table). */
  private appliedId = 0
  /** The nodes whose heartbeat was fresh at the last read of the nodes table. */
  private liveNodes: ReadonlySet<string> = new Set()
  /** When the nodes table was last read successfully (local clock). */
  private lastLiveRead = 0
  /** The lowest applied id of the live nodes, as last read. */
  private clusterApplied = 0
  /** Notifications may have been missed: resync before reading on. */
  private gap = false
  /** A precautionary resync is due at the next read of the outbox (the node stays current). */
  private refresh = false
  /** Resyncs whose reloads are still running (the caches are not trustworthy until they end). */
  private resyncing = 0
  private listener: pg.Client | undefined
  private tick: NodeJS.Timeout | undefined
  private reconnectTimer: NodeJS.Timeout | undefined
  private lastPrune = Date.now()
  /** When the last heartbeat that succeeded was sent (local clock; 0: never). */
  private lastBeat = 0
  private closed = false

  private readonly db: PgDatabase
  private readonly opts: PostgresChangeFeedOptions

  constructor(db: PgDatabase, opts: PostgresChangeFeedOptions) {
    this.db = db
    this.opts = opts
    this.nodeId = opts.nodeId ?? randomUUID()
    this.log = (opts.log ?? silentLogger).child({ feedNode: this.nodeId })
    this.pollMs = opts.pollMs ?? 1_000
    this.liveMs = opts.liveMs ?? 5_000
    this.pruneAfterMs = opts.pruneAfterMs ?? 300_000
    this.reconnectMs = opts.reconnectMs ?? 500
    this.appendRetries = opts.appendRetries ?? 3
  }

  /** Whether the LISTEN connection is up (notifications arrive). */
  get listening(): boolean {
    return this.listener !== undefined
  }

  /**
   * Whether this node can trust its caches: it heartbeated within half of `liveMs` (so the other
   * nodes still wait for it in `applied()`) and has missed nothing it has not finished resyncing
   * for. A node that is not current may have been dropped from the live set, so an admin call
   * elsewhere may have returned without it: the dispatcher answers 503 until it is current again.
   *
   * Why half of `liveMs`, measured from when the heartbeat was sent: the others judge liveness by
   * the heartbeat's commit time (≥ the send time) against `liveMs`, so this node stops trusting
   * itself at least `liveMs / 2` before anyone stops waiting for it, whatever the round trip took.
   */
  get current(): boolean {
    return !this.gap && this.resyncing === 0 && Date.now() - this.lastBeat < this.liveMs / 2
  }

  async start(): Promise<void> {
    const head = await this.db.query<{ id: string | null }>(
      'SELECT max(id) AS id FROM latchkey_changes',
    )
    this.lastId = this.appliedId = Number(head.rows[0]?.id ?? 0)
    await this.writeReport()
    await this.connectListener()
    this.tick = setInterval(() => this.onTick(), this.pollMs)
    this.tick.unref()
  }

  publish(changes: readonly Change[]): number {
    if (changes.length === 0) return this.seq
    const first = this.seq + 1
    for (const c of changes) this.deliver(c)
    // Object changes stay on this node: no node caches object records it did not write (S3's
    // read-after-write across nodes, backends/postgres/index.ts), so announcing them would cost
    // an outbox append per PUT for nothing.
    const shared = changes.filter((c) => c.kind !== 'object')
    if (shared.length === 0) return this.seq
    const mark: Mark = { first, last: this.seq, id: undefined }
    if (!this.closed) {
      const id = new Promise<number | undefined>((resolve) =>
        this.queue.push({ changes: shared, resolve }),
      )
      mark.id = id
      void id.then((v) => {
        mark.id = v
      })
      this.marks.push(mark)
      this.kickFlush()
    }
    return this.seq
  }

  head(): number {
    return this.seq
  }

  subscribe(s: ChangeSubscriber): () => void {
    this.subscribers.add(s)
    return () => void this.subscribers.delete(s)
  }

  async applied(seq: number, timeoutMs: number): Promise<boolean> {
    const deadline = Date.now() + timeoutMs
    const local = [...this.pending].filter(([s]) => s <= seq).map(([, p]) => p)
    if (local.length > 0 && (await within(Promise.all(local), deadline)) === TIMEOUT) return false
    const marks = this.marks.filter((m) => m.first <= seq)
    if (marks.length === 0) return true
    const ids = await within(Promise.all(marks.map((m) => m.id)), deadline)
    if (ids === TIMEOUT || ids.some((id) => id === undefined)) return false
    const target = Math.max(...(ids as number[]))
    for (;;) {
      if (target <= this.clusterApplied) return true
      this.kickPoll()
      try {
        await this.readClusterApplied()
        if (target <= this.clusterApplied) return true
      } catch (e) {
        this.log.debug({ err: e }, 'change feed: reading the nodes table failed')
      }
      const left = deadline - Date.now()
      if (left <= 0) return false
      await new Promise((resolve) => setTimeout(resolve, Math.min(APPLIED_POLL_MS, left)))
    }
  }

  async close(): Promise<void> {
    if (this.closed) return
    this.closed = true
    clearInterval(this.tick)
    clearTimeout(this.reconnectTimer)
    const l = this.listener
    this.listener = undefined
    if (l !== undefined) await l.end().catch(() => {})
    await this.flushing
    await this.polling
    await this.reporting
    // A subscriber stuck for good must not keep the process from shutting down.
    if ((await within(Promise.all(this.pending.values()), Date.now() + 5_000)) === TIMEOUT)
      this.log.warn({}, 'change feed closed with subscribers still applying')
    // Gone on purpose: the other nodes stop waiting for this one at once.
    await this.db
      .query('DELETE FROM latchkey_feed_nodes WHERE node = $1', [this.nodeId])
      .catch(() => {})
    this.subscribers.clear()
  }

  /** Hand one change to every subscriber under the next local sequence number. */
  private deliver(c: Change): void {
    const seq = ++this.seq
    this.track(seq, (s) => s.change(c, seq), c)
  }

  /**
   * Tell every subscriber to reload (changes may have been missed). `strict`: until the reloads
   * finish the node is not current (503); a precautionary resync (nothing is known to be missed)
   * lets requests go on meanwhile.
   */
  private resyncAll(strict = true): void {
    const seq = ++this.seq
    this.track(seq, (s) => s.resync(), 'resync')
    const reloads = this.pending.get(seq)
    if (reloads === undefined || !strict) return
    this.resyncing++
    void reloads.finally(() => this.resyncing--)
  }

  private track(
    seq: number,
    call: (s: ChangeSubscriber) => void | Promise<void>,
    what: Change | 'resync',
  ): void {
    let waits: Promise<unknown>[] | undefined
    for (const s of this.subscribers) {
      let r: void | Promise<void>
      try {
        r = call(s)
      } catch (err) {
        this.subscriberFailed(err, what)
        continue
      }
      if (r !== undefined) {
        const w = r.catch((err: unknown) => this.subscriberFailed(err, what))
        ;(waits ??= []).push(w)
      }
    }
    if (waits === undefined) return
    const all = Promise.all(waits)
    this.pending.set(seq, all)
    void all.then(() => this.pending.delete(seq))
  }

  /**
   * A cache could not apply a change (its reload read failed: the database blinked): it may still
   * hold what the change revoked. Treat it as missed changes: not current (503) until the next
   * poll resyncs everything, and again if that resync fails.
   */
  private subscriberFailed(err: unknown, what: Change | 'resync'): void {
    this.log.error({ err, change: what }, 'change subscriber failed; resyncing')
    this.gap = true
  }

  private kickFlush(): void {
    if (this.flushing !== undefined) return
    this.flushing = this.flushLoop().finally(() => {
      this.flushing = undefined
    })
  }

  /** Append everything queued, one row per attempt, in order; never rejects. */
  private async flushLoop(): Promise<void> {
    let failures = 0
    while (this.queue.length > 0) {
      const take = this.queue.slice()
      const lost = take.some((b) => b.changes === null)
      const changes = lost ? null : take.flatMap((b) => b.changes ?? [])
      try {
        const r = await this.db.query<{ id: string }>(
          `WITH l AS (SELECT pg_advisory_xact_lock($1)),
             ins AS (INSERT INTO latchkey_changes (node, changes) SELECT $2, $3::jsonb FROM l RETURNING id)
           SELECT id, pg_notify('${CHANNEL}', id::text) FROM ins`,
          [APPEND_LOCK, this.nodeId, changes === null ? null : JSON.stringify(changes)],
        )
        const id = Number(r.rows[0]!.id)
        this.queue.splice(0, take.length)
        for (const b of take) b.resolve(id)
        failures = 0
      } catch (err) {
        failures++
        if (this.closed && failures > this.appendRetries) {
          this.log.error({ err }, 'change feed closing: changes not appended for other nodes')
          for (const b of this.queue.splice(0)) b.resolve(undefined)
          return
        }
        if (failures === this.appendRetries) {
          // Other nodes cannot get these changes soon: one row telling them to reload instead.
          this.log.error({ err }, 'change feed: appends failing, other nodes will resync')
          const all = this.queue.splice(0)
          this.queue.unshift({
            changes: null,
            resolve: (id) => {
              for (const b of all) b.resolve(id)
            },
          })
        } else {
          this.log.warn({ err, failures }, 'change feed: append failed, retrying')
        }
        await new Promise((resolve) => setTimeout(resolve, Math.min(50 * 2 ** failures, 2_000)))
      }
    }
  }

  private kickPoll(): void {
    if (this.closed) return
    if (this.polling !== undefined) {
      this.pollAgain = true
      return
    }
    this.polling = this.pollLoop().finally(() => {
      this.polling = undefined
    })
  }

  private async pollLoop(): Promise<void> {
    do {
      this.pollAgain = false
      try {
        await this.readOutbox()
      } catch (err) {
        this.gap = true
        this.log.warn({ err }, 'change feed: reading the outbox failed')
        return
      }
    } while (this.pollAgain && !this.closed)
  }

  /** Deliver the rows after the last id seen that other nodes wrote, in order. */
  private async readOutbox(): Promise<void> {
    for (;;) {
      const r = await this.db.query<Row>(
        'SELECT id, node, changes FROM latchkey_changes WHERE id > $1 ORDER BY id LIMIT $2',
        [this.lastId, READ_BATCH],
      )
      if (this.closed) return
      if (this.gap) {
        this.gap = false
        this.refresh = false
        this.resyncAll()
      } else if (this.refresh) {
        this.refresh = false
        this.resyncAll(false)
      }
      for (const row of r.rows) {
        const id = Number(row.id)
        if (row.node !== this.nodeId) {
          const first = this.seq + 1
          if (row.changes === null) this.resyncAll()
          else for (const c of row.changes) this.deliver(c)
          this.marks.push({ first, last: this.seq, id })
        }
        this.lastId = id
      }
      this.afterLocal(this.seq, this.lastId)
      if (r.rows.length < READ_BATCH) return
    }
  }

  /** Once subscribers finished every change up to local `seq`, report outbox `id` as applied. */
  private afterLocal(seq: number, id: number): void {
    if (id <= this.appliedId) return
    const waits = [...this.pending].filter(([s]) => s <= seq).map(([, p]) => p)
    const advance = (): void => {
      if (id <= this.appliedId) return
      this.appliedId = id
      this.kickReport()
    }
    if (waits.length === 0) advance()
    else void Promise.all(waits).then(advance)
  }

  private kickReport(): void {
    if (this.closed) return
    if (this.reporting !== undefined) {
      this.reportAgain = true
      return
    }
    this.reporting = (async () => {
      do {
        this.reportAgain = false
        try {
          await this.writeReport()
        } catch (err) {
          this.log.warn({ err }, 'change feed: heartbeat failed')
          return
        }
      } while (this.reportAgain && !this.closed)
    })().finally(() => {
      this.reporting = undefined
    })
  }

  /** Heartbeat + how far this node has applied. */
  private async writeReport(): Promise<void> {
    const sent = Date.now()
    await this.db.query(
      `INSERT INTO latchkey_feed_nodes (node, applied_id, heartbeat) VALUES ($1, $2, now())
       ON CONFLICT (node) DO UPDATE SET heartbeat = now(),
         applied_id = GREATEST(latchkey_feed_nodes.applied_id, EXCLUDED.applied_id)`,
      [this.nodeId, this.appliedId],
    )
    this.lastBeat = Math.max(this.lastBeat, sent)
  }

  private async readClusterApplied(): Promise<void> {
    const r = await this.db.query<{ node: string; applied_id: string }>(
      `SELECT node, applied_id FROM latchkey_feed_nodes
       WHERE heartbeat > now() - $1 * interval '1 millisecond'`,
      [this.liveMs],
    )
    const live = new Set(r.rows.map((x) => x.node))
    this.noticeDeparted(live)
    const m = r.rows.reduce((lo, x) => Math.min(lo, Number(x.applied_id)), Infinity)
    if (Number.isFinite(m) && m > this.clusterApplied) this.clusterApplied = m
    // Marks every live node has applied are of no more use.
    this.marks = this.marks.filter((k) => typeof k.id !== 'number' || k.id > this.clusterApplied)
  }

  /**
   * A node left the live set. If it died (kill -9, power loss) between committing a write and
   * appending that write's changes to the outbox, those changes will never arrive: every other
   * node resyncs from the database, so what the dead node committed takes effect everywhere
   * within `liveMs` + one poll. (A node that closes cleanly has flushed first; the resync after
   * it is merely unneeded.)
   */
  private noticeDeparted(live: ReadonlySet<string>): void {
    // After a gap in our own reads (the database was away for us too), every heartbeat may have
    // lapsed; the resync after our own gap covers that case, so do not count departures then.
    const now = Date.now()
    const recent = now - this.lastLiveRead < this.liveMs / 2
    this.lastLiveRead = now
    let departed = false
    for (const n of this.liveNodes) if (!live.has(n) && n !== this.nodeId) departed = true
    this.liveNodes = live
    if (!departed || !recent) return
    this.log.warn({}, 'change feed: a node left the cluster; resyncing in case it died mid-write')
    this.refresh = true
    this.kickPoll()
  }

  private onTick(): void {
    this.kickPoll()
    this.kickReport()
    // Also drops the marks every live node has applied, so they do not pile up between prunes.
    void this.readClusterApplied().catch((err: unknown) =>
      this.log.debug({ err }, 'change feed: reading the nodes table failed'),
    )
    if (Date.now() - this.lastPrune < Math.min(this.pruneAfterMs, 60_000)) return
    this.lastPrune = Date.now()
    void this.prune().catch((err: unknown) =>
      this.log.warn({ err }, 'change feed: pruning the outbox failed'),
    )
  }

  private async prune(): Promise<void> {
    await this.readClusterApplied()
    await this.db.query(
      `DELETE FROM latchkey_changes
       WHERE created_at < now() - $1 * interval '1 millisecond' AND id <= $2`,
      [this.pruneAfterMs, this.clusterApplied],
    )
    await this.db.query(
      `DELETE FROM latchkey_feed_nodes WHERE heartbeat < now() - interval '1 day'`,
    )
  }

  private async connectListener(): Promise<void> {
    const c = new pg.Client({
      connectionString: this.opts.url,
      application_name: `latchkey-feed-${this.nodeId}`.slice(0, 63),
    })
    c.on('error', (err) => this.lostListener(c, err))
    c.on('end', () => this.lostListener(c, undefined))
    c.on('notification', () => this.kickPoll())
    try {
      await c.connect()
      await c.query(`LISTEN ${CHANNEL}`)
    } catch (e) {
      await c.end().catch(() => {})
      throw e
    }
    if (this.closed) {
      await c.end().catch(() => {})
      return
    }
    this.listener = c
  }

  private lostListener(c: pg.Client, err: unknown): void {
    if (this.listener !== c) return
    this.listener = undefined
    void c.end().catch(() => {})
    this.log.warn({ err }, 'change feed: LISTEN connection lost, reconnecting')
    this.scheduleReconnect()
  }

  private scheduleReconnect(): void {
    if (this.closed) return
    this.reconnectTimer = setTimeout(() => void this.reconnect(), this.reconnectMs)
    this.reconnectTimer.unref()
  }

  private async reconnect(): Promise<void> {
    try {
      await this.connectListener()
    } catch (err) {
      this.log.debug({ err }, 'change feed: reconnect failed')
      this.scheduleReconnect()
      return
    }
    if (this.closed) return
    // Notifications were lost while disconnected, but the outbox keeps every row: if the polls
    // went on meanwhile (they set `gap` when they fail) and this node stayed live, nothing was
    // missed and a precautionary reload suffices; otherwise rows may have been pruned past it.
    if (Date.now() - this.lastBeat < this.liveMs / 2) this.refresh = true
    else this.gap = true
    this.kickPoll()
  }
}

/** `p`, or TIMEOUT when `deadline` (epoch ms) passes first. */
async function within<T>(p: Promise<T>, deadline: number): Promise<T | typeof TIMEOUT> {
  let timer: NodeJS.Timeout | undefined
  const t = new Promise<typeof TIMEOUT>((resolve) => {
    timer = setTimeout(() => resolve(TIMEOUT), Math.max(0, deadline - Date.now()))
    timer.unref()
  })
  try {
    return await Promise.race([p, t])
  } finally {
    clearTimeout(timer)
  }
}
