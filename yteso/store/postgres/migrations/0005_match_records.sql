-- Master patient index (docs/mpi.md): the comparable features of every current Patient and
-- its blocking keys, written in the same transaction as the Patient, so every server process
-- finds candidates in the database rather than in a process-local index.
CREATE TABLE match_record (
    id TEXT COLLATE "C" PRIMARY KEY,
    features TEXT NOT NULL
);

CREATE TABLE match_key (
    match_key TEXT COLLATE "C" NOT NULL,
    id TEXT COLLATE "C" NOT NULL,
    PRIMARY KEY (match_key, id)
);

CREATE INDEX match_key_id ON match_key (id);
