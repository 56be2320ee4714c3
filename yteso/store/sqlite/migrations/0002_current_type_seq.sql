-- Type-level searches without _sort page in write order (seq): an index per type keeps that
-- a range scan even when the type is rare among millions of resources.
CREATE INDEX resource_current_type_seq ON resource_current (resource_type, seq);
