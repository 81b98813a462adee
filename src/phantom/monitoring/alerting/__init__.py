"""Alert rules over monitoring metrics, evaluated on a schedule, and webhooks."""

__all__: list[str] = []
