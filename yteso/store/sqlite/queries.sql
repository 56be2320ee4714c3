-- name: create_schema_version
CREATE TABLE IF NOT EXISTS schema_version (
    version INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    applied_at TEXT NOT NULL
);

-- name: applied_versions
SELECT version FROM schema_version;

-- name: record_migration
INSERT INTO schema_version (version, name, applied_at) VALUES (?, ?, ?);

-- name: read_current
SELECT c.version, c.last_updated, c.deleted, h.body, h.method
FROM resource_current c JOIN resource_history h ON h.seq = c.seq
WHERE c.resource_type = ? AND c.id = ?;

-- name: current_version
SELECT version, deleted FROM resource_current WHERE resource_type = ? AND id = ?;

-- name: read_version
SELECT last_updated, deleted, body, method FROM resource_history
WHERE resource_type = ? AND id = ? AND version = ?;

-- name: insert_history
-- The body is bound as the UTF-8 bytes the writer holds; CAST stores them as TEXT, unchanged
-- (a BLOB cast to TEXT is read as text in the database encoding, UTF-8): no decode in Python
-- and no re-encode by the driver (~4 µs of a ~1.4 KB body).
INSERT INTO resource_history
    (resource_type, id, version, last_updated, deleted, method, compartment, body)
VALUES (?, ?, ?, ?, ?, ?, ?, CAST(? AS TEXT))
RETURNING seq;

-- name: insert_history_with_seq
-- The body as in insert_history.
INSERT INTO resource_history
    (seq, resource_type, id, version, last_updated, deleted, method, compartment, body)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, CAST(? AS TEXT));

-- name: upsert_current
INSERT INTO resource_current
    (resource_type, id, version, seq, last_updated, deleted, compartment)
VALUES (?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (resource_type, id) DO UPDATE SET
    version = excluded.version,
    seq = excluded.seq,
    last_updated = excluded.last_updated,
    deleted = excluded.deleted,
    compartment = excluded.compartment;

-- name: upsert_current_from_history
-- The current rows of the history rows ?1..?2 just written: the same values, copied inside
-- SQLite instead of bound again from Python. In seq order, so a resource written twice in
-- the batch ends at its later version (WHERE is required before an upsert clause).
INSERT INTO resource_current
    (resource_type, id, version, seq, last_updated, deleted, compartment)
SELECT resource_type, id, version, seq, last_updated, deleted, compartment
FROM resource_history WHERE seq BETWEEN ? AND ? ORDER BY seq
ON CONFLICT (resource_type, id) DO UPDATE SET
    version = excluded.version,
    seq = excluded.seq,
    last_updated = excluded.last_updated,
    deleted = excluded.deleted,
    compartment = excluded.compartment;

-- name: existing_versions
SELECT id, version FROM resource_current
WHERE resource_type = ? AND id IN (SELECT value FROM json_each(?));

-- name: read_current_many
SELECT c.id, c.version, c.last_updated, h.body, h.method
FROM resource_current c JOIN resource_history h ON h.seq = c.seq
WHERE c.resource_type = ? AND NOT c.deleted AND c.id IN (SELECT value FROM json_each(?));

-- name: referencing_ids
SELECT DISTINCT id FROM search_reference
WHERE pkey = ? AND target_type = ? AND target_id IN (SELECT value FROM json_each(?));

-- name: max_seq
SELECT coalesce(max(seq), 0) FROM resource_history;

-- name: counts
SELECT resource_type, count(*) FROM resource_current WHERE NOT deleted GROUP BY resource_type;

-- name: iter_current_all
SELECT c.resource_type, c.id, c.version, c.last_updated, h.body, h.method, c.seq
FROM resource_current c JOIN resource_history h ON h.seq = c.seq
WHERE NOT c.deleted AND c.seq > ?
ORDER BY c.seq LIMIT ?;

-- name: iter_current_type
SELECT c.resource_type, c.id, c.version, c.last_updated, h.body, h.method, c.seq
FROM resource_current c JOIN resource_history h ON h.seq = c.seq
WHERE NOT c.deleted AND c.resource_type = ? AND c.seq > ?
ORDER BY c.seq LIMIT ?;

-- name: deferred_index_table
SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'deferred_index';

-- name: deferrable_index_definitions
-- The secondary indexes a bulk load builds after writing (deferred_indexes.py): the search
-- tables', and, on SQLite, the resource tables' non-unique ones too (unique indexes and keys
-- stay: they enforce what the writer relies on). Each row a load inserts costs SQLite a B-tree
-- insert per index; building the resource tables' four after a 100k load cost ~0.25 s of the
-- writer's CPU and saved ~0.45 s of inserts (docs/benchmarks.md, "PGSERVER").
SELECT name, sql FROM sqlite_master
WHERE type = 'index' AND substr(sql, 1, 13) = 'CREATE INDEX '
    AND (substr(tbl_name, 1, 7) = 'search_' OR tbl_name IN ('resource_current', 'resource_history'))
ORDER BY name;

-- name: deferred_indexes
SELECT name, definition FROM deferred_index ORDER BY name;

-- name: deferred_index_build_order
-- One connection builds them all, in one transaction (sqlite_backend.index_build).
SELECT name FROM deferred_index ORDER BY name;

-- name: record_deferred_index
INSERT INTO deferred_index (name, definition) VALUES (?, ?);

-- name: claim_deferred_index
-- The builder removes the record in the transaction that creates the index; a record already
-- gone was built by another builder.
DELETE FROM deferred_index WHERE name = ? RETURNING definition;

-- name: any_current
SELECT 1 FROM resource_current LIMIT 1;

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
INSERT INTO search_text_fts (rowid, content) SELECT rowid, content FROM search_text WHERE param = '_content';

-- name: content_index_empty
INSERT INTO search_text_fts (search_text_fts, rowid, content)
SELECT 'delete', rowid, content FROM search_text WHERE param = '_content';
