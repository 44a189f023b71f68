/**
 * Session access key ids that sort by issue time: `ASIA`, nine characters of the issue time in
 * milliseconds (base 32, digits before letters, so the text sorts like the number, good until the
 * year 3084), then seven random characters of [A-Z0-9] (36 bits). Still 20 characters of
 * [A-Z0-9], like AWS's.
 *
 * Why not all random: the id is the primary key of the sessions table, and a random key puts each
 * new session in a random leaf page of that index, so at 100k+ sessions a batch of N inserts
 * dirties (and writes to the WAL) about N index pages. Ids that grow with time append to the last
 * page instead: in a store micro-benchmark, 8.5 → 5.1 KB of WAL and about 10 µs less CPU per
 * session. The ids are not secrets; the random tail keeps two ids of one millisecond apart.
 * Two ids can only be equal if they share their millisecond, so the minter (`SessionIds`) checks
 * a new id against the ids it minted in that millisecond (a handful, in a small Set), not
 * against every cached session (a Map of up to 100,000 entries by default, whose probe missed the
 * CPU cache: ~1 us per AssumeRole). An id minted elsewhere in the same millisecond, or before a
 * clock step back, is a 1 in 2^36 chance per pair, and the sessions table's primary key refuses
 * it.
 * @module
 */
import type { IdSource } from '../lib/clock.js'

/** Base 32 in ASCII order (Crockford's alphabet): a fixed-width prefix sorts like its number. */
const ORDERED = '0123456789ABCDEFGHJKMNPQRSTVWXYZ'
const TIME_CHARS = 9
const TIME_MAX = 32 ** TIME_CHARS - 1

/** The nine-character time prefix of `ms` (clamped to what nine characters hold). */
export function timePrefix(ms: number): string {
  let n = Math.min(TIME_MAX, Math.max(0, Math.floor(ms)))
  let s = ''
  for (let i = 0; i < TIME_CHARS; i++) {
    s = ORDERED[n % 32]! + s
    n = Math.floor(n / 32)
  }
  return s
}

const RANDOM_CHARS = 20 - 4 - TIME_CHARS

/**
 * Mints session access key ids (`now` in epoch milliseconds), each distinct from every id it
 * minted before in the same millisecond and from every id `taken` names (long-term keys). The
 * `ASIA` + time prefix is made once per millisecond.
 */
export class SessionIds {
  private readonly ids: IdSource
  private ms = Number.NaN
  private prefix = ''
  private readonly minted = new Set<string>()

  constructor(ids: IdSource) {
    this.ids = ids
  }

  next(now: number, taken: (id: string) => boolean): string {
    if (now !== this.ms) {
      this.ms = now
      this.prefix = 'ASIA' + timePrefix(now)
      this.minted.clear()
    }
    for (;;) {
      const id = this.prefix + this.ids.upperAlnum(RANDOM_CHARS)
      if (!this.minted.has(id) && !taken(id)) {
        this.minted.add(id)
        return id
      }
    }
  }
}
