/**
 * Long session texts stored once (SQLite only; the IdentityStore port does not see it). Every
 * session row carries a session policy (about 1 KB with the bench's upload policy) and a parent
 * JSON, and one parent usually mints thousands of sessions with the same two texts. Stored inline,
 * they made a row about 1.5 KB, three rows to a page, and most of an insert's WAL bytes; stored
 * once in `iam_session_texts` and referred to by `'#' + hash` (24 characters), the row shrinks to
 * a few hundred bytes. Texts shorter than MIN_CHARS stay inline: a reference would save little
 * and cost a lookup on every read. So does a text the store has not seen before: a caller that
 * sends a different policy with every call would otherwise pay a second, randomly placed (by hash)
 * 1 KB row per session for nothing (measured: 97-100 µs of CPU and 19 KB of WAL per insert, against
 * 30-33 µs and 5 KB inline); only a text seen again goes to the table. Rows written before keep
 * their texts inline and read as ever.
 *
 * Writing: `refOf` runs inside the insert's op (group-commit.ts), in the same transaction as the
 * row. A text's `expires_at` is an upper bound of the expiry of every row that refers to it; the
 * store remembers, per text, the bound it wrote, so an insert whose row expires before it runs no
 * SQL for the text at all (a Map lookup). The bound is written with SLACK_MS to spare, so a steady
 * stream of hour-long sessions with one policy writes its text once an hour, not once a session.
 * What is remembered is only ever a bound that was written in an op before; a batch that fails
 * makes the store forget everything (`forget`), so a rolled-back bound is never trusted.
 *
 * Sweeping: once no session that expired before `before` is left, every text whose bound is below
 * `before` has no row left that refers to it (a revoked row may go earlier; its text just stays
 * until its bound). `sweep` deletes at most `limit` of them per call, by the small expiry index of
 * this table: nothing is indexed or counted per session insert.
 * @module
 */
import { createHash } from 'node:crypto'
import { prepare, type Database } from './db.js'

/**
 * Texts shorter than this stay in the row. 128, not 256: the parent JSON of a session minted with
 * an account's master key is ~190 characters, the same for every session it mints; by reference
 * it saves ~160 bytes of every such row (measured on AssumeRole: 300-700 B less written per call,
 * -1.8 µs of server CPU in paired rounds).
 */
export const MIN_CHARS = 128
/** How far past a row's expiry a text's bound is written (see the module comment). */
export const SLACK_MS = 3_600_000
/**
 * Texts remembered at most (the map is dropped and rebuilt past it: a cache, not a record). Small:
 * a caller with a new policy per call fills it with texts seen once, and holding thousands of them
 * cost that workload ~6 µs per insert (in GC) where 256 cost ~3; a popular text is seen again
 * soon after a drop and costs one inline copy per drop.
 */
const MAX_REMEMBERED = 256

/**
 * The SQL expression reading column `col` of iam_sessions (as `alias`) back into its text: the
 * column itself, or the text it refers to. A reference whose text is missing reads as the
 * reference, which no JSON parser accepts: the row is refused like any unreadable row.
 */
export function resolvedColumn(col: 'policies' | 'parent', alias: string): string {
  const c = `${alias}.${col}`
  return `CASE WHEN substr(${c}, 1, 1) = '#' THEN COALESCE((SELECT text FROM iam_session_texts WHERE ref = ${c}), ${c}) ELSE ${c} END`
}

/** The reference of `text` ('#' + 23 characters of its SHA-256). */
export function refFor(text: string): string {
  return '#' + createHash('sha256').update(text).digest('base64url').slice(0, 23)
}

export class SessionTexts {
  private readonly db: Database
  /**
   * text → its reference (once seen twice) and the bound this store wrote for it (-∞: none yet).
   */
  private known = new Map<string, { ref: string | undefined; until: number }>()

  constructor(db: Database) {
    this.db = db
  }

  /**
   * What to store in the row for `text` (itself, or its reference, writing the text when needed).
   * Synchronous SQL: call it inside the insert's op, before the row's INSERT.
   */
  refOf(text: string, expiresAt: number): string {
    if (text.length < MIN_CHARS || text.startsWith('#')) return text
    const k = this.known.get(text)
    if (k === undefined) {
      // First sight: inline (see the module comment).
      if (this.known.size >= MAX_REMEMBERED) this.known = new Map()
      this.known.set(text, { ref: undefined, until: Number.NEGATIVE_INFINITY })
      return text
    }
    const ref = (k.ref ??= refFor(text))
    if (expiresAt > k.until) {
      const until = expiresAt + SLACK_MS
      prepare(
        this.db,
        `INSERT INTO iam_session_texts (ref, text, expires_at) VALUES (?, ?, ?)
         ON CONFLICT (ref) DO UPDATE SET expires_at = max(expires_at, excluded.expires_at)`,
      ).run(ref, text, until)
      k.until = until
    }
    return ref
  }

  /** A write failed: what was remembered may have been rolled back. */
  forget(): void {
    this.known = new Map()
  }

  /**
   * Delete at most `limit` texts whose bound is below `before`; the number deleted. Only when no
   * session that expired before `before` is left (the caller's sweep has just found none).
   */
  sweep(before: number, limit: number): number {
    const gone = prepare(
      this.db,
      `DELETE FROM iam_session_texts WHERE ref IN (
         SELECT ref FROM iam_session_texts WHERE expires_at < ? LIMIT ?) RETURNING ref`,
    ).all(before, limit) as { ref: string }[]
    if (gone.length > 0) {
      // Their bounds are below `before`, so no insert would have trusted them; drop them anyway.
      const refs = new Set(gone.map((g) => g.ref))
      for (const [text, k] of this.known)
        if (k.ref !== undefined && refs.has(k.ref)) this.known.delete(text)
    }
    return gone.length
  }
}
