"""Fixtures of the tenancy unit tests: the in-memory store and a fixed clock."""

from __future__ import annotations

import pytest

from phantom.kernel.clock import FixedClock
from phantom.tenancy.adapters.memory import InMemoryTenancyUnitOfWork
from phantom.tenancy.api import CreatedTenant, Principal
from phantom.tenancy.service import TenancyService
from tests.unit.tenancy.factories import make_service, new_tenant, owner_of


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock()


@pytest.fixture
def uow() -> InMemoryTenancyUnitOfWork:
    return InMemoryTenancyUnitOfWork()


@pytest.fixture
def service(uow: InMemoryTenancyUnitOfWork, clock: FixedClock) -> TenancyService:
    return make_service(uow, clock)


@pytest.fixture
def acme(service: TenancyService) -> CreatedTenant:
    return new_tenant(service, "acme")


@pytest.fixture
def owner(service: TenancyService, acme: CreatedTenant) -> Principal:
    return owner_of(service, acme)
