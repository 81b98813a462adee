"""The serving runtime: loaded models, their cache, batching, the prediction log."""

__all__: list[str] = []
