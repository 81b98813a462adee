"""Session-wide tables: a 100k-row reference, a drifted and a fresh sample."""

from __future__ import annotations

import pytest

from phantom.monitoring.domain import ReferenceProfile, build_profile

from .tables import Table, numeric_table


@pytest.fixture(scope="session")
def reference() -> Table:
    return numeric_table(1)


@pytest.fixture(scope="session")
def drifted() -> Table:
    return numeric_table(2, shifted=True)


@pytest.fixture(scope="session")
def fresh() -> Table:
    return numeric_table(3)


@pytest.fixture(scope="session")
def profile(reference: Table) -> ReferenceProfile:
    return build_profile(reference)
