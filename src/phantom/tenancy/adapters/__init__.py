"""Storage adapters of the tenancy context: SQL (SQLite, PostgreSQL) and memory."""

__all__: list[str] = []
