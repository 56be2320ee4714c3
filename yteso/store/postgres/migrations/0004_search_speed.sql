-- Search speed at millions of resources (docs/dev/search.md).
-- Date lookups cover both ends of the stored range, so a range test (low and high) is
-- decided inside one index scan (index-only where the visibility map allows).
DROP INDEX search_date_lookup;

CREATE INDEX search_date_lookup ON search_date (resource_type, param, low, high, id);

DROP INDEX search_date_high;

CREATE INDEX search_date_high ON search_date (resource_type, param, high, low, id);

-- _text: a trigram GIN index over the folded narrative (rows of _text only, as on SQLite);
-- LIKE '%x%' (3+ characters) uses it. _content rows are not indexed: maintaining the GIN for
-- ~230 characters per resource cost ~30% of the writer's wall time (docs/benchmarks.md).
-- pg_trgm lives once per database in "public" (every store schema shares it); two schemas
-- migrating at once may race to create it, which the handler absorbs.
DO $$ BEGIN CREATE EXTENSION IF NOT EXISTS pg_trgm SCHEMA public; EXCEPTION WHEN unique_violation OR duplicate_object THEN NULL; END $$;

CREATE INDEX search_text_trigram ON search_text USING gin (content public.gin_trgm_ops) WHERE param = '_text';

-- Every reader of the per-type order skips deleted resources: a partial index holds only the
-- live ones, so a type's count (_total=accurate) is one index(-only) range scan.
DROP INDEX resource_current_type_seq;

CREATE INDEX resource_current_type_seq ON resource_current (resource_type, seq) WHERE NOT deleted;
