/**
 * A background pass that one node of a cluster runs at a time: the blob collector, the lifecycle
 * worker. After `firstDelayMs`, then every `everyMs`, it asks the ledger for the lead of `role`
 * (BlobLedger.lead: an advisory lock on PostgreSQL, always granted in one process) and runs one
 * pass; a pass still running makes the next tick skip, failures are logged and retried on the
 * next tick. Returns a stop function that waits for a running pass (`stopped()` tells a long pass
 * to end early).
 * @module
 */
import type { Logger } from '../lib/logger.js'
import type { BlobLedger, LeaderRole } from './blob-ledger.js'

export function startElectedPass(o: {
  readonly ledger: Pick<BlobLedger, 'lead'>
  /** The lead's name (one lock per kind of pass). */
  readonly role?: LeaderRole
  readonly run: (stopped: () => boolean) => Promise<unknown>
  readonly log: Logger
  /** What the warning says failed, e.g. 'blob garbage collection'. */
  readonly what: string
  readonly firstDelayMs: number
  readonly everyMs: number
}): () => Promise<void> {
  let running: Promise<void> | undefined
  let stopped = false
  const pass = (): void => {
    if (stopped || running !== undefined) return
    running = o.ledger
      .lead(() => o.run(() => stopped), o.role)
      .then(
        () => undefined,
        (err: unknown) =>
          o.log.warn({ err: err instanceof Error ? err.message : String(err) }, `${o.what} failed`),
      )
      .finally(() => (running = undefined))
  }
  const first = setTimeout(pass, o.firstDelayMs)
  const timer = setInterval(pass, o.everyMs)
  first.unref()
  timer.unref()
  return async () => {
    stopped = true
    clearTimeout(first)
    clearInterval(timer)
    await running
  }
}
