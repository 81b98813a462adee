"""Test helpers shipped with Phantom: real-service fixtures and port contract suites."""

__all__: list[str] = []
