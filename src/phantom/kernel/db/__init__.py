"""Relational databases per context: engines, metadata, migrations, units of work."""

__all__: list[str] = []
