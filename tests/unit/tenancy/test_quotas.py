import threading
from datetime import timedelta

import pytest

from phantom.kernel.clock import FixedClock
from phantom.kernel.errors import Forbidden, QuotaExceeded, problem_body
from phantom.tenancy.adapters.memory import InMemoryTenancyUnitOfWork
from phantom.tenancy.api import Principal
from phantom.tenancy.commands import CreateApiKey, CreateUser, RevokeApiKey
from phantom.tenancy.domain.errors import QuotaReached
from phantom.tenancy.domain.quotas import MAX_USERS, check_quota
from phantom.tenancy.service import TenancyService
from tests.unit.tenancy.factories import add_user, new_tenant, owner_of


def test_a_quota_allows_up_to_its_limit() -> None:
    assert check_quota(MAX_USERS, limit=3, current=2) is None
    refusal = check_quota(MAX_USERS, limit=3, current=3)
    assert refusal is not None
    assert (refusal.quota, refusal.limit, refusal.current) == ("max_users", 3, 3)


def test_a_refusal_is_a_403_naming_the_quota_and_its_limit() -> None:
    error = QuotaReached("max_users", 3)
    assert isinstance(error, QuotaExceeded)
    assert not isinstance(error, Forbidden)
    body = problem_body(error)
    assert body["status"] == 403
    assert (body["quota"], body["limit"]) == ("max_users", 3)
    assert body["code"] == "quota-reached"


def test_the_user_quota_refuses_the_next_user_and_records_only_the_refusal(
    service: TenancyService, uow: InMemoryTenancyUnitOfWork
) -> None:
    owner = owner_of(service, new_tenant(service, "acme", max_users=2))
    add_user(service, owner, "second@acme.example")
    before = uow.events
    with pytest.raises(QuotaReached) as caught:
        add_user(service, owner, "third@acme.example")
    assert (caught.value.quota, caught.value.limit) == ("max_users", 2)
    new = uow.events[len(before) :]
    assert [e.type for e in new] == ["tenancy.QuotaRefused"]
    assert new[0].data == {
        "quota": "max_users",
        "limit": 2,
        "current": 2,
        "requested": 1,
        "action": "users.create",
    }
    assert new[0].actor.id == owner.user_id
    assert service.get_tenant(owner).usage.users == 2


def test_the_key_quota_counts_active_keys_only(
    service: TenancyService, clock: FixedClock
) -> None:
    owner = owner_of(service, new_tenant(service, "acme", max_api_keys=2))
    expiring = service.create_key(
        CreateApiKey(name="short", expires_at=clock.now() + timedelta(minutes=1)), owner
    )
    with pytest.raises(QuotaReached, match="max_api_keys"):
        service.create_key(CreateApiKey(name="third"), owner)
    clock.advance(timedelta(minutes=1))
    replacement = service.create_key(CreateApiKey(name="replacement"), owner)
    service.revoke_key(RevokeApiKey(key_id=replacement.key.id), owner)
    service.create_key(CreateApiKey(name="after-revoke"), owner)
    assert expiring.key.id != replacement.key.id


def test_concurrent_creation_never_exceeds_the_quota(
    service: TenancyService,
) -> None:
    owner = owner_of(service, new_tenant(service, "acme", max_users=5))
    outcomes: list[str] = []
    lock = threading.Lock()

    def create(i: int, actor: Principal) -> None:
        try:
            service.create_user(CreateUser(email=f"u{i}@acme.example"), actor)
            result = "created"
        except QuotaReached:
            result = "refused"
        with lock:
            outcomes.append(result)

    threads = [threading.Thread(target=create, args=(i, owner)) for i in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert outcomes.count("created") == 4
    assert outcomes.count("refused") == 8
    assert service.get_tenant(owner).usage.users == 5
