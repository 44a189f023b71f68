/**
 * Per-parent active-session counts kept in memory, so the bound check on every AssumeRole is
 * O(log n) amortised instead of a database scan of the parent's sessions.
 *
 * Why it is exact: every active (unrevoked, unexpired) session holds one slot, charged to its
 * quota key. A slot is taken synchronously *before* the session's row is written (so concurrent
 * issues cannot both see room for one), and given back when the session is revoked, killed, its
 * insert fails, or a bulk revocation (key replaced, user deactivated/deleted, master secret reset)
 * matches it. Expiry needs no event: each quota key keeps its slots in a min-heap by expiry and
 * drops the expired ones before counting. The service loads the slots of the store's active
 * sessions at open, so a restart keeps counting from the truth.
 * @module
 */

export interface SlotInfo {
  readonly accessKeyId: string
  readonly quotaKey: string
  readonly expiresAt: number
  /** The user at the root of the chain (bulk revocation on deactivation/deletion). */
  readonly userId?: string
  /** The long-term key at the root of the chain (bulk revocation when it is replaced). */
  readonly originKeyId?: string
}

interface Slot {
  readonly info: SlotInfo
  readonly expiresAt: number
  live: boolean
}

/** A binary min-heap of slots ordered by expiry. */
class ExpiryHeap {
  private readonly items: Slot[] = []

  get size(): number {
    return this.items.length
  }

  peek(): Slot | undefined {
    return this.items[0]
  }

  push(s: Slot): void {
    const a = this.items
    a.push(s)
    let i = a.length - 1
    while (i > 0) {
      const p = (i - 1) >> 1
      const parent = a[p] as Slot
      if (parent.expiresAt <= s.expiresAt) break
      a[i] = parent
      i = p
    }
    a[i] = s
  }

  pop(): Slot | undefined {
    const a = this.items
    const top = a[0]
    const last = a.pop()
    if (top === undefined || last === undefined || a.length === 0) return top
    let i = 0
    for (;;) {
      const l = 2 * i + 1
      if (l >= a.length) break
      const r = l + 1
      const c = r < a.length && (a[r] as Slot).expiresAt < (a[l] as Slot).expiresAt ? r : l
      const child = a[c] as Slot
      if (child.expiresAt >= last.expiresAt) break
      a[i] = child
      i = c
    }
    a[i] = last
    return top
  }
}

interface Group {
  live: number
  readonly heap: ExpiryHeap
}

export class SessionQuota {
  private readonly slots = new Map<string, Slot>()
  private readonly groups = new Map<string, Group>()

  private group(quotaKey: string): Group {
    let g = this.groups.get(quotaKey)
    if (g === undefined) {
      g = { live: 0, heap: new ExpiryHeap() }
      this.groups.set(quotaKey, g)
    }
    return g
  }

  /** Drop the group's slots that expired at or before `now` (a session is active while expiresAt > now). */
  private prune(quotaKey: string, g: Group, now: number): void {
    for (let top = g.heap.peek(); top !== undefined && top.expiresAt <= now; top = g.heap.peek()) {
      g.heap.pop()
      if (top.live) {
        top.live = false
        g.live--
        if (this.slots.get(top.info.accessKeyId) === top) this.slots.delete(top.info.accessKeyId)
      }
    }
    if (g.heap.size === 0) this.groups.delete(quotaKey)
  }

  private take(info: SlotInfo, g: Group): void {
    this.release(info.accessKeyId)
    const slot: Slot = { info, expiresAt: info.expiresAt, live: true }
    this.slots.set(info.accessKeyId, slot)
    g.heap.push(slot)
    g.live++
  }

  /** Count an existing active session (loading at open). Ignored when already expired. */
  add(info: SlotInfo, now: number): void {
    if (info.expiresAt <= now) return
    this.take(info, this.group(info.quotaKey))
  }

  /**
   * Take a slot for a session about to be issued, unless its quota key already holds `limit`
   * active sessions. Synchronous, so a concurrent issue sees the slot at once.
   */
  tryReserve(info: SlotInfo, now: number, limit: number): boolean {
    const g = this.group(info.quotaKey)
    this.prune(info.quotaKey, g, now)
    if (g.live >= limit) return false
    if (info.expiresAt <= now) return true // already over: never counted (a 0-length session)
    this.take(info, this.group(info.quotaKey)) // prune may have dropped an emptied group
    return true
  }

  /** Active sessions charged to `quotaKey` at `now`. */
  active(quotaKey: string, now: number): number {
    const g = this.groups.get(quotaKey)
    if (g === undefined) return 0
    this.prune(quotaKey, g, now)
    return g.live
  }

  /** True while a slot is held for this access key id (issued or being issued). */
  has(accessKeyId: string): boolean {
    return this.slots.has(accessKeyId)
  }

  /** Give back one session's slot (revoked, killed, or its insert failed). */
  release(accessKeyId: string): void {
    const s = this.slots.get(accessKeyId)
    if (s === undefined) return
    this.slots.delete(accessKeyId)
    if (!s.live) return
    s.live = false
    const g = this.groups.get(s.info.quotaKey)
    if (g !== undefined) g.live--
  }

  /** Give back every slot matching `pred` (bulk revocations); the number released. */
  releaseWhere(pred: (s: SlotInfo) => boolean): number {
    const ids: string[] = []
    for (const s of this.slots.values()) if (pred(s.info)) ids.push(s.info.accessKeyId)
    for (const id of ids) this.release(id)
    return ids.length
  }

  /** Drop expired slots of every quota key (the periodic sweep), so memory follows the live set. */
  sweep(now: number): void {
    for (const [k, g] of [...this.groups]) {
      this.prune(k, g, now)
      // Released slots stay in the heap until they expire; rebuild when they dominate it.
      if (g.heap.size > 64 && g.heap.size > 4 * g.live) this.rebuild(k, g)
    }
  }

  private rebuild(quotaKey: string, g: Group): void {
    const fresh: Group = { live: 0, heap: new ExpiryHeap() }
    for (let s = g.heap.pop(); s !== undefined; s = g.heap.pop()) {
      if (!s.live) continue
      fresh.heap.push(s)
      fresh.live++
    }
    if (fresh.heap.size === 0) this.groups.delete(quotaKey)
    else this.groups.set(quotaKey, fresh)
  }
}
