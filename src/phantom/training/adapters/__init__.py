"""The training context's adapters: SQL store, dataset profiler."""

__all__: list[str] = []
