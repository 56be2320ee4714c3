-- Composite search parameters indexed per element (docs/dev/search.md, store/composite_rows.py):
-- a composite's component rows carry the ordinal of the element they came from, so the
-- components of one search value are matched on the same element. NULL on every other row.

ALTER TABLE search_string ADD COLUMN element INTEGER;

ALTER TABLE search_token ADD COLUMN element INTEGER;

ALTER TABLE search_date ADD COLUMN element INTEGER;

ALTER TABLE search_number ADD COLUMN element INTEGER;

ALTER TABLE search_quantity ADD COLUMN element INTEGER;

ALTER TABLE search_reference ADD COLUMN element INTEGER;

ALTER TABLE search_uri ADD COLUMN element INTEGER;

-- Deployment options of search (docs/dev/search.md). 'content_index' present: _content
-- rows are in the trigram index too (SqlStore.set_content_index fills or empties it in the
-- same transaction that sets the option, so the index always matches the option).
CREATE TABLE search_options (
    name TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

CREATE TRIGGER search_content_fts_insert AFTER INSERT ON search_text
WHEN new.param = '_content' AND EXISTS (SELECT 1 FROM search_options WHERE name = 'content_index') BEGIN
    INSERT INTO search_text_fts (rowid, content) VALUES (new.rowid, new.content); END;

CREATE TRIGGER search_content_fts_delete AFTER DELETE ON search_text
WHEN old.param = '_content' AND EXISTS (SELECT 1 FROM search_options WHERE name = 'content_index') BEGIN
    INSERT INTO search_text_fts (search_text_fts, rowid, content) VALUES ('delete', old.rowid, old.content); END;
