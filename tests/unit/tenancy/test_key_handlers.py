from datetime import timedelta

import pytest

from phantom.kernel.clock import FixedClock
from phantom.tenancy.adapters.memory import InMemoryTenancyUnitOfWork
from phantom.tenancy.api import CreatedTenant, Principal, system_principal
from phantom.tenancy.commands import CreateApiKey, RevokeApiKey, UpdateUser
from phantom.tenancy.domain.errors import (
    ApiKeyNotFound,
    InvalidField,
    PermissionDenied,
)
from phantom.tenancy.service import TenancyService
from tests.unit.tenancy.factories import add_user, new_tenant, owner_of


def _key_for(
    service: TenancyService, owner: Principal, user_id: str, **extra: object
) -> Principal:
    cmd = CreateApiKey.model_validate({"name": "k", "user_id": user_id, **extra})
    created = service.create_key(cmd, owner)
    return service.authenticate_key(created.plaintext.get_secret_value())


def test_a_key_is_for_the_caller_by_default(
    service: TenancyService, owner: Principal, acme: CreatedTenant
) -> None:
    created = service.create_key(CreateApiKey(name="laptop"), owner)
    assert created.key.user_id == acme.owner.id
    assert created.key.name == "laptop"
    assert created.key.scopes is None
    assert "secret" not in created.key.model_dump()
    assert "hash" not in str(created.key.model_dump())


def test_keys_listed_never_show_secrets(
    service: TenancyService, owner: Principal
) -> None:
    created = service.create_key(CreateApiKey(name="ci"), owner)
    plaintext = created.plaintext.get_secret_value()
    listing = service.list_keys(owner).model_dump_json()
    assert plaintext.split("_", 2)[2] not in listing
    assert created.key.prefix in listing


def test_the_system_principal_must_name_the_keys_user(
    service: TenancyService, acme: CreatedTenant
) -> None:
    with pytest.raises(InvalidField, match="user_id"):
        service.create_key(
            CreateApiKey(name="x", tenant_id=acme.tenant.id), system_principal()
        )


def test_scoped_keys_hold_only_their_scopes(
    service: TenancyService, owner: Principal
) -> None:
    user_id = add_user(service, owner, "e@acme.example", "ml-engineer")
    principal = _key_for(service, owner, user_id, scopes=["predict"])
    assert principal.permissions == {"predict"}


def test_scopes_the_user_does_not_hold_are_refused(
    service: TenancyService, owner: Principal
) -> None:
    viewer = add_user(service, owner, "v@acme.example")
    with pytest.raises(InvalidField, match="scopes"):
        service.create_key(
            CreateApiKey(name="k", user_id=viewer, scopes=["predict"]), owner
        )
    with pytest.raises(InvalidField, match="unknown"):
        service.create_key(CreateApiKey(name="k", scopes=["everything"]), owner)


def test_nobody_mints_a_key_stronger_than_themselves(
    service: TenancyService, owner: Principal, acme: CreatedTenant
) -> None:
    admin = _key_for(
        service, owner, add_user(service, owner, "a@acme.example", "admin")
    )
    with pytest.raises(PermissionDenied):
        service.create_key(CreateApiKey(name="k", user_id=acme.owner.id), admin)
    narrowed = service.create_key(
        CreateApiKey(name="k", user_id=acme.owner.id, scopes=["models:read"]), admin
    )
    assert narrowed.key.scopes == ["models:read"]


def test_viewers_and_engineers_cannot_create_keys(
    service: TenancyService, owner: Principal
) -> None:
    for role in ("viewer", "ml-engineer", "service"):
        principal = _key_for(
            service, owner, add_user(service, owner, f"{role}@acme.example", role)
        )
        with pytest.raises(PermissionDenied, match="keys:write"):
            service.create_key(CreateApiKey(name="k"), principal)


def test_keys_cannot_be_made_for_a_disabled_user(
    service: TenancyService, owner: Principal
) -> None:
    user_id = add_user(service, owner, "e@acme.example", "ml-engineer")
    service.update_user(UpdateUser(user_id=user_id, disabled=True), owner)
    with pytest.raises(InvalidField, match="disabled"):
        service.create_key(CreateApiKey(name="k", user_id=user_id), owner)


def test_expiry_must_be_in_the_future(
    service: TenancyService, owner: Principal, clock: FixedClock
) -> None:
    with pytest.raises(InvalidField, match="expires_at"):
        service.create_key(CreateApiKey(name="k", expires_at=clock.now()), owner)


def test_revoking_is_idempotent_and_appends_once(
    service: TenancyService,
    uow: InMemoryTenancyUnitOfWork,
    owner: Principal,
    clock: FixedClock,
) -> None:
    created = service.create_key(CreateApiKey(name="ci"), owner)
    revoked = service.revoke_key(RevokeApiKey(key_id=created.key.id), owner)
    assert revoked.revoked_at == clock.now()
    count = len(uow.events)
    clock.advance(timedelta(minutes=5))
    again = service.revoke_key(RevokeApiKey(key_id=created.key.id), owner)
    assert again.revoked_at == revoked.revoked_at
    assert len(uow.events) == count


def test_another_tenants_key_ids_are_not_found(
    service: TenancyService, owner: Principal
) -> None:
    globex = new_tenant(service, "globex", email="o@globex.example")
    with pytest.raises(ApiKeyNotFound):
        service.revoke_key(RevokeApiKey(key_id=globex.owner_key.key.id), owner)
    assert service.authenticate_key(globex.owner_key.plaintext.get_secret_value())
    theirs = service.list_keys(owner_of(service, globex)).items
    assert [k.id for k in service.list_keys(owner).items] != [k.id for k in theirs]


def test_keys_can_be_listed_per_user(service: TenancyService, owner: Principal) -> None:
    user_id = add_user(service, owner, "e@acme.example", "ml-engineer")
    service.create_key(CreateApiKey(name="a", user_id=user_id), owner)
    listed = service.list_keys(owner, user_id=user_id).items
    assert [k.name for k in listed] == ["a"]
