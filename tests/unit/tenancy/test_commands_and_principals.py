import pytest
from pydantic import ValidationError

from phantom.tenancy.api import PLATFORM_TENANT, Principal, system_principal
from phantom.tenancy.commands import CreateApiKey, CreateTenant, CreateUser, UpdateUser
from phantom.tenancy.domain.errors import PermissionDenied, TenantNotFound
from phantom.tenancy.domain.principals import require, target_tenant


def test_commands_refuse_unknown_fields() -> None:
    with pytest.raises(ValidationError, match="extra"):
        CreateUser.model_validate({"email": "a@b.io", "is_platform_admin": True})
    with pytest.raises(ValidationError):
        UpdateUser.model_validate({"user_id": "u", "email": "new@b.io"})


def test_commands_bound_sizes() -> None:
    with pytest.raises(ValidationError):
        CreateTenant(name="x" * 401, slug="acme", owner_email="a@b.io")
    with pytest.raises(ValidationError):
        CreateApiKey(name="k", scopes=["predict"] * 65)
    with pytest.raises(ValidationError):
        CreateTenant(name="A", slug="acme", owner_email="a@b.io", max_users=0)


def test_commands_are_frozen() -> None:
    cmd = CreateUser(email="a@b.io")
    with pytest.raises(ValidationError):
        cmd.role = "owner"


def _principal(**changes: object) -> Principal:
    fields: dict[str, object] = {
        "tenant_id": "t1",
        "role": "viewer",
        "permissions": frozenset({"models:read"}),
        "via": "api_key",
        "user_id": "u1",
        "key_id": "k1",
    }
    fields.update(changes)
    return Principal(**fields)  # type: ignore[arg-type]


def test_a_principal_answers_has_and_maps_to_an_actor() -> None:
    principal = _principal()
    assert principal.has("models:read")
    assert not principal.has("models:write")
    assert not principal.is_platform_admin
    actor = principal.actor()
    assert (actor.kind, actor.id, actor.via) == ("user", "u1", "api_key")
    assert _principal(role="service").actor().kind == "service"


def test_principals_are_frozen() -> None:
    with pytest.raises(AttributeError):
        _principal().role = "owner"  # type: ignore[misc]


def test_the_system_principal_is_a_platform_admin_of_no_tenant() -> None:
    system = system_principal()
    assert system.is_platform_admin
    assert system.tenant_id == PLATFORM_TENANT
    assert system.actor().kind == "system"


def test_require_names_the_missing_permission() -> None:
    with pytest.raises(PermissionDenied) as caught:
        require(_principal(), "users:write")
    assert caught.value.extra["permission"] == "users:write"
    require(_principal(), "models:read")


def test_acting_on_another_tenant_is_not_found_unless_platform_admin() -> None:
    assert target_tenant(_principal(), None) == "t1"
    assert target_tenant(_principal(), "t1") == "t1"
    with pytest.raises(TenantNotFound):
        target_tenant(_principal(), "t2")
    admin = _principal(permissions=frozenset({"platform:admin"}))
    assert target_tenant(admin, "t2") == "t2"
