/**
 * The SQLite identity tables, as append-only migration steps (db.ts runMigrations): never edit a
 * released step, append a new one. Kept apart from identity-store.ts so the store stays readable.
 * @module
 */

/** Append-only migration steps for the identity tables. */
export const IDENTITY_MIGRATIONS: readonly string[] = [
  `CREATE TABLE iam_accounts (
     id TEXT PRIMARY KEY,
     name TEXT NOT NULL UNIQUE,
     type TEXT NOT NULL CHECK (type IN ('customer', 'reseller')),
     reseller_id TEXT REFERENCES iam_accounts(id),
     created_at INTEGER NOT NULL,
     allowlist TEXT NOT NULL DEFAULT '[]',
     master_access_key_id TEXT NOT NULL UNIQUE,
     master_secret TEXT NOT NULL,
     secret_version INTEGER NOT NULL
   );
   CREATE TABLE iam_users (
     id TEXT PRIMARY KEY,
     account_id TEXT NOT NULL REFERENCES iam_accounts(id),
     username TEXT NOT NULL,
     username_key TEXT NOT NULL,
     password_hash TEXT NOT NULL,
     role TEXT NOT NULL CHECK (role IN ('Reader', 'Writer', 'SuperUser')),
     is_active INTEGER NOT NULL,
     email TEXT,
     firstname TEXT,
     lastname TEXT,
     policy TEXT,
     totp_secret TEXT,
     created_at INTEGER NOT NULL,
     last_access INTEGER,
     UNIQUE (account_id, username_key)
   );
   CREATE TABLE iam_access_keys (
     access_key_id TEXT PRIMARY KEY,
     user_id TEXT NOT NULL UNIQUE REFERENCES iam_users(id) ON DELETE CASCADE,
     secret TEXT NOT NULL,
     created_at INTEGER NOT NULL
   );
   CREATE TABLE iam_sessions (
     access_key_id TEXT PRIMARY KEY,
     account_id TEXT NOT NULL,
     quota_key TEXT NOT NULL,
     user_id TEXT,
     origin_key_id TEXT,
     parent TEXT NOT NULL,
     secret TEXT NOT NULL,
     token_hmac TEXT,
     session_name TEXT NOT NULL,
     policies TEXT NOT NULL,
     role_name TEXT NOT NULL,
     role_id TEXT NOT NULL,
     issued_at INTEGER NOT NULL,
     expires_at INTEGER NOT NULL,
     revoked INTEGER NOT NULL DEFAULT 0
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
   );`,
  // Row versions for compare-and-set updates (rows written before start at 0).
  `ALTER TABLE iam_accounts ADD COLUMN version INTEGER NOT NULL DEFAULT 0;
   ALTER TABLE iam_users ADD COLUMN version INTEGER NOT NULL DEFAULT 0;`,
  // When each access key was last used (the console's users page); null = never.
  `ALTER TABLE iam_access_keys ADD COLUMN last_used_at INTEGER;`,
]

/**
 * Steps of the pending first-start secrets table, a list of its own (not IDENTITY_MIGRATIONS) so
 * its step numbers never collide with identity steps added elsewhere.
 */
export const PENDING_SECRETS_MIGRATIONS: readonly string[] = [
  `CREATE TABLE iam_pending_secrets (
     name TEXT PRIMARY KEY,
     secret TEXT NOT NULL
   );`,
]
