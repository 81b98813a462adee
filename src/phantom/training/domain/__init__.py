"""The training context's rules: names and limits, run lifecycle, run search."""

__all__: list[str] = []
