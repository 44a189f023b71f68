/**
 * The PostgreSQL shared-limit tables (migration list 'shared-limits'), append-only like every
 * migration list. Unlike SQLite, session slots are a table here: several nodes issue sessions,
 * so no process can hold the quota index in memory; each reservation counts the quota key's
 * unexpired rows under an advisory lock (postgres/shared-limits.ts says why that is exact).
 * Login attempts carry a BIGSERIAL id so trimming can keep the newest failures per key.
 *
 * iam_reserve_slot is the slot reservation as one server-side function: lock, purge, count and
 * insert in ONE round trip of an autocommit statement (the lock is released at its commit),
 * instead of six (BEGIN, four statements, COMMIT) on the AssumeRole path.
 *
 * Step 2 replaces the slots with iam_issue_buckets: one row per parent holding its token bucket
 * and its count of sessions held, decided by one `INSERT … ON CONFLICT DO UPDATE … WHERE …
 * RETURNING` per issue (the row lock serializes a parent's issues on every node). The slot count
 * it replaces grew with the parent's sessions: every AssumeRole counted them all. `tokens` NULL
 * means a full bucket (a row adopted from existing sessions, before any rule was known).
 * @module
 */

/** Advisory-lock namespace of the session slots (the first int of the two-int form). */
export const SLOT_LOCK = 720_451_801
/** Advisory-lock namespace of the login throttle keys. */
export const LOGIN_LOCK = 720_451_802

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
   );
   CREATE FUNCTION iam_reserve_slot(p_slot TEXT, p_quota TEXT, p_expires BIGINT, p_user TEXT,
       p_origin TEXT, p_limit INTEGER, p_now BIGINT) RETURNS BOOLEAN
   LANGUAGE plpgsql VOLATILE AS $$
   DECLARE
     n INTEGER;
   BEGIN
     -- The quota key's lock first; each statement below takes a fresh snapshot (VOLATILE under
     -- READ COMMITTED), so the count sees every slot the previous holder committed.
     PERFORM pg_advisory_xact_lock(${String(SLOT_LOCK)}, hashtext(p_quota));
     DELETE FROM iam_session_slots WHERE quota_key = p_quota AND expires_at <= p_now;
     SELECT count(*) INTO n FROM iam_session_slots WHERE quota_key = p_quota;
     IF n >= p_limit THEN
       RETURN false;
     END IF;
     IF p_expires <= p_now THEN
       RETURN true; -- already over: never counted (a 0-length session)
     END IF;
     INSERT INTO iam_session_slots (slot_id, quota_key, expires_at, user_id, origin_key_id)
     VALUES (p_slot, p_quota, p_expires, p_user, p_origin)
     ON CONFLICT (slot_id) DO UPDATE SET quota_key = excluded.quota_key,
       expires_at = excluded.expires_at, user_id = excluded.user_id,
       origin_key_id = excluded.origin_key_id;
     RETURN true;
   END
   $$;`,
  `CREATE TABLE iam_issue_buckets (
     quota_key TEXT COLLATE "C" PRIMARY KEY,
     tokens DOUBLE PRECISION,
     refilled_at BIGINT NOT NULL,
     active BIGINT NOT NULL
   );
   DROP FUNCTION iam_reserve_slot(TEXT, TEXT, BIGINT, TEXT, TEXT, INTEGER, BIGINT);
   DROP TABLE iam_session_slots;`,
]
