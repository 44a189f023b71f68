/**
 * The PostgreSQL identity tables, as append-only migration steps (db.ts runMigrations, run once
 * under an advisory lock whichever node starts first): never edit a released step, append one.
 * Same tables and constraints as the SQLite ones (backends/sqlite/identity-migrations.ts), so
 * `latchkey migrate` copies rows column for column; the differences are PostgreSQL's types:
 * times in milliseconds are BIGINT, flags BOOLEAN, and identifiers are COLLATE "C" so that
 * ordering (loadAll, listActiveSessions) is byte order, as in SQLite, whatever the database's
 * locale. Row versions are in the first step: there is no PostgreSQL data from before them.
 * @module
 */

/** Append-only migration steps for the identity tables (migration list 'identity'). */
export const PG_IDENTITY_MIGRATIONS: readonly string[] = [
  `CREATE TABLE iam_accounts (
     id TEXT COLLATE "C" PRIMARY KEY,
     name TEXT NOT NULL UNIQUE,
     type TEXT NOT NULL CHECK (type IN ('customer', 'reseller')),
     reseller_id TEXT COLLATE "C" REFERENCES iam_accounts(id),
     created_at BIGINT NOT NULL,
     allowlist TEXT NOT NULL DEFAULT '[]',
     master_access_key_id TEXT NOT NULL UNIQUE,
     master_secret TEXT NOT NULL,
     secret_version INTEGER NOT NULL,
     version INTEGER NOT NULL DEFAULT 0
   );
   CREATE TABLE iam_users (
     id TEXT COLLATE "C" PRIMARY KEY,
     account_id TEXT COLLATE "C" NOT NULL REFERENCES iam_accounts(id),
     username TEXT NOT NULL,
     username_key TEXT NOT NULL,
     password_hash TEXT NOT NULL,
     role TEXT NOT NULL CHECK (role IN ('Reader', 'Writer', 'SuperUser')),
     is_active BOOLEAN NOT NULL,
     email TEXT,
     firstname TEXT,
     lastname TEXT,
     policy TEXT,
     totp_secret TEXT,
     created_at BIGINT NOT NULL,
     last_access BIGINT,
     version INTEGER NOT NULL DEFAULT 0,
     UNIQUE (account_id, username_key)
   );
   CREATE TABLE iam_access_keys (
     access_key_id TEXT COLLATE "C" PRIMARY KEY,
     user_id TEXT COLLATE "C" NOT NULL UNIQUE REFERENCES iam_users(id) ON DELETE CASCADE,
     secret TEXT NOT NULL,
     created_at BIGINT NOT NULL
   );
   CREATE TABLE iam_sessions (
     access_key_id TEXT COLLATE "C" PRIMARY KEY,
     account_id TEXT COLLATE "C" NOT NULL,
     quota_key TEXT COLLATE "C" NOT NULL,
     user_id TEXT COLLATE "C",
     origin_key_id TEXT COLLATE "C",
     parent TEXT NOT NULL,
     secret TEXT NOT NULL,
     token_hmac TEXT,
     session_name TEXT NOT NULL,
     policies TEXT NOT NULL,
     role_name TEXT NOT NULL,
     role_id TEXT NOT NULL,
     issued_at BIGINT NOT NULL,
     expires_at BIGINT NOT NULL,
     revoked BOOLEAN NOT NULL DEFAULT false
   );
   CREATE INDEX iam_sessions_quota ON iam_sessions (quota_key, expires_at);
   CREATE INDEX iam_sessions_account ON iam_sessions (account_id, expires_at);
   CREATE INDEX iam_sessions_user ON iam_sessions (user_id);
   CREATE INDEX iam_sessions_origin ON iam_sessions (origin_key_id);
   CREATE INDEX iam_sessions_expires ON iam_sessions (expires_at);
   CREATE TABLE iam_operator (
     id INTEGER PRIMARY KEY CHECK (id = 1),
     username TEXT NOT NULL,
     password_hash TEXT NOT NULL
   );
   CREATE TABLE iam_pending_secrets (
     name TEXT COLLATE "C" PRIMARY KEY,
     secret TEXT NOT NULL
   );`,
  // When each access key was last used (the console's users page); null = never.
  `ALTER TABLE iam_access_keys ADD COLUMN last_used_at BIGINT;`,
]
