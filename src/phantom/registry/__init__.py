"""The model registry: models, versions, aliases, lineage and safe model formats."""

__all__: list[str] = []
