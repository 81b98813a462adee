"""The shared kernel: infrastructure every context uses and that imports no context."""

__all__: list[str] = []
