/**
 * The metadata store's schema as an append-only list of migration steps (`runMigrations(db,
 * 'metadata', …)`): never edit a released step, add one. The identity store's steps still live
 * beside it in identity-store.ts.
 * @module
 */

export const METADATA_MIGRATIONS: readonly string[] = [
  `CREATE TABLE buckets (
    name TEXT PRIMARY KEY COLLATE BINARY,
    account_id TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    region TEXT NOT NULL
  );
  CREATE INDEX buckets_by_account ON buckets (account_id, name);
  CREATE TABLE bucket_subresources (
    bucket TEXT NOT NULL REFERENCES buckets (name) ON DELETE CASCADE,
    kind TEXT NOT NULL,
    value TEXT NOT NULL,
    PRIMARY KEY (bucket, kind)
  );
  CREATE TABLE objects (
    bucket TEXT NOT NULL COLLATE BINARY,
    key TEXT NOT NULL COLLATE BINARY,
    size INTEGER NOT NULL,
    etag TEXT NOT NULL,
    last_modified INTEGER NOT NULL,
    owner TEXT NOT NULL,
    meta TEXT NOT NULL,
    tags TEXT NOT NULL,
    body_kind TEXT NOT NULL,
    body_ref TEXT,
    body BLOB,
    PRIMARY KEY (bucket, key)
  );
  CREATE TABLE uploads (
    upload_id TEXT PRIMARY KEY,
    bucket TEXT NOT NULL COLLATE BINARY,
    key TEXT NOT NULL COLLATE BINARY,
    initiated_at INTEGER NOT NULL,
    owner TEXT NOT NULL,
    initiator TEXT NOT NULL,
    meta TEXT NOT NULL
  );
  CREATE INDEX uploads_by_key ON uploads (bucket, key, initiated_at, upload_id);
  CREATE TABLE parts (
    upload_id TEXT NOT NULL REFERENCES uploads (upload_id) ON DELETE CASCADE,
    part_number INTEGER NOT NULL,
    size INTEGER NOT NULL,
    etag TEXT NOT NULL,
    last_modified INTEGER NOT NULL,
    checksum TEXT,
    body_kind TEXT NOT NULL,
    body_ref TEXT,
    body BLOB,
    PRIMARY KEY (upload_id, part_number)
  ) WITHOUT ROWID;`,
]
