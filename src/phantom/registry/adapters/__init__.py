"""The registry context's adapters: the SQL store and its inline projector."""

__all__: list[str] = []
