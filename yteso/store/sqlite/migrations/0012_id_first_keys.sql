-- Per-resource index keys led by the id (docs/dev/storage.md "Bulk load", docs/benchmarks.md
-- "PGSERVER"). Building a B-tree is a sort; with resource_type first, almost every comparison
-- of the sort walks several text columns, where the id first decides almost every one alone:
-- the bulk load's build of these indexes (100k resources) took about 40% less CPU on
-- PostgreSQL, about 15-20% less on SQLite. Every reader of them tests both resource_type and
-- id for equality (clearing a resource's rows, per-row probes, sort keys, _include, _has), so
-- each plan keeps its index. search_reference_target keeps target_type first: `:missing` of a
-- parameter reading another's rows by target type (Observation `patient`) ranges over that
-- prefix (target_id first: 1.5-2x slower at 100k, for ~0.1 s of build).
DROP INDEX search_string_resource;

CREATE INDEX search_string_resource ON search_string (id, resource_type, param, norm);

DROP INDEX search_token_resource;

CREATE INDEX search_token_resource ON search_token (id, resource_type, param, code, system);

DROP INDEX search_date_resource;

CREATE INDEX search_date_resource ON search_date (id, resource_type);

DROP INDEX search_number_resource;

CREATE INDEX search_number_resource ON search_number (id, resource_type);

DROP INDEX search_quantity_resource;

CREATE INDEX search_quantity_resource ON search_quantity (id, resource_type);

DROP INDEX search_reference_resource;

CREATE INDEX search_reference_resource ON search_reference (id, resource_type);

DROP INDEX search_uri_resource;

CREATE INDEX search_uri_resource ON search_uri (id, resource_type);

DROP INDEX search_text_resource;

CREATE INDEX search_text_resource ON search_text (id, resource_type);

-- SQLite keeps statistics per index (sqlite_stat1): give the new ones theirs now (at most 1,000
-- rows each, as refresh_statistics does), so an upgraded store is not planned on default
-- estimates for them until its next ANALYZE.
PRAGMA analysis_limit = 1000;

ANALYZE search_string_resource;

ANALYZE search_token_resource;

ANALYZE search_date_resource;

ANALYZE search_number_resource;

ANALYZE search_quantity_resource;

ANALYZE search_reference_resource;

ANALYZE search_uri_resource;

ANALYZE search_text_resource;
