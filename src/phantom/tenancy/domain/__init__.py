"""The tenancy domain: pure rules, no I/O, no pydantic, no SQLAlchemy."""

__all__: list[str] = []
