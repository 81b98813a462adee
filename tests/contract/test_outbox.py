"""The outbox → bus → inbox contract on SQLite and PostgreSQL."""

from phantom.testing.contracts.outbox import OutboxContract


class TestOutbox(OutboxContract):
    """Runs the contract on every backend of the ``databases`` fixture."""
