"""The monitoring context's adapters: its tables on SQLite or PostgreSQL."""

__all__: list[str] = []
