"""Contract suites every adapter of a port must pass."""

__all__: list[str] = []
