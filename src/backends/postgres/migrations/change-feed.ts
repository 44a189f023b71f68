/**
 * Schema of the PostgreSQL change feed (append-only steps, run by `runMigrations`).
 *
 * `latchkey_changes` is the outbox: one row per `publish` call (a JSON array of changes, or NULL
 * for "this node lost changes, resync"), its identity id the cluster-wide order. Rows are
 * appended under an advisory lock, so ids become visible in id order and a reader that keeps
 * "last id seen" never skips a row committed late. `latchkey_feed_nodes` is where each node says
 * how far it has applied the outbox and that it is alive (heartbeat, by the database's clock).
 * @module
 */
export const CHANGE_FEED_MIGRATIONS_NAME = 'change-feed'

export const CHANGE_FEED_MIGRATIONS: readonly string[] = [
  `CREATE TABLE latchkey_changes (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    node TEXT NOT NULL,
    changes JSONB,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now()
  )`,
  `CREATE TABLE latchkey_feed_nodes (
    node TEXT PRIMARY KEY,
    applied_id BIGINT NOT NULL,
    heartbeat TIMESTAMPTZ NOT NULL DEFAULT now()
  )`,
]
