/**
 * Where a backend reports how long its durable steps take, for the operator's metrics: the
 * composition root passes one down (backends may not import the app, and the metrics library is
 * the app's choice). Calls are cheap and synchronous; a backend given none reports nothing.
 * @module
 */
export interface StorageTimings {
  /** One commit: a SQLite group-commit batch (BEGIN…COMMIT), a PostgreSQL transaction. */
  commit(seconds: number): void
  /** One fsync (SQLite under async durability: the WAL, or the database file at a checkpoint). */
  fsync(seconds: number): void
}

/** Seconds since `start` (a `performance.now()` reading). */
export function secondsSince(start: number): number {
  return (performance.now() - start) / 1000
}
