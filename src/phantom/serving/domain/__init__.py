"""Serving rules with no I/O: signatures and traffic routing."""

__all__: list[str] = []
