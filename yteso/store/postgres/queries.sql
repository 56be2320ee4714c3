-- name: create_schema_version
CREATE TABLE IF NOT EXISTS schema_version (
    version INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    applied_at TIMESTAMPTZ NOT NULL
);

-- name: applied_versions
SELECT version FROM schema_version;

-- name: record_migration
INSERT INTO schema_version (version, name, applied_at) VALUES (%s, %s, %s);

-- name: read_current
SELECT c.version, c.last_updated, c.deleted, h.body, h.method
FROM resource_current c JOIN resource_history h ON h.seq = c.seq
WHERE c.resource_type = %s AND c.id = %s;

-- name: current_version
SELECT version, deleted FROM resource_current WHERE resource_type = %s AND id = %s;

-- name: read_version
SELECT last_updated, deleted, body, method FROM resource_history
WHERE resource_type = %s AND id = %s AND version = %s;

-- name: insert_history_with_seq
INSERT INTO resource_history
    (seq, resource_type, id, version, last_updated, deleted, method, compartment, body)
VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s);

-- name: upsert_current
INSERT INTO resource_current
    (resource_type, id, version, seq, last_updated, deleted, compartment)
VALUES (%s, %s, %s, %s, %s, %s, %s)
ON CONFLICT (resource_type, id) DO UPDATE SET
    version = excluded.version,
    seq = excluded.seq,
    last_updated = excluded.last_updated,
    deleted = excluded.deleted,
    compartment = excluded.compartment;

-- name: existing_versions
SELECT id, version FROM resource_current
WHERE resource_type = %s AND id = ANY(%s);

-- name: read_current_many
SELECT c.id, c.version, c.last_updated, h.body, h.method
FROM resource_current c JOIN resource_history h ON h.seq = c.seq
WHERE c.resource_type = %s AND NOT c.deleted AND c.id = ANY(%s);

-- name: referencing_ids
SELECT DISTINCT id FROM search_reference
WHERE pkey = %s AND target_type = %s AND target_id = ANY(%s);

-- name: reserve_seqs
SELECT nextval('resource_seq') FROM generate_series(1, %s);

-- name: lock_key
-- Keyed by schema too: advisory locks are database-wide, and stores in other schemas of the same
-- database (tenants, test runs) must neither wait on nor deadlock with this one's keys.
SELECT pg_advisory_xact_lock(hashtextextended(coalesce(current_schema(), '') || '/' || %s, 0));

-- name: lock_keys
-- Many keys in one round trip, in the array's order (the caller sorts it).
-- The same keys as lock_key (schema-qualified), so batch and single writers exclude each other.
SELECT count(pg_advisory_xact_lock(hashtextextended(coalesce(current_schema(), '') || '/' || k.key, 0)))
FROM unnest(%s::text[]) AS k(key);

-- name: counts
SELECT resource_type, count(*) FROM resource_current WHERE NOT deleted GROUP BY resource_type;

-- name: iter_current_all
-- The page is cut before the join: joined first, the planner merge-joins history from its
-- start on every page (quadratic; 360 ms per page at 330k resources instead of 3 ms).
SELECT c.resource_type, c.id, c.version, c.last_updated, h.body, h.method, c.seq
FROM (SELECT resource_type, id, version, last_updated, seq FROM resource_current
      WHERE NOT deleted AND seq > %s ORDER BY seq LIMIT %s) c
JOIN resource_history h ON h.seq = c.seq
ORDER BY c.seq;

-- name: iter_current_type
SELECT c.resource_type, c.id, c.version, c.last_updated, h.body, h.method, c.seq
FROM (SELECT resource_type, id, version, last_updated, seq FROM resource_current
      WHERE NOT deleted AND resource_type = %s AND seq > %s ORDER BY seq LIMIT %s) c
JOIN resource_history h ON h.seq = c.seq
ORDER BY c.seq;

-- name: copy_history
-- Binary: the bodies go as length-prefixed values, not text the server scans byte by byte
-- (store/copy_binary.py, history_stream). The fixed-width columns first: one pack per row.
COPY resource_history
    (seq, version, last_updated, deleted, resource_type, id, method, compartment, body)
FROM STDIN (FORMAT binary);

-- name: copy_current
-- copy_binary.py, current_stream; the fixed-width columns first. No JSONB copy of the body:
-- the warehouse parses a version into resource_json when a view first needs it (0016).
COPY resource_current
    (version, seq, last_updated, deleted, resource_type, id, compartment)
FROM STDIN (FORMAT binary);

-- name: insert_version
-- One round trip for both tables: the history row, then the current row pointing at it.
WITH h AS (
    INSERT INTO resource_history
        (resource_type, id, version, last_updated, deleted, method, compartment, body)
    VALUES (%s, %s, %s, %s, %s, %s, %s, %s)
    RETURNING seq, resource_type, id, version, last_updated, deleted, compartment
)
INSERT INTO resource_current AS c
    (resource_type, id, version, seq, last_updated, deleted, compartment)
