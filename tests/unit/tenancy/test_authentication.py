"""authenticate_key and authenticate_token over the in-memory store."""

from contextlib import AbstractContextManager
from datetime import timedelta

import pytest
from structlog.testing import capture_logs

from phantom.kernel.clock import FixedClock
from phantom.tenancy.adapters.memory import InMemoryTenancyUnitOfWork
from phantom.tenancy.api import CreatedTenant, Principal, system_principal
from phantom.tenancy.commands import (
    CreateApiKey,
    RevokeApiKey,
    UpdateTenant,
    UpdateUser,
)
from phantom.tenancy.domain.errors import AuthenticationFailed
from phantom.tenancy.domain.keys import generate_key
from phantom.tenancy.ports import TenancyTransaction
from phantom.tenancy.service import TenancyService
from tests.unit.tenancy.factories import add_user, claims, hs256, make_service, rs256


def _plaintext(created: CreatedTenant) -> str:
    return created.owner_key.plaintext.get_secret_value()


def _refused(call: object, *args: object) -> AuthenticationFailed:
    with pytest.raises(AuthenticationFailed) as caught:
        call(*args)  # type: ignore[operator]
    assert str(caught.value) == AuthenticationFailed.GENERIC_DETAIL
    assert caught.value.extra == {}
    return caught.value


def test_the_owner_key_authenticates_as_the_owner(
    service: TenancyService, acme: CreatedTenant
) -> None:
    principal = service.authenticate_key(_plaintext(acme))
    assert principal.tenant_id == acme.tenant.id
    assert principal.user_id == acme.owner.id
    assert principal.key_id == acme.owner_key.key.id
    assert principal.role == "owner"
    assert principal.via == "api_key"
    assert principal.has("tenant:admin")
    assert not principal.is_platform_admin


def test_a_wrong_secret_is_refused(
    service: TenancyService, acme: CreatedTenant
) -> None:
    prefix = acme.owner_key.key.prefix
    forged = f"phk_{prefix}_{generate_key().secret}"
    assert _refused(service.authenticate_key, forged).reason == "wrong-secret"


def test_an_unknown_prefix_is_refused(
    service: TenancyService, acme: CreatedTenant
) -> None:
    assert (
        _refused(service.authenticate_key, generate_key().plaintext).reason
        == "unknown-key"
    )


class _NoStore:
    def transaction(
        self, tenant_id: str | None, *, write: bool = False
    ) -> AbstractContextManager[TenancyTransaction]:
        raise AssertionError("malformed keys must not reach the store")


@pytest.mark.parametrize(
    "presented", ["", "phk_", "Bearer x", "phk_" + "a" * 5000, "ключ"]
)
def test_malformed_keys_never_reach_the_store(
    clock: FixedClock, presented: str
) -> None:
    service = make_service(_NoStore(), clock)
    assert _refused(service.authenticate_key, presented).reason == "malformed-key"


def test_a_revoked_key_is_refused(
    service: TenancyService, acme: CreatedTenant, owner: Principal
) -> None:
    created = service.create_key(CreateApiKey(name="ci"), owner)
    service.revoke_key(RevokeApiKey(key_id=created.key.id), owner)
    reason = _refused(
        service.authenticate_key, created.plaintext.get_secret_value()
    ).reason
    assert reason == "revoked"


def test_an_expired_key_is_refused(
    service: TenancyService, clock: FixedClock, owner: Principal
) -> None:
    created = service.create_key(
        CreateApiKey(name="ci", expires_at=clock.now() + timedelta(hours=1)), owner
    )
    plaintext = created.plaintext.get_secret_value()
    assert service.authenticate_key(plaintext).key_id == created.key.id
    clock.advance(timedelta(hours=1))
    assert _refused(service.authenticate_key, plaintext).reason == "expired"


