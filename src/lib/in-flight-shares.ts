/**
 * Fair admission: how many requests one caller, and one account, may have in flight at once.
 * A global in-flight cap alone lets one tenant take the whole budget (1,030 stalled uploads from
 * one key once made every other tenant get 503 SlowDown). Each caller (an access key, or an
 * address for anonymous requests) gets at most `perCaller` slots, and all callers of one account
 * together at most `perAccount`, so one key — or one account minting many session keys — leaves
 * room for everyone else. Entries exist only while a slot is held: memory is bounded by the
 * requests in flight.
 * @module
 */

export interface ShareLimits {
  readonly perCaller: number
  readonly perAccount: number
}

export type Refusal = 'caller' | 'account'

export class InFlightShares {
  private readonly limits: ShareLimits
  private readonly callers = new Map<string, number>()
  private readonly accounts = new Map<string, number>()

  constructor(limits: ShareLimits) {
    this.limits = limits
  }

  /**
   * Take a slot for `caller` (and its `account`, when known). Returns the release function, or
   * which share is exhausted.
   */
  enter(caller: string, account: string | undefined): (() => void) | Refusal {
    const c = this.callers.get(caller) ?? 0
    if (c >= this.limits.perCaller) return 'caller'
    const a = account === undefined ? 0 : (this.accounts.get(account) ?? 0)
    if (account !== undefined && a >= this.limits.perAccount) return 'account'
    this.callers.set(caller, c + 1)
    if (account !== undefined) this.accounts.set(account, a + 1)
    let released = false
    return () => {
      if (released) return
      released = true
      decrement(this.callers, caller)
      if (account !== undefined) decrement(this.accounts, account)
    }
  }

  /** Slots held (for tests and metrics). */
  held(caller: string): number {
    return this.callers.get(caller) ?? 0
  }
}

function decrement(m: Map<string, number>, key: string): void {
  const n = (m.get(key) ?? 1) - 1
  if (n <= 0) m.delete(key)
  else m.set(key, n)
}
