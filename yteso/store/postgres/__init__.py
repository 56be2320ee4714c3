"""SQL files of the PostgreSQL backend (``queries.sql``, ``migrations/``)."""
