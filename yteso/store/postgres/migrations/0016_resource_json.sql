-- The JSONB copy of the current bodies moves out of the write path into a cache the warehouse
-- fills when a view needs it (yteso/warehouse/postgres_views.py; docs/dev/storage.md). Every
-- write cast its body to JSONB for resource_current.content, whose only reader was a
-- PostgreSQL view: in a bulk load that parse was ~10 % of the load's CPU (a 100k load without
-- it: the load's own backends -2.9 CPU s, the writer -0.5 s of ~34 s; docs/benchmarks.md,
-- "Session 11: ... pgsrv2" and "Session 13: ... pgjson"). resource_json is keyed by the immutable history seq, so an entry is never
-- stale: a current row whose seq has no entry is simply not cached yet, and an entry no
-- current row points to (a superseded or deleted version) is dropped by the next view run.
-- Keyed by type first: a view run checks, fills and prunes the entries of its own type only,
-- so its cost follows that type's rows, never the whole store's.
CREATE TABLE resource_json (
    resource_type TEXT COLLATE "C" NOT NULL,
    seq BIGINT NOT NULL,                     -- resource_history.seq of the version parsed
    content JSONB NOT NULL,                  -- that version's body as JSONB
    PRIMARY KEY (resource_type, seq)
);

-- The planner needs the table's size, not statistics of whole documents (views filter on
-- paths inside them): ANALYZE skips the column.
ALTER TABLE resource_json ALTER COLUMN content SET STATISTICS 0;

-- lz4 where the server has it, as migration 0014 chose for the column this replaces.
DO $$ BEGIN IF 'lz4' = ANY (SELECT unnest(enumvals) FROM pg_settings WHERE name = 'default_toast_compression') THEN ALTER TABLE resource_json ALTER COLUMN content SET COMPRESSION lz4; END IF; END $$;

-- One history row's body as JSONB: what a view reads for a current version not cached yet. A
-- function declared cheap (COST 1) because it runs only for those rows: as a sub-select the
-- planner priced an index scan for every row, and the views' estimates passed the JIT's
-- inlining and optimisation thresholds (~0.3-0.6 s of compilation per run on 60k rows).
CREATE FUNCTION resource_body_jsonb(version_seq BIGINT) RETURNS jsonb LANGUAGE sql STABLE COST 1 AS $$ SELECT CAST(body AS jsonb) FROM resource_history WHERE seq = version_seq $$;

INSERT INTO resource_json (resource_type, seq, content)
SELECT resource_type, seq, content FROM resource_current WHERE content IS NOT NULL AND NOT deleted;

-- Existing rows keep the dropped value's bytes until rewritten (by a later write of that
-- resource, or VACUUM FULL resource_current at the operator's choice); new rows are narrow.
ALTER TABLE resource_current DROP COLUMN content;