def test_a_disabled_users_key_is_refused_until_re_enabled(
    service: TenancyService, owner: Principal
) -> None:
    user_id = add_user(service, owner, "eng@acme.example", "ml-engineer")
    plaintext = service.create_key(
        CreateApiKey(name="laptop", user_id=user_id), owner
    ).plaintext.get_secret_value()
    service.update_user(UpdateUser(user_id=user_id, disabled=True), owner)
    assert _refused(service.authenticate_key, plaintext).reason == "user-disabled"
    service.update_user(UpdateUser(user_id=user_id, disabled=False), owner)
    assert service.authenticate_key(plaintext).user_id == user_id


def test_a_disabled_tenants_keys_are_refused(
    service: TenancyService, acme: CreatedTenant
) -> None:
    service.update_tenant(
        UpdateTenant(tenant_id=acme.tenant.id, status="disabled"), system_principal()
    )
    assert (
        _refused(service.authenticate_key, _plaintext(acme)).reason == "tenant-disabled"
    )


def test_a_key_acts_with_its_users_current_role_narrowed_by_scopes(
    service: TenancyService, owner: Principal
) -> None:
    user_id = add_user(service, owner, "eng@acme.example", "ml-engineer")
    plaintext = service.create_key(
        CreateApiKey(name="ci", user_id=user_id, scopes=["predict", "models:read"]),
        owner,
    ).plaintext.get_secret_value()
    assert service.authenticate_key(plaintext).permissions == {"predict", "models:read"}
    service.update_user(UpdateUser(user_id=user_id, role="viewer"), owner)
    assert service.authenticate_key(plaintext).permissions == {"models:read"}


def test_last_used_at_is_updated_at_most_once_a_minute(
    service: TenancyService,
    uow: InMemoryTenancyUnitOfWork,
    clock: FixedClock,
    acme: CreatedTenant,
    owner: Principal,
) -> None:
    def last_used() -> object:
        return service.list_keys(owner).items[0].last_used_at

    first = clock.now()
    assert last_used() == first  # the owner fixture authenticated once
    clock.advance(timedelta(seconds=30))
    service.authenticate_key(_plaintext(acme))
    assert last_used() == first
    clock.advance(timedelta(seconds=30))
    service.authenticate_key(_plaintext(acme))
    assert last_used() == clock.now()


def test_refusals_are_logged_with_a_reason_but_never_the_secret(
    service: TenancyService, acme: CreatedTenant
) -> None:
    forged = f"phk_{acme.owner_key.key.prefix}_{generate_key().secret}"
    with capture_logs() as logs:
        _refused(service.authenticate_key, forged)
    (entry,) = [e for e in logs if e["event"] == "tenancy.auth.refused"]
    assert entry["reason"] == "wrong-secret"
    assert entry["prefix"] == acme.owner_key.key.prefix
    assert forged.split("_", 2)[2] not in repr(logs)


def test_every_refusal_looks_the_same_to_the_caller(
    service: TenancyService, acme: CreatedTenant, owner: Principal
) -> None:
    revoked = service.create_key(CreateApiKey(name="old"), owner)
    service.revoke_key(RevokeApiKey(key_id=revoked.key.id), owner)
    presented = [
        "garbage",
        generate_key().plaintext,
        f"phk_{acme.owner_key.key.prefix}_{generate_key().secret}",
        revoked.plaintext.get_secret_value(),
    ]
    details = {str(_refused(service.authenticate_key, p)) for p in presented}
    assert details == {AuthenticationFailed.GENERIC_DETAIL}


# --- tokens -------------------------------------------------------------------


def _now(clock: FixedClock) -> float:
    return clock.now().timestamp()


def test_a_token_authenticates_as_its_stored_user(
    service: TenancyService, clock: FixedClock, acme: CreatedTenant
) -> None:
    token = hs256(claims(sub=acme.owner.id, tenant_id=acme.tenant.id, now=_now(clock)))
    principal = service.authenticate_token(token)
    assert (principal.user_id, principal.role, principal.via) == (
        acme.owner.id,
        "owner",
        "token",
    )
    assert principal.key_id is None


