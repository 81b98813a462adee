"""Model file formats: recognised by content, loaded only when free of pickles."""

__all__: list[str] = []
