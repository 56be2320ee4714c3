-- Resources: an append-only history of every version plus a current-version table.
-- Design notes and the Citus plan: docs/dev/storage.md. Text keys use COLLATE "C" so that
-- _id order is byte order, as on SQLite.

-- seq: the global, monotonically increasing write sequence (system history, _since, cursors).
CREATE SEQUENCE resource_seq;

CREATE TABLE resource_history (
    seq BIGINT PRIMARY KEY DEFAULT nextval('resource_seq'),
    resource_type TEXT COLLATE "C" NOT NULL,
    id TEXT COLLATE "C" NOT NULL,
    version INTEGER NOT NULL,
    last_updated TIMESTAMPTZ NOT NULL,
    deleted BOOLEAN NOT NULL DEFAULT false,  -- a delete marker (body is empty)
    method TEXT NOT NULL,                    -- POST | PUT | PATCH | DELETE
    compartment TEXT COLLATE "C",            -- patient-compartment key (future distribution key)
    body TEXT NOT NULL                       -- the exact JSON served on read
);

CREATE UNIQUE INDEX resource_history_version ON resource_history (resource_type, id, version);

CREATE INDEX resource_history_type_seq ON resource_history (resource_type, seq);

CREATE TABLE resource_current (
    resource_type TEXT COLLATE "C" NOT NULL,
    id TEXT COLLATE "C" NOT NULL,
    version INTEGER NOT NULL,
    seq BIGINT NOT NULL,                     -- the history row holding this version's body
    last_updated TIMESTAMPTZ NOT NULL,
    deleted BOOLEAN NOT NULL DEFAULT false,
    compartment TEXT COLLATE "C",
    content JSONB,                           -- the current version as JSONB, for JSON queries
    PRIMARY KEY (resource_type, id)
);

CREATE UNIQUE INDEX resource_current_seq ON resource_current (seq);

CREATE INDEX resource_current_last_updated ON resource_current (resource_type, last_updated);

CREATE INDEX resource_current_compartment ON resource_current (compartment)
    WHERE compartment IS NOT NULL;
