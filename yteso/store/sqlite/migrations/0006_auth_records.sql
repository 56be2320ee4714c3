-- The authorization server's shared state (yteso.auth.state): users, clients, authorization
-- codes and refresh tokens (by their SHA-256, never in clear), revoked token ids, used client
-- assertion jtis and failed-login counters, so that every server process of one database sees
-- the same. expires_at: epoch seconds, NULL for records that do not expire.
CREATE TABLE auth_record (
    kind TEXT NOT NULL,
    name TEXT NOT NULL,
    value TEXT NOT NULL,
    expires_at REAL,
    PRIMARY KEY (kind, name)
);
CREATE INDEX auth_record_expiry ON auth_record (expires_at);
