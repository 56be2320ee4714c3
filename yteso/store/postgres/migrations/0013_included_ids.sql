-- The id of a value lookup is carried, not compared (docs/dev/storage.md "Bulk load",
-- docs/benchmarks.md "Session 9: PostgreSQL's deferred index build"). Building a B-tree is a
-- sort; the value indexes' leading columns are few distinct texts, so many rows tie on the
-- whole value (a token code: Observation status 'final', category 'vital-signs') and every
-- such comparison walked every column to the id (nocache_index_getattr: ~20% of the server's
-- CPU in a bulk load). An INCLUDE column is stored in the leaf but never compared: ties now
-- end on the row's heap position. No reader seeks or orders by the id after the value:
-- searches select it (still index-only), order pages by seq, and probe a resource's own rows
-- through the id-led search_*_resource indexes. 100k bulk load: the index build step took
-- 15-17% less server CPU (6.1-6.3 -> 5.0-5.3 s; search_token_lookup alone 1.87 -> 1.44 s).
-- The token system stays a key column: a search by system alone (`identifier=sys|`) keeps it
-- an index condition.
DROP INDEX search_string_lookup;

CREATE INDEX search_string_lookup ON search_string (resource_type, param, norm) INCLUDE (id);

DROP INDEX search_token_lookup;

CREATE INDEX search_token_lookup ON search_token (resource_type, param, code, system) INCLUDE (id);

DROP INDEX search_date_lookup;

CREATE INDEX search_date_lookup ON search_date (resource_type, param, low, high) INCLUDE (id);

DROP INDEX search_date_high;

CREATE INDEX search_date_high ON search_date (resource_type, param, high, low) INCLUDE (id);

DROP INDEX search_date_window;

CREATE INDEX search_date_window ON search_date (resource_type, param, width_class, low, high)
    INCLUDE (id);

DROP INDEX search_number_lookup;

CREATE INDEX search_number_lookup ON search_number (resource_type, param, value) INCLUDE (id);

DROP INDEX search_quantity_lookup;

CREATE INDEX search_quantity_lookup ON search_quantity (resource_type, param, value) INCLUDE (id);

DROP INDEX search_reference_lookup;

CREATE INDEX search_reference_lookup ON search_reference (resource_type, param, target_id)
    INCLUDE (id);

DROP INDEX search_reference_target;

CREATE INDEX search_reference_target ON search_reference (target_type, target_id, param,
    resource_type) INCLUDE (id);

DROP INDEX search_uri_lookup;

CREATE INDEX search_uri_lookup ON search_uri (resource_type, param, value) INCLUDE (id);