def test_token_scopes_narrow_and_never_add(
    service: TenancyService, clock: FixedClock, owner: Principal, acme: CreatedTenant
) -> None:
    viewer_id = add_user(service, owner, "v@acme.example", "viewer")
    token = rs256(
        claims(
            sub=viewer_id,
            tenant_id=acme.tenant.id,
            now=_now(clock),
            scopes=["models:read", "users:write", "platform:admin"],
        )
    )
    assert service.authenticate_token(token).permissions == {"models:read"}


def test_a_token_for_an_unknown_tenant_is_refused(
    service: TenancyService, clock: FixedClock, acme: CreatedTenant
) -> None:
    token = hs256(
        claims(sub=acme.owner.id, tenant_id="no-such-tenant", now=_now(clock))
    )
    assert _refused(service.authenticate_token, token).reason == "unknown-tenant"


def test_a_token_for_another_tenants_user_is_refused(
    service: TenancyService, clock: FixedClock, acme: CreatedTenant
) -> None:
    from tests.unit.tenancy.factories import new_tenant

    globex = new_tenant(service, "globex", email="boss@globex.example")
    token = hs256(
        claims(sub=globex.owner.id, tenant_id=acme.tenant.id, now=_now(clock))
    )
    assert _refused(service.authenticate_token, token).reason == "unknown-user"


def test_a_token_of_a_disabled_user_is_refused(
    service: TenancyService, clock: FixedClock, owner: Principal, acme: CreatedTenant
) -> None:
    user_id = add_user(service, owner, "e@acme.example", "ml-engineer")
    service.update_user(UpdateUser(user_id=user_id, disabled=True), owner)
    token = hs256(claims(sub=user_id, tenant_id=acme.tenant.id, now=_now(clock)))
    assert _refused(service.authenticate_token, token).reason == "user-disabled"


def test_a_token_of_a_disabled_tenant_is_refused(
    service: TenancyService, clock: FixedClock, acme: CreatedTenant
) -> None:
    service.update_tenant(
        UpdateTenant(tenant_id=acme.tenant.id, status="disabled"), system_principal()
    )
    token = hs256(claims(sub=acme.owner.id, tenant_id=acme.tenant.id, now=_now(clock)))
    assert _refused(service.authenticate_token, token).reason == "tenant-disabled"


def test_a_token_with_a_stale_role_claim_is_refused(
    service: TenancyService, clock: FixedClock, owner: Principal, acme: CreatedTenant
) -> None:
    user_id = add_user(service, owner, "a@acme.example", "admin")
    token = hs256(
        claims(sub=user_id, tenant_id=acme.tenant.id, now=_now(clock), role="admin")
    )
    assert service.authenticate_token(token).role == "admin"
    service.update_user(UpdateUser(user_id=user_id, role="viewer"), owner)
    assert _refused(service.authenticate_token, token).reason == "stale-role"


def test_a_claimed_role_never_elevates(
    service: TenancyService, clock: FixedClock, owner: Principal, acme: CreatedTenant
) -> None:
    viewer_id = add_user(service, owner, "v@acme.example")
    token = hs256(
        claims(sub=viewer_id, tenant_id=acme.tenant.id, now=_now(clock), role="owner")
    )
    assert _refused(service.authenticate_token, token).reason == "stale-role"


def test_an_expired_token_is_refused_by_the_injected_clock(
    service: TenancyService, clock: FixedClock, acme: CreatedTenant
) -> None:
    token = hs256(claims(sub=acme.owner.id, tenant_id=acme.tenant.id, now=_now(clock)))
    clock.advance(timedelta(hours=1))
    assert _refused(service.authenticate_token, token).reason == "expired"


def test_platform_admin_comes_from_the_user_never_from_claims(
    service: TenancyService, clock: FixedClock
) -> None:
    from tests.unit.tenancy.factories import new_tenant

    ops = new_tenant(service, "ops", platform_admin=True, email="root@ops.example")
    token = hs256(claims(sub=ops.owner.id, tenant_id=ops.tenant.id, now=_now(clock)))
    assert service.authenticate_token(token).is_platform_admin
