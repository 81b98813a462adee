"""Adapters of the audit context: SQL tables and the signing key file."""

__all__: list[str] = []
