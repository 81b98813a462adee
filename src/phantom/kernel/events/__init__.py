"""Event sourcing: envelopes, the event store, the outbox relay and the inbox."""

__all__: list[str] = []
