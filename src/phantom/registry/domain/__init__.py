"""The registry context's rules: model names, alias names, alias history."""

__all__: list[str] = []
