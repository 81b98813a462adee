import pytest

from phantom.tenancy.api import (
    ALL_PERMISSIONS,
    PLATFORM_ADMIN,
    ROLE_PERMISSIONS,
    TENANT_PERMISSIONS,
    Permission,
    Role,
)
from phantom.tenancy.domain.errors import InvalidField
from phantom.tenancy.domain.roles import (
    can_grant,
    parse_role,
    parse_scopes,
    permissions_for,
)


def test_the_vocabulary_names_every_platform_permission() -> None:
    expected = {
        "tenant:read",
        "tenant:admin",
        "users:read",
        "users:write",
        "keys:read",
        "keys:write",
        "models:read",
        "models:write",
        "datasets:read",
        "datasets:write",
        "runs:write",
        "jobs:write",
        "deployments:write",
        "predict",
        "monitoring:read",
        "audit:read",
        "privacy:reveal",
        "agents:write",
        "platform:admin",
    }
    assert expected <= ALL_PERMISSIONS
    assert all(isinstance(p, str) and type(p) is str for p in ALL_PERMISSIONS)


def test_every_role_has_an_entry_in_the_one_map() -> None:
    assert set(ROLE_PERMISSIONS) == set(Role)
    assert {role.value for role in Role} == {
        "owner",
        "admin",
        "ml-engineer",
        "viewer",
        "service",
    }


def test_platform_admin_belongs_to_no_tenant_role() -> None:
    for permissions in ROLE_PERMISSIONS.values():
        assert PLATFORM_ADMIN not in permissions
    assert PLATFORM_ADMIN not in TENANT_PERMISSIONS


def test_an_owner_holds_every_tenant_permission() -> None:
    assert ROLE_PERMISSIONS[Role.OWNER] == TENANT_PERMISSIONS


def test_an_admin_holds_everything_but_the_tenant_itself() -> None:
    assert ROLE_PERMISSIONS[Role.ADMIN] == TENANT_PERMISSIONS - {"tenant:admin"}


def test_a_viewer_is_read_only() -> None:
    viewer = ROLE_PERMISSIONS[Role.VIEWER]
    assert viewer
    assert all(p.endswith(":read") for p in viewer)
    assert "predict" not in viewer
    assert not viewer & {"users:read", "keys:read", "audit:read"}


def test_roles_are_ordered_by_what_they_hold() -> None:
    owner, admin = ROLE_PERMISSIONS[Role.OWNER], ROLE_PERMISSIONS[Role.ADMIN]
    engineer = ROLE_PERMISSIONS[Role.ML_ENGINEER]
    assert ROLE_PERMISSIONS[Role.VIEWER] < engineer < admin < owner
    assert ROLE_PERMISSIONS[Role.SERVICE] < engineer
    assert "users:write" not in engineer
    assert "keys:write" not in ROLE_PERMISSIONS[Role.SERVICE]


def test_scopes_narrow_a_role_by_intersection() -> None:
    scopes = frozenset({"models:read", "predict", "users:write"})
    assert permissions_for(Role.ML_ENGINEER, scopes=scopes) == {
        "models:read",
        "predict",
    }
    assert permissions_for(Role.VIEWER, scopes=scopes) == {"models:read"}


def test_platform_admins_get_platform_admin_unless_scoped_away() -> None:
    assert PLATFORM_ADMIN in permissions_for(Role.OWNER, platform_admin=True)
    scoped = permissions_for(
        Role.OWNER, platform_admin=True, scopes=frozenset({"models:read"})
    )
    assert scoped == {"models:read"}


@pytest.mark.parametrize("value", ["Owner", "superuser", "", "owner ", "ml_engineer"])
def test_unknown_roles_are_refused_naming_the_field(value: str) -> None:
    with pytest.raises(InvalidField) as caught:
        parse_role(value)
    assert caught.value.field == "role"
    assert caught.value.extra["errors"][0]["loc"] == ["role"]


def test_roles_parse_from_their_names() -> None:
    assert parse_role("ml-engineer") is Role.ML_ENGINEER


def test_scopes_must_be_known_and_not_empty() -> None:
    assert parse_scopes(None) is None
    assert parse_scopes(["predict", "predict"]) == {"predict"}
    with pytest.raises(InvalidField, match="scopes"):
        parse_scopes([])
    with pytest.raises(InvalidField, match="unknown"):
        parse_scopes(["models:read", "models:delete"])


def test_nobody_grants_more_than_they_hold() -> None:
    admin, owner = ROLE_PERMISSIONS[Role.ADMIN], ROLE_PERMISSIONS[Role.OWNER]
    assert can_grant(owner, admin)
    assert not can_grant(admin, owner)
    assert can_grant(admin, frozenset())


def test_permission_members_compare_equal_to_their_strings() -> None:
    assert Permission.MODELS_WRITE == "models:write"
    assert Permission.MODELS_WRITE in ROLE_PERMISSIONS[Role.ML_ENGINEER]
