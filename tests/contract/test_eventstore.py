"""The event store contract on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
from hypothesis.stateful import run_state_machine_as_test

from phantom.testing.contracts.eventstore import EventStoreContract, event_store_machine
from tests.conftest import DatabaseFactory


class TestEventStore(EventStoreContract):
    """Runs the contract on every backend of the ``database`` fixture."""


def test_event_store_matches_its_model_under_concurrency(
    databases: DatabaseFactory,
) -> None:
    db = databases()
    machine = event_store_machine(lambda: db)
    run_state_machine_as_test(machine, settings=machine.TestCase.settings)


@pytest.mark.parametrize("url", ["mysql://x/y", "nosuch://"])
def test_unknown_database_scheme_names_the_known_ones(url: str) -> None:
    from phantom.kernel.db.engine import open_database
    from phantom.kernel.errors import ConfigError

    with pytest.raises(ConfigError, match="postgresql://, sqlite://"):
        open_database("x", url)
