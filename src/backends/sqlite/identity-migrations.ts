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
  // STS at scale: per-account issuance limits; listing pages read in index order (issued_at,
  // access_key_id) instead of sorting every session; the sweep finds revoked rows by index.
  `CREATE TABLE iam_sts_limits (
     account_id TEXT PRIMARY KEY,
     issue_rate REAL,
     issue_burst INTEGER,
     max_active_sessions INTEGER
   );
   CREATE INDEX iam_sessions_issued ON iam_sessions (issued_at, access_key_id);
   CREATE INDEX iam_sessions_account_issued ON iam_sessions (account_id, issued_at, access_key_id);
   CREATE INDEX iam_sessions_revoked ON iam_sessions (access_key_id) WHERE revoked = 1;`,
  // Fewer index entries per AssumeRole: a session made by an account's master key has no user and
  // one made at sign-in no origin key, so those two indexes hold only rows that have the column
  // (\`user_id = ?\` still uses them); the account's (account_id, expires_at) index goes, its counts
  // now walk the listing index, which carries expires_at for that (an index-only count).
  `DROP INDEX iam_sessions_user;
   CREATE INDEX iam_sessions_user ON iam_sessions (user_id) WHERE user_id IS NOT NULL;
   DROP INDEX iam_sessions_origin;
   CREATE INDEX iam_sessions_origin ON iam_sessions (origin_key_id) WHERE origin_key_id IS NOT NULL;
   DROP INDEX iam_sessions_account;
   DROP INDEX iam_sessions_account_issued;
   CREATE INDEX iam_sessions_account_issued
     ON iam_sessions (account_id, issued_at, access_key_id, expires_at);`,
  // Long session texts (a session policy, the parent JSON) stored once each, by content: a row's
  // `policies` or `parent` holds either the text itself (short texts, rows written before) or
  // '#' + its hash, the `ref` here. `expires_at` bounds the expiry of every row that refers to
  // the text, so the sweep may delete it once it is past and no expired row is left
  // (identity-store.ts, SessionTexts).
  `CREATE TABLE iam_session_texts (
     ref TEXT PRIMARY KEY,
     text TEXT NOT NULL,
     expires_at INTEGER NOT NULL
   ) WITHOUT ROWID;
   CREATE INDEX iam_session_texts_expires ON iam_session_texts (expires_at);`,
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
