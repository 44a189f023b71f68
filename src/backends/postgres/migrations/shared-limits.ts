/**
 * The PostgreSQL shared-limit tables (migration list 'shared-limits'), append-only like every
 * migration list. Unlike SQLite, session slots are a table here: several nodes issue sessions,
 * so no process can hold the quota index in memory; each reservation counts the quota key's
 * unexpired rows under an advisory lock (postgres/shared-limits.ts says why that is exact).
 * Login attempts carry a BIGSERIAL id so trimming can keep the newest failures per key.
 * @module
 */

/** Append-only migration steps for the shared-limit tables. */
export const PG_SHARED_LIMITS_MIGRATIONS: readonly string[] = [
  `CREATE TABLE iam_session_slots (
     slot_id TEXT COLLATE "C" PRIMARY KEY,
     quota_key TEXT COLLATE "C" NOT NULL,
     expires_at BIGINT NOT NULL,
     user_id TEXT COLLATE "C",
     origin_key_id TEXT COLLATE "C"
   );
   CREATE INDEX iam_session_slots_quota ON iam_session_slots (quota_key, expires_at);
   CREATE INDEX iam_session_slots_user ON iam_session_slots (user_id);
   CREATE INDEX iam_session_slots_origin ON iam_session_slots (origin_key_id);
   CREATE INDEX iam_session_slots_expires ON iam_session_slots (expires_at);
   CREATE TABLE iam_login_attempts (
     id BIGSERIAL PRIMARY KEY,
     key TEXT COLLATE "C" NOT NULL,
     at BIGINT NOT NULL,
     attempt TEXT COLLATE "C"
   );
   CREATE INDEX iam_login_attempts_key ON iam_login_attempts (key, at);
   CREATE INDEX iam_login_attempts_attempt ON iam_login_attempts (attempt);
   CREATE TABLE iam_totp_claims (
     key TEXT COLLATE "C" PRIMARY KEY,
     value BIGINT NOT NULL,
     until BIGINT NOT NULL
   );`,
]
