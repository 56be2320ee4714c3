"""SQL files of the SQLite backend (``queries.sql``, ``migrations/``)."""
