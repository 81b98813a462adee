from datetime import timedelta

import pytest

from phantom.kernel.clock import FixedClock
from phantom.kernel.events.envelope import new_envelope
from phantom.tenancy.adapters.memory import InMemoryTenancyUnitOfWork
from phantom.tenancy.api import Principal
from phantom.tenancy.commands import (
    CreateApiKey,
    DeleteUser,
    RevokeApiKey,
    UpdateUser,
)
from phantom.tenancy.domain.keys import KeyHasher
from phantom.tenancy.events import (
    EVENT_TYPES,
    ApiKeyCreated,
    TenancyEvent,
    UserCreated,
    parse_event,
)
from phantom.tenancy.service import TenancyService
from tests.unit.tenancy.factories import PEPPER, add_user, new_tenant, owner_of


def test_every_event_is_past_tense_and_typed_by_context() -> None:
    assert set(EVENT_TYPES) == {
        "tenancy.TenantCreated",
        "tenancy.TenantUpdated",
        "tenancy.UserCreated",
        "tenancy.UserUpdated",
        "tenancy.UserDeleted",
        "tenancy.ApiKeyCreated",
        "tenancy.ApiKeyRevoked",
        "tenancy.QuotaRefused",
    }
    for name, cls in EVENT_TYPES.items():
        assert name.endswith(("ed", "Deleted"))
        assert cls.SCHEMA_VERSION == 1


def test_no_event_has_a_field_for_a_secret_or_a_hash() -> None:
    for cls in EVENT_TYPES.values():
        for field in cls.model_fields:
            assert "secret" not in field
            assert "hash" not in field
            assert "plaintext" not in field


def test_events_are_frozen_and_refuse_unknown_fields() -> None:
    event = UserCreated(user_id="u", email="e@x.io", display_name="E", role="viewer")
    with pytest.raises(ValueError, match="frozen"):
        event.role = "owner"
    with pytest.raises(ValueError, match="secret_hash"):
        ApiKeyCreated.model_validate(
            {
                "key_id": "k",
                "user_id": "u",
                "prefix": "abcdefghij",
                "name": "n",
                "scopes": None,
                "expires_at": None,
                "secret_hash": "x",
            }
        )


def test_parse_event_ignores_other_contexts() -> None:
    other = new_envelope(
        "registry.ModelRegistered", tenant_id="t", stream_id="s", data={}
    )
    assert parse_event(other) is None
    mine = new_envelope(
        UserCreated.event_type(),
        tenant_id="t",
        stream_id="s",
        data={"user_id": "u", "email": "e@x.io", "display_name": "E", "role": "viewer"},
    )
    assert isinstance(parse_event(mine), TenancyEvent)


def test_every_write_appends_events_that_never_carry_key_material(
    service: TenancyService, uow: InMemoryTenancyUnitOfWork, clock: FixedClock
) -> None:
    created = new_tenant(service, "acme", max_users=3)
    owner: Principal = owner_of(service, created)
    user_id = add_user(service, owner, "e@acme.example", "ml-engineer")
    key = service.create_key(
        CreateApiKey(
            name="ci",
            user_id=user_id,
            scopes=["predict"],
            expires_at=clock.now() + timedelta(days=1),
        ),
        owner,
    )
    service.update_user(UpdateUser(user_id=user_id, role="viewer"), owner)
    service.revoke_key(RevokeApiKey(key_id=key.key.id), owner)
    service.delete_user(DeleteUser(user_id=user_id), owner)
    types = [e.type.split(".")[1] for e in uow.events]
    assert types == [
        "TenantCreated",
        "UserCreated",
        "ApiKeyCreated",
        "UserCreated",
        "ApiKeyCreated",
        "UserUpdated",
        "ApiKeyRevoked",
        "UserDeleted",
    ]
    hasher = KeyHasher(PEPPER)
    everything = repr([e.to_dict() for e in uow.events])
    for plaintext in (
        created.owner_key.plaintext.get_secret_value(),
        key.plaintext.get_secret_value(),
    ):
        secret = plaintext.split("_", 2)[2]
        assert secret not in everything
        assert hasher.hash(secret) not in everything
    assert all(e.actor.kind in {"user", "system"} for e in uow.events)
    assert uow.events[3].actor.id == owner.user_id
    assert uow.events[3].actor.via == "api_key"
