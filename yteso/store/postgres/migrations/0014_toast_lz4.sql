-- Resource bodies and JSONB content that TOAST compresses (a row past ~2 KB: about one
-- content in eight in a load of bench_load's data) are compressed with lz4 instead of pglz
-- where the server was built with lz4 (PostgreSQL 14+ `--with-lz4`, listed then among
-- default_toast_compression's values; a server without it keeps pglz). pglz_compress was
-- ~3.5% of the server's CPU in a bulk load's COPY stream; lz4 compresses and decompresses
-- several times faster (docs/benchmarks.md, "Session 9: COPY stream"). Values already stored
-- keep their method until rewritten; reads handle both.
DO $$ BEGIN IF 'lz4' = ANY (SELECT unnest(enumvals) FROM pg_settings WHERE name = 'default_toast_compression') THEN ALTER TABLE resource_history ALTER COLUMN body SET COMPRESSION lz4; ALTER TABLE resource_current ALTER COLUMN content SET COMPRESSION lz4; END IF; END $$;
