-- Search index tables, one per search-parameter type (docs/dev/search.md).
-- Rows are replaced whenever a resource is written or deleted, in the same transaction.
-- Keys: (resource_type, id) to replace a resource's rows; (resource_type, param, value)
-- for searching. Dates are half-open UTC ranges as fixed-width ISO text (low, high).

CREATE TABLE search_string (
    resource_type TEXT NOT NULL,
    id TEXT NOT NULL,
    param TEXT NOT NULL,
    norm TEXT,
    exact TEXT
);

CREATE INDEX search_string_resource ON search_string (resource_type, id);

CREATE INDEX search_string_lookup ON search_string (resource_type, param, norm, id);

CREATE TABLE search_token (
    resource_type TEXT NOT NULL,
    id TEXT NOT NULL,
    param TEXT NOT NULL,
    system TEXT,
    code TEXT,
    display TEXT
);

CREATE INDEX search_token_resource ON search_token (resource_type, id);

CREATE INDEX search_token_lookup ON search_token (resource_type, param, code, system, id);

CREATE TABLE search_date (
    resource_type TEXT NOT NULL,
    id TEXT NOT NULL,
    param TEXT NOT NULL,
    low TEXT,
    high TEXT
);

CREATE INDEX search_date_resource ON search_date (resource_type, id);

CREATE INDEX search_date_lookup ON search_date (resource_type, param, low, id);

CREATE TABLE search_number (
    resource_type TEXT NOT NULL,
    id TEXT NOT NULL,
    param TEXT NOT NULL,
    value REAL
);

CREATE INDEX search_number_resource ON search_number (resource_type, id);

CREATE INDEX search_number_lookup ON search_number (resource_type, param, value, id);

CREATE TABLE search_quantity (
    resource_type TEXT NOT NULL,
    id TEXT NOT NULL,
    param TEXT NOT NULL,
    system TEXT,
    code TEXT,
    value REAL,
    canonical_code TEXT,
    canonical_value REAL
);

CREATE INDEX search_quantity_resource ON search_quantity (resource_type, id);

CREATE INDEX search_quantity_lookup ON search_quantity (resource_type, param, value, id);

CREATE TABLE search_reference (
    resource_type TEXT NOT NULL,
    id TEXT NOT NULL,
    param TEXT NOT NULL,
    target_type TEXT,
    target_id TEXT,
    url TEXT
);

CREATE INDEX search_reference_resource ON search_reference (resource_type, id);

CREATE INDEX search_reference_lookup ON search_reference (resource_type, param, target_id, id);

CREATE TABLE search_uri (
    resource_type TEXT NOT NULL,
    id TEXT NOT NULL,
    param TEXT NOT NULL,
    value TEXT
);

CREATE INDEX search_uri_resource ON search_uri (resource_type, id);

CREATE INDEX search_uri_lookup ON search_uri (resource_type, param, value, id);

CREATE TABLE search_text (
    resource_type TEXT NOT NULL,
    id TEXT NOT NULL,
    param TEXT NOT NULL,
    content TEXT
);

CREATE INDEX search_text_resource ON search_text (resource_type, id);

CREATE INDEX search_date_high ON search_date (resource_type, param, high, id);

CREATE INDEX search_reference_target ON search_reference (target_type, target_id, param, resource_type);
