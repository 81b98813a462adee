"""Data privacy: PII detection, anonymization policies and the pseudonym vault."""

__all__: list[str] = []
