-- Search speed at millions of resources (docs/dev/search.md).
-- Date lookups cover both ends of the stored range, so a range test (low and high) is
-- decided inside one index scan (index-only where the visibility map allows).
DROP INDEX search_date_lookup;

CREATE INDEX search_date_lookup ON search_date (resource_type, param, low, high, id);

DROP INDEX search_date_high;

CREATE INDEX search_date_high ON search_date (resource_type, param, high, low, id);

-- _text/_content: a trigram GIN index over the folded text; LIKE '%x%' (3+ characters) uses
-- it. pg_trgm lives once per database in "public" (every store schema shares it); two
-- schemas migrating at once may race to create it, which the handler absorbs.
DO $$ BEGIN CREATE EXTENSION IF NOT EXISTS pg_trgm SCHEMA public; EXCEPTION WHEN unique_violation OR duplicate_object THEN NULL; END $$;

CREATE INDEX search_text_trigram ON search_text USING gin (content public.gin_trgm_ops);
