/**
 * The PostgreSQL blob ledger's schema: its table (migration list 'blob-ledger'), and the
 * triggers that record, in the metadata commit's own transaction, every blob a deleted `objects`
 * or `parts` row referenced (list 'blob-ledger-triggers', applied once both tables exist). The
 * metadata store replaces a row by DELETE then INSERT, so AFTER DELETE sees every dropped body
 * and a write to a new key runs no trigger. The refs are found with a jsonpath over the JSONB
 * body_ref: every string-valued "r" at any depth (a part's "r" holds an object, not a string).
 * @module
 */

export const BLOB_LEDGER_MIGRATIONS: readonly string[] = [
  `CREATE TABLE IF NOT EXISTS blob_ledger (
    ref TEXT PRIMARY KEY,
    state SMALLINT NOT NULL, -- 0 intent, 1 retired
    at BIGINT NOT NULL -- intent: recorded at; retired: deletable after (retired at + grace)
  );
  CREATE INDEX IF NOT EXISTS blob_ledger_due ON blob_ledger (state, at);`,
]

export const BLOB_LEDGER_TRIGGER_MIGRATIONS: readonly string[] = [
  `CREATE OR REPLACE FUNCTION blob_ledger_intend_dropped() RETURNS trigger
   LANGUAGE plpgsql AS $$
   BEGIN
     IF OLD.body_ref IS NOT NULL THEN
       INSERT INTO blob_ledger (ref, state, at)
         SELECT DISTINCT r #>> '{}', 0, (extract(epoch FROM clock_timestamp()) * 1000)::bigint
         FROM jsonb_path_query(OLD.body_ref, 'lax $.**.r ? (@.type() == "string")') AS r
         ON CONFLICT (ref) DO NOTHING;
     END IF;
     RETURN NULL;
   END $$;
   CREATE TRIGGER blob_ledger_object_deleted AFTER DELETE ON objects
     FOR EACH ROW EXECUTE FUNCTION blob_ledger_intend_dropped();
   CREATE TRIGGER blob_ledger_part_deleted AFTER DELETE ON parts
     FOR EACH ROW EXECUTE FUNCTION blob_ledger_intend_dropped();`,
]
