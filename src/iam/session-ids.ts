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
 * session. The ids are not secrets; the random tail keeps two ids of one millisecond apart, and
 * the issuer still retries on the rare collision it can see (sessions.ts) with the primary key as
 * the last guard.
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

/** A new session access key id issued at `now` (epoch milliseconds). */
export function sessionKeyId(now: number, ids: IdSource): string {
  return 'ASIA' + timePrefix(now) + ids.upperAlnum(20 - 4 - TIME_CHARS)
}
