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

-- Deployment options of search (docs/dev/search.md). 'content_index' present: the
-- partial trigram GIN index search_content_trigram over the _content rows exists
-- (SqlStore.set_content_index creates or drops it in the transaction that sets the option).
CREATE TABLE search_options (
    name TEXT COLLATE "C" PRIMARY KEY,
    value TEXT NOT NULL
);
