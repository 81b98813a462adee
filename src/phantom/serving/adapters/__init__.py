"""Serving adapters: the SQL store."""

__all__: list[str] = []
