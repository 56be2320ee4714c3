-- Search speed at millions of resources (docs/dev/search.md).
-- Date lookups cover both ends of the stored range, so a range test (low and high) is
-- decided inside one index scan, without reading the table row.
DROP INDEX search_date_lookup;

CREATE INDEX search_date_lookup ON search_date (resource_type, param, low, high, id);

DROP INDEX search_date_high;

CREATE INDEX search_date_high ON search_date (resource_type, param, high, low, id);

-- _text: a trigram full-text index over the folded narrative (FTS5 external content: the
-- rows stay in search_text; triggers index the _text rows only). A MATCH of every trigram of
-- the text (3+ characters) finds the candidate rows; the exact LIKE test stays in the query,
-- so results equal the plain scan's. No positions are kept (detail = none). _content rows
-- (~230 characters per resource) are NOT indexed: tokenising them nearly doubled the serial
-- bulk writer (docs/benchmarks.md), so _content stays a LIKE scan of its rows.
CREATE VIRTUAL TABLE search_text_fts USING fts5(
    content, content = 'search_text', content_rowid = 'rowid',
    tokenize = 'trigram case_sensitive 1', detail = 'none', columnsize = 0
);

CREATE TRIGGER search_text_fts_insert AFTER INSERT ON search_text WHEN new.param = '_text' BEGIN
    INSERT INTO search_text_fts (rowid, content) VALUES (new.rowid, new.content); END;

CREATE TRIGGER search_text_fts_delete AFTER DELETE ON search_text WHEN old.param = '_text' BEGIN
    INSERT INTO search_text_fts (search_text_fts, rowid, content) VALUES ('delete', old.rowid, old.content); END;

INSERT INTO search_text_fts (rowid, content) SELECT rowid, content FROM search_text WHERE param = '_text';

-- Every reader of the per-type order skips deleted resources: a partial index holds only the
-- live ones, so a type's count (_total=accurate) is one index(-only) range scan.
DROP INDEX resource_current_type_seq;

CREATE INDEX resource_current_type_seq ON resource_current (resource_type, seq) WHERE NOT deleted;
