-- Search-table indexes a bulk load dropped so that it could build them in bulk after writing
-- (docs/dev/storage.md "Bulk load"), with the statement that recreates each. Rows left here
-- mean the load died before rebuilding them: opening the store rebuilds them (unless a live
-- load still holds the bulk-load lock).
CREATE TABLE deferred_index (
    name TEXT PRIMARY KEY,
    definition TEXT NOT NULL
);
