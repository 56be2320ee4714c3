-- Search index tables, one per search-parameter type (docs/dev/search.md).
-- Rows are replaced whenever a resource is written or deleted, in the same transaction.
-- Keys: (resource_type, id) to replace a resource's rows; (resource_type, param, value)
-- for searching. Dates are half-open UTC ranges as fixed-width ISO text (low, high).

CREATE TABLE search_string (
    resource_type TEXT COLLATE "C" NOT NULL,
    id TEXT COLLATE "C" NOT NULL,
    param TEXT COLLATE "C" NOT NULL,
    norm TEXT COLLATE "C",
    exact TEXT COLLATE "C"
);

CREATE INDEX search_string_resource ON search_string (resource_type, id);

CREATE INDEX search_string_lookup ON search_string (resource_type, param, norm, id);

CREATE TABLE search_token (
    resource_type TEXT COLLATE "C" NOT NULL,
    id TEXT COLLATE "C" NOT NULL,
    param TEXT COLLATE "C" NOT NULL,
    system TEXT COLLATE "C",
    code TEXT COLLATE "C",
    display TEXT COLLATE "C"
);

CREATE INDEX search_token_resource ON search_token (resource_type, id);

CREATE INDEX search_token_lookup ON search_token (resource_type, param, code, system, id);

CREATE TABLE search_date (
    resource_type TEXT COLLATE "C" NOT NULL,
    id TEXT COLLATE "C" NOT NULL,
    param TEXT COLLATE "C" NOT NULL,
    low TEXT COLLATE "C",
    high TEXT COLLATE "C"
);

CREATE INDEX search_date_resource ON search_date (resource_type, id);

CREATE INDEX search_date_lookup ON search_date (resource_type, param, low, id);

CREATE TABLE search_number (
    resource_type TEXT COLLATE "C" NOT NULL,
    id TEXT COLLATE "C" NOT NULL,
    param TEXT COLLATE "C" NOT NULL,
    value DOUBLE PRECISION
);

CREATE INDEX search_number_resource ON search_number (resource_type, id);

CREATE INDEX search_number_lookup ON search_number (resource_type, param, value, id);

CREATE TABLE search_quantity (
    resource_type TEXT COLLATE "C" NOT NULL,
    id TEXT COLLATE "C" NOT NULL,
    param TEXT COLLATE "C" NOT NULL,
    system TEXT COLLATE "C",
    code TEXT COLLATE "C",
    value DOUBLE PRECISION,
    canonical_code TEXT COLLATE "C",
    canonical_value DOUBLE PRECISION
);

CREATE INDEX search_quantity_resource ON search_quantity (resource_type, id);

CREATE INDEX search_quantity_lookup ON search_quantity (resource_type, param, value, id);

CREATE TABLE search_reference (
    resource_type TEXT COLLATE "C" NOT NULL,
    id TEXT COLLATE "C" NOT NULL,
    param TEXT COLLATE "C" NOT NULL,
    target_type TEXT COLLATE "C",
    target_id TEXT COLLATE "C",
    url TEXT COLLATE "C"
);

CREATE INDEX search_reference_resource ON search_reference (resource_type, id);

CREATE INDEX search_reference_lookup ON search_reference (resource_type, param, target_id, id);

CREATE TABLE search_uri (
    resource_type TEXT COLLATE "C" NOT NULL,
    id TEXT COLLATE "C" NOT NULL,
    param TEXT COLLATE "C" NOT NULL,
    value TEXT COLLATE "C"
);

CREATE INDEX search_uri_resource ON search_uri (resource_type, id);

CREATE INDEX search_uri_lookup ON search_uri (resource_type, param, value, id);

CREATE TABLE search_text (
    resource_type TEXT COLLATE "C" NOT NULL,
    id TEXT COLLATE "C" NOT NULL,
    param TEXT COLLATE "C" NOT NULL,
    content TEXT COLLATE "C"
);

CREATE INDEX search_text_resource ON search_text (resource_type, id);

CREATE INDEX search_date_high ON search_date (resource_type, param, high, id);

CREATE INDEX search_reference_target ON search_reference (target_type, target_id, param, resource_type);
