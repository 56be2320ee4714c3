-- Resources: an append-only history of every version plus a current-version table.
-- Design notes and the Citus plan: docs/dev/storage.md.

-- seq: the global, monotonically increasing write sequence (system history, _since, cursors).
CREATE TABLE resource_history (
    seq INTEGER PRIMARY KEY,
    resource_type TEXT NOT NULL,
    id TEXT NOT NULL,
    version INTEGER NOT NULL,
    last_updated TEXT NOT NULL,           -- instant, fixed-width ISO text, UTC "Z"
    deleted INTEGER NOT NULL DEFAULT 0,   -- 1: a delete marker (body is empty)
    method TEXT NOT NULL,                 -- POST | PUT | PATCH | DELETE
    compartment TEXT,                     -- patient-compartment key (future distribution key)
    body TEXT NOT NULL                    -- the exact JSON served on read
);

CREATE UNIQUE INDEX resource_history_version ON resource_history (resource_type, id, version);

CREATE INDEX resource_history_type_seq ON resource_history (resource_type, seq);

CREATE TABLE resource_current (
    resource_type TEXT NOT NULL,
    id TEXT NOT NULL,
    version INTEGER NOT NULL,
    seq INTEGER NOT NULL,                 -- the history row holding this version's body
    last_updated TEXT NOT NULL,
    deleted INTEGER NOT NULL DEFAULT 0,
    compartment TEXT,
    PRIMARY KEY (resource_type, id)
) WITHOUT ROWID;

CREATE UNIQUE INDEX resource_current_seq ON resource_current (seq);

CREATE INDEX resource_current_last_updated ON resource_current (resource_type, last_updated);

CREATE INDEX resource_current_compartment ON resource_current (compartment)
    WHERE compartment IS NOT NULL;
