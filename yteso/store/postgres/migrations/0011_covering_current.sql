-- Search pages cut from index entries alone (issue 4 at 1M; docs/dev/search.md "Index-only
-- page cuts"). A page is the matches sorted by seq, cut to count + 1 before the history join;
-- the cut reads type, id, seq and deleted of every match (a date window: ~1,500 lookups by id)
-- or of every candidate walked in seq order (a per-row probe: ~400-800). Without these
-- columns in the index each was a heap visit of resource_current, whose rows carry the JSONB
-- content (~5 rows per 8 kB page), mostly outside shared buffers. Same number of indexes; a
-- write updated both already (seq changes on every write, so no update was HOT).
ALTER TABLE resource_current DROP CONSTRAINT resource_current_pkey;

ALTER TABLE resource_current ADD CONSTRAINT resource_current_pkey
    PRIMARY KEY (resource_type, id) INCLUDE (seq, deleted);

DROP INDEX resource_current_type_seq;

CREATE INDEX resource_current_type_seq ON resource_current (resource_type, seq) INCLUDE (id)
    WHERE NOT deleted;
