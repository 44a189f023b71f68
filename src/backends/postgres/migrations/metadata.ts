/**
 * The PostgreSQL metadata store's schema, an append-only list of migration steps
 * (`runMigrations(db, 'metadata', …)`): never edit a released step, add one.
 * Bucket names and keys are `COLLATE "C"`: PostgreSQL's C collation compares the stored UTF-8
 * bytes, which is S3's listing order (a locale collation would sort 'B' after 'a'). Bodies are
 * inline BYTEA or a JSONB blob ref in the SQLite store's encoding (`{"k":"b","r":…}`, nested in
 * `"p"` for multipart), so the blob ledger's triggers can find every ref. Times are BIGINT ms.
 * @module
 */

export const METADATA_MIGRATIONS: readonly string[] = [
  `CREATE TABLE buckets (
    name TEXT COLLATE "C" PRIMARY KEY,
    account_id TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    region TEXT NOT NULL
  );
  CREATE INDEX buckets_by_account ON buckets (account_id, name);
  CREATE TABLE bucket_subresources (
    bucket TEXT COLLATE "C" NOT NULL REFERENCES buckets (name) ON DELETE CASCADE,
    kind TEXT NOT NULL,
    value TEXT NOT NULL,
    PRIMARY KEY (bucket, kind)
  );
  CREATE TABLE objects (
    bucket TEXT COLLATE "C" NOT NULL,
    key TEXT COLLATE "C" NOT NULL,
    size BIGINT NOT NULL,
    etag TEXT NOT NULL,
    last_modified BIGINT NOT NULL,
    owner TEXT NOT NULL,
    meta TEXT NOT NULL,
    tags TEXT NOT NULL,
    body_kind TEXT NOT NULL,
    body_ref JSONB,
    body BYTEA,
    PRIMARY KEY (bucket, key)
  );
  CREATE TABLE uploads (
    upload_id TEXT PRIMARY KEY,
    bucket TEXT COLLATE "C" NOT NULL,
    key TEXT COLLATE "C" NOT NULL,
    initiated_at BIGINT NOT NULL,
    owner TEXT NOT NULL,
    initiator TEXT NOT NULL,
    meta TEXT NOT NULL
  );
  CREATE INDEX uploads_by_key ON uploads (bucket, key, initiated_at, upload_id);
  CREATE TABLE parts (
    upload_id TEXT NOT NULL REFERENCES uploads (upload_id) ON DELETE CASCADE,
    part_number INTEGER NOT NULL,
    size BIGINT NOT NULL,
    etag TEXT NOT NULL,
    last_modified BIGINT NOT NULL,
    checksum TEXT,
    body_kind TEXT NOT NULL,
    body_ref JSONB,
    body BYTEA,
    PRIMARY KEY (upload_id, part_number)
  );`,
]
