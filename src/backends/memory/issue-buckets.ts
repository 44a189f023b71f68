/**
 * Per-parent issuance token buckets and held-session counters in process memory: the
 * single-node fast path of SharedLimits.takeIssue (memory and SQLite bundles). Every answer is
 * synchronous, so two AssumeRole calls of one parent are decided one after the other with no
 * await between the check and the take.
 *
 * Why this stays small with a million sessions: it holds one entry per quota key (a parent: an
 * account's master key or a user), never one per session; the count of sessions held is a number
 * moved by issue (+1) and the sweep (−n), not a set of slots. Idle entries (bucket full again,
 * nothing held) are dropped by sweep.
 * @module
 */
import type { IssueRule, IssueVerdict } from '../../storage/shared-limits.js'

interface Bucket {
  /** Tokens at `at` (fractional: refills are continuous). */
  tokens: number
  at: number
  /** Sessions issued and not yet swept. */
  active: number
}

/** Tokens of `b` at `now` under `rule` (time going backwards refills nothing). */
function refilled(b: Bucket, rule: IssueRule, now: number): number {
  return Math.min(rule.burst, b.tokens + (Math.max(0, now - b.at) * rule.rate) / 1000)
}

export class IssueBuckets {
  private readonly buckets = new Map<string, Bucket>()
  /** The rule each key was last decided under (sweep needs its burst to see a full bucket). */
  private readonly rules = new Map<string, IssueRule>()

  take(quotaKey: string, rule: IssueRule, now: number): IssueVerdict {
    let b = this.buckets.get(quotaKey)
    if (b === undefined) {
      b = { tokens: rule.burst, at: now, active: 0 }
      this.buckets.set(quotaKey, b)
    }
    this.rules.set(quotaKey, rule)
    const tokens = refilled(b, rule, now)
    if (b.active >= rule.maxActive) return { limit: 'active', active: b.active }
    if (tokens < 1) {
      return { limit: 'rate', retryAfterMs: Math.ceil(((1 - tokens) * 1000) / rule.rate) }
    }
    b.tokens = tokens - 1
    b.at = Math.max(b.at, now)
    b.active++
    return true
  }

  untake(quotaKey: string): void {
    const b = this.buckets.get(quotaKey)
    if (b !== undefined && b.active > 0) b.active--
  }

  ended(ended: ReadonlyMap<string, number>): void {
    for (const [k, n] of ended) {
      const b = this.buckets.get(k)
      if (b !== undefined) b.active = Math.max(0, b.active - n)
    }
  }

  /** Count sessions already held (rebuilding the counts from the store at open). */
  seed(quotaKey: string, active: number, now: number): void {
    const b = this.buckets.get(quotaKey)
    if (b !== undefined) b.active += active
    else this.buckets.set(quotaKey, { tokens: Number.POSITIVE_INFINITY, at: now, active })
  }

  /** Sessions counted as held by `quotaKey` (tests and diagnostics). */
  active(quotaKey: string): number {
    return this.buckets.get(quotaKey)?.active ?? 0
  }

  /** Sessions counted as held by every key together. */
  total(): number {
    let n = 0
    for (const b of this.buckets.values()) n += b.active
    return n
  }

  /** Drop entries that hold nothing and whose bucket is full again (memory follows the parents in use). */
  sweep(now: number): void {
    for (const [k, b] of this.buckets) {
      if (b.active > 0) continue
      const rule = this.rules.get(k)
      if (rule === undefined || refilled(b, rule, now) >= rule.burst) {
        this.buckets.delete(k)
        this.rules.delete(k)
      }
    }
  }
}
