"""Online serving: predictions, the model cache, canary and shadow, the deploy saga."""

__all__: list[str] = []
