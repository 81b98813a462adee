"""Monitoring: reference profiles, drift reports and performance from feedback."""

__all__: list[str] = []
