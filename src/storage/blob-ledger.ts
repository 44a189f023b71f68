/**
 * BlobLedger: what garbage collection of blobs needs to know, kept beside the metadata so it
 * works across restarts and across nodes, with no exclusive start-up sweep over every blob and no
 * process-local read leases.
 *
 * Two kinds of entries:
 * - **intents**: a blob that may end up referenced by nothing if the process dies at the wrong
 *   moment: a blob about to be written (recorded before `BlobStore.put`), or a blob a metadata
 *   commit dropped (a replaced or deleted object or part). A durable ledger must record the latter
 *   in the commit's own transaction (SQLite: triggers on the metadata tables; PostgreSQL would do
 *   the same), or a crash between the commit and `retire` leaks the blob. `settle` removes
 *   intents once the commit has happened. An intent still there after the orphan grace period is
 *   checked by the garbage collector: it deletes the blob only if no metadata record references
 *   it (`MetadataStore.isBlobReferenced`). The memory ledger is not durable and needs neither.
 * - **retirements**: blobs a committed write replaced or deleted. They are deleted once the
 *   retire grace period has passed. On POSIX a file read stream that is already open keeps
 *   reading after an unlink, so the grace period is for readers that open a blob later: a GET
 *   that found the old record just before the commit, above all a multipart GET, which opens its
 *   parts one by one as it reaches them; and for stores that cannot read a deleted blob at all
 *   (an upstream S3, non-POSIX file systems). `retire` wins over an intent for the same ref.
 *   The caller may name a shorter grace: a whole-object blob is opened right after its record is
 *   read, so a minute covers its readers (and a store whose reads take hold of their bytes at once
 *   needs none: storage/commit.ts deletes those right after the commit), while a replaced
 *   multipart object keeps its parts for the full hour.
 *
 * The memory ledger serves unit tests and one-node setups without a database; the SQLite one
 * shares the metadata database and its group commit. A PostgreSQL ledger has to pass
 * test/conformance/blob-ledger.case.ts, and record dropped blobs inside the metadata commit
 * (src/backends/fs/storage-integration.test.ts shows what that means for SQLite).
 * @module
 */

export interface BlobLedgerDue {
  /** Intents older than the orphan grace period: delete each only if nothing references it. */
  readonly orphans: readonly string[]
  /** Retirements older than the retire grace period: delete them. */
  readonly retired: readonly string[]
}

export interface BlobLedgerOptions {
  /**
   * How long an intent stays untouched before the collector checks it (ms). Longer than the
   * slowest upload: an intent checked while its upload still runs finds the blob unreferenced.
   */
  readonly orphanGraceMs?: number
  /** How long a replaced or deleted blob stays readable (ms): longer than the longest read. */
  readonly retireGraceMs?: number
}

/** One day: no upload takes longer, and a crash leaves its orphans on disk for at most that. */
export const DEFAULT_ORPHAN_GRACE_MS = 24 * 60 * 60 * 1000
/** One hour: longer than any read of one object, even a multipart GET over a slow link. */
export const DEFAULT_RETIRE_GRACE_MS = 60 * 60 * 1000
/**
 * One minute: a whole-object blob (not parts) is opened as soon as the GET or copy that found its
 * record goes on; this covers that gap with a wide margin, even on a loaded machine.
 */
export const WHOLE_BLOB_RETIRE_GRACE_MS = 60 * 1000

/** The background jobs that run on one elected node at a time. */
export type LeaderRole = 'collector' | 'lifecycle' | 'audit-retention'

export interface BlobLedger {
  /** Durably record intents for `refs` (none already retired is changed back); resolves once durable. */
  intend(refs: readonly string[], now: number): Promise<void>
  /** The commit happened: drop the intents for `refs` (retirements stay). */
  settle(refs: readonly string[]): Promise<void>
  /**
   * `refs` were replaced or deleted at `now`: delete them after `graceMs` (default: the ledger's
   * retire grace period). A later retirement of the same ref replaces an earlier one.
   */
  retire(refs: readonly string[], now: number, graceMs?: number): Promise<void>
  /** At most `limit` entries of each kind that are due at `now`, oldest first. */
  due(now: number, limit: number): Promise<BlobLedgerDue>
  /** The collector dealt with `refs` (deleted, or found referenced): drop every entry. */
  forget(refs: readonly string[]): Promise<void>
  /**
   * Run `fn` (one collector pass) as the only collector of everything sharing this ledger, or
   * not at all (undefined) when another node's pass is running. Why one elected collector: two
   * nodes reading the same due entries would race each other's deletes and `forget`s, and an
   * operator reading the logs wants one node's account of what was collected. A node that dies
   * mid-pass must not keep the lead (PostgreSQL: a session advisory lock on the connection the
   * pass holds). One process alone (memory, SQLite) always leads.
   * `role` names the job: each role has its own election (the lifecycle worker's pass does not
   * wait for, or keep out, the collector's), and within a role one node at a time.
   */
  lead<T>(fn: () => Promise<T>, role?: LeaderRole): Promise<T | undefined>
}