SELECT resource_type, id, version, seq, last_updated, deleted, compartment
FROM h
ON CONFLICT (resource_type, id) DO UPDATE SET
    version = excluded.version,
    seq = excluded.seq,
    last_updated = excluded.last_updated,
    deleted = excluded.deleted,
    compartment = excluded.compartment
RETURNING c.seq;

-- name: deferred_index_table
SELECT count(*) FROM pg_tables WHERE schemaname = current_schema() AND tablename = 'deferred_index';

-- name: deferrable_index_definitions
-- The secondary indexes a bulk load builds after writing (deferred_indexes.py): the search
-- tables' only. The resource tables' stay live here: COPY appends to them cheaply (their keys
-- grow with seq and time), and building them after a 100k load cost as much server CPU as it
-- saved (0.41 s vs 0.38 s; docs/benchmarks.md, "PGSERVER"). SQLite defers them.
SELECT i.relname, pg_get_indexdef(i.oid)
FROM pg_index x
JOIN pg_class i ON i.oid = x.indexrelid
JOIN pg_class t ON t.oid = x.indrelid
WHERE t.relnamespace = current_schema()::regnamespace AND left(t.relname, 7) = 'search_'
    AND NOT x.indisunique AND NOT x.indisprimary
ORDER BY i.relname;

-- name: deferred_indexes
SELECT name, definition FROM deferred_index ORDER BY name;

-- name: deferred_index_build_order
-- Largest table first: the builds run on several connections, and the long ones started first
-- finish together with the short ones (longest-processing-time-first scheduling).
SELECT name FROM deferred_index
ORDER BY coalesce(pg_relation_size(to_regclass(substring(definition FROM ' ON (\S+) '))), 0) DESC,
    name;

-- name: record_deferred_index
INSERT INTO deferred_index (name, definition) VALUES (%s, %s);

-- name: claim_deferred_index
-- The builder removes the record in the transaction that creates the index (the row lock makes
-- a concurrent builder of the same index wait, then find it gone).
DELETE FROM deferred_index WHERE name = %s RETURNING definition;

-- name: any_current
SELECT 1 FROM resource_current LIMIT 1;

-- name: index_build_settings
-- Per build transaction: sort memory, and no parallel worker: the builds already run on one
-- connection per core (deferred_indexes.py), so a worker only adds its start and the merge of
-- its sorted run to the server's CPU (docs/benchmarks.md, "PGSERVER").
SELECT set_config('maintenance_work_mem', '256MB', true),
    set_config('max_parallel_maintenance_workers', '0', true);

-- name: analyzed_tables
-- Only this store's schema, not every schema of the database; not the history: only read by
-- primary key, and a quarter of the time (bodies); not the warehouse's cache, which a load
-- does not change (a view run analyzes it after filling it). Largest first (they run side
-- by side).
SELECT quote_ident(c.relname) FROM pg_class c
WHERE c.relnamespace = current_schema()::regnamespace AND c.relkind IN ('r', 'p')
    AND c.relname NOT IN ('resource_history', 'resource_json')
ORDER BY pg_relation_size(c.oid) DESC, c.relname;

-- name: bulk_load_lock
SELECT pg_try_advisory_lock(hashtextextended('yteso:bulk-load:' || current_schema(), 0));

-- name: bulk_load_unlock
SELECT pg_advisory_unlock(hashtextextended('yteso:bulk-load:' || current_schema(), 0));

-- name: custom_params_signature
-- Changes whenever a current SearchParameter is created, updated or deleted (count, and the
-- sum and largest of their write sequence numbers): other processes compare it per request
-- to pick up custom parameters (store/custom_params.py). An index-only range of the
-- (resource_type, seq) index over a handful of rows.
-- The last column: whether _content is text-indexed (search_options).
SELECT count(*), coalesce(sum(seq), 0), coalesce(max(seq), 0),
    (SELECT count(*) FROM search_options WHERE name = 'content_index')
FROM resource_current WHERE resource_type = 'SearchParameter' AND NOT deleted;

-- name: content_index_option
SELECT count(*) FROM search_options WHERE name = 'content_index';

-- name: content_index_set
INSERT INTO search_options (name, value) VALUES ('content_index', 'on');

-- name: content_index_clear
DELETE FROM search_options WHERE name = 'content_index';

-- name: content_index_fill
CREATE INDEX IF NOT EXISTS search_content_trigram ON search_text
USING gin (content public.gin_trgm_ops) WHERE param = '_content';

-- name: content_index_empty
DROP INDEX IF EXISTS search_content_trigram;
