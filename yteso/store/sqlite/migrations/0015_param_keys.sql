-- Integer parameter keys (docs/dev/storage.md "Parameter keys", store/param_keys.py).
-- Every search row carries pkey: the first 8 bytes of md5(resource_type || '|' || param) as a
-- signed 64-bit integer, computed by the writers (here by yteso_param_key, an SQL function
-- the application registers on every connection). The value indexes lead with it instead of
-- (resource_type, param): an index build compares one integer where it walked two texts
-- before reaching the value, and every key is shorter. Searches of one type test pkey alone
-- (it implies the type and the parameter); resource_type and param stay for per-resource
-- reads, system searches and reindexing.

-- SQLite adds a NOT NULL column only with a default; every writer names pkey.

ALTER TABLE search_string ADD COLUMN pkey INTEGER NOT NULL DEFAULT 0;

UPDATE search_string SET pkey = yteso_param_key(resource_type, param);

ALTER TABLE search_token ADD COLUMN pkey INTEGER NOT NULL DEFAULT 0;

UPDATE search_token SET pkey = yteso_param_key(resource_type, param);

ALTER TABLE search_date ADD COLUMN pkey INTEGER NOT NULL DEFAULT 0;

UPDATE search_date SET pkey = yteso_param_key(resource_type, param);

ALTER TABLE search_number ADD COLUMN pkey INTEGER NOT NULL DEFAULT 0;

UPDATE search_number SET pkey = yteso_param_key(resource_type, param);

ALTER TABLE search_quantity ADD COLUMN pkey INTEGER NOT NULL DEFAULT 0;

UPDATE search_quantity SET pkey = yteso_param_key(resource_type, param);

ALTER TABLE search_reference ADD COLUMN pkey INTEGER NOT NULL DEFAULT 0;

UPDATE search_reference SET pkey = yteso_param_key(resource_type, param);

ALTER TABLE search_uri ADD COLUMN pkey INTEGER NOT NULL DEFAULT 0;

UPDATE search_uri SET pkey = yteso_param_key(resource_type, param);

ALTER TABLE search_text ADD COLUMN pkey INTEGER NOT NULL DEFAULT 0;

UPDATE search_text SET pkey = yteso_param_key(resource_type, param);

-- The value indexes: pkey first, then the value and the id. Per-row probes and sort keys read
-- a resource's own rows by (id, pkey), covering where they were: the key replaces both texts
-- there too (clearing a resource's rows still finds them by the id).

DROP INDEX search_string_lookup;

CREATE INDEX search_string_lookup ON search_string (pkey, norm, id);

DROP INDEX search_token_lookup;

CREATE INDEX search_token_lookup ON search_token (pkey, code, system, id);

DROP INDEX search_date_lookup;

CREATE INDEX search_date_lookup ON search_date (pkey, low, high, id);

DROP INDEX search_date_high;

CREATE INDEX search_date_high ON search_date (pkey, high, low, id);

DROP INDEX search_date_window;

CREATE INDEX search_date_window ON search_date (pkey, width_class, low, high, id);

DROP INDEX search_number_lookup;

CREATE INDEX search_number_lookup ON search_number (pkey, value, id);

DROP INDEX search_quantity_lookup;

CREATE INDEX search_quantity_lookup ON search_quantity (pkey, value, id);

DROP INDEX search_reference_lookup;

CREATE INDEX search_reference_lookup ON search_reference (pkey, target_id, id);

DROP INDEX search_reference_target;

CREATE INDEX search_reference_target ON search_reference (target_type, target_id, pkey, resource_type, id);

DROP INDEX search_uri_lookup;

CREATE INDEX search_uri_lookup ON search_uri (pkey, value, id);

DROP INDEX search_string_resource;

CREATE INDEX search_string_resource ON search_string (id, pkey, norm);

DROP INDEX search_token_resource;

CREATE INDEX search_token_resource ON search_token (id, pkey, code, system);

-- SQLite keeps statistics per index (sqlite_stat1): the rebuilt ones get theirs now (at most
-- 1,000 rows each, as refresh_statistics does), as in 0012.
PRAGMA analysis_limit = 1000;

ANALYZE search_string_lookup;

ANALYZE search_token_lookup;

ANALYZE search_date_lookup;

ANALYZE search_date_high;

ANALYZE search_date_window;

ANALYZE search_number_lookup;

ANALYZE search_quantity_lookup;

ANALYZE search_reference_lookup;

ANALYZE search_reference_target;

ANALYZE search_uri_lookup;

ANALYZE search_string_resource;

ANALYZE search_token_resource;
