/**
 * The PostgreSQL audit table (migration list 'audit'), append-only like every migration list:
 * one row per event, a BIGSERIAL id for append order, indexes by time, principal and session.
 * @module
 */

/** Append-only migration steps for the audit table. */
export const PG_AUDIT_MIGRATIONS: readonly string[] = [
  `CREATE TABLE audit_events (
     id BIGSERIAL PRIMARY KEY,
     at BIGINT NOT NULL,
     kind TEXT NOT NULL,
     action TEXT COLLATE "C" NOT NULL,
     account_id TEXT COLLATE "C",
     principal TEXT COLLATE "C",
     session TEXT COLLATE "C",
     resource TEXT,
     decision TEXT,
     reason TEXT,
     source TEXT,
     detail TEXT
   );
   CREATE INDEX audit_events_at ON audit_events (at);
   CREATE INDEX audit_events_principal ON audit_events (principal, at);
   CREATE INDEX audit_events_session ON audit_events (session, at);`,
]
