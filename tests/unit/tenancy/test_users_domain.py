from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from phantom.tenancy.domain.errors import InvalidField, LastOwner
from phantom.tenancy.domain.roles import Role
from phantom.tenancy.domain.users import (
    User,
    ensure_owner_remains,
    validate_display_name,
    validate_email,
)


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("ada@example.com", "ada@example.com"),
        ("Ada.Lovelace@Example.COM", "ada.lovelace@example.com"),
        ("a+tag@sub.example.co.uk", "a+tag@sub.example.co.uk"),
        ("  x@y.io  ", "x@y.io"),
        ("o'brien@example.ie", "o'brien@example.ie"),
    ],
)
def test_valid_emails_are_lower_cased(raw: str, clean: str) -> None:
    assert validate_email(raw) == clean


@pytest.mark.parametrize(
    "raw",
    [
        "",
        "plain",
        "@example.com",
        "a@",
        "a@b",
        "a@@b.com",
        "a@b@c.com",
        "a..b@example.com",
        ".a@example.com",
        "a.@example.com",
        "a b@example.com",
        "a@exa mple.com",
        "a@-example.com",
        "a@example-.com",
        "a@127.0.0.1",
        '"quoted"@example.com',
        "\u00e4d\u0430@example.com",
        "a@exämple.com",
        "a\n@example.com",
        "x" * 65 + "@example.com",
        "a@" + "b" * 250 + ".com",
        "<script>@example.com",
        None,
        17,
    ],
)
def test_malformed_emails_are_refused_naming_the_field(raw: object) -> None:
    with pytest.raises(InvalidField) as caught:
        validate_email(raw)
    assert caught.value.field == "email"


@given(st.text(max_size=300))
def test_email_validation_raises_only_invalid_field(text: str) -> None:
    try:
        email = validate_email(text)
    except InvalidField as exc:
        field: str | None = exc.field
    else:
        field = None
        assert email == email.lower()
        assert email.count("@") == 1
        assert len(email) <= 254
    assert field in {None, "email"}


def test_display_names_refuse_invisible_characters() -> None:
    assert validate_display_name(" Ada ") == "Ada"
    with pytest.raises(InvalidField) as caught:
        validate_display_name("Ada\u2066")
    assert caught.value.field == "display_name"


def _user(role: Role = Role.OWNER, *, disabled: bool = False) -> User:
    return User(
        tenant_id="t",
        id="u",
        email="u@example.com",
        display_name="U",
        role=role,
        disabled=disabled,
        is_platform_admin=False,
        created_at=datetime(2026, 1, 1, tzinfo=UTC),
    )


def test_the_last_owner_cannot_stop_being_one() -> None:
    owner = _user()
    with pytest.raises(LastOwner):
        ensure_owner_remains(owner, active_owners=1, role=Role.ADMIN, disabled=False)
    with pytest.raises(LastOwner):
        ensure_owner_remains(owner, active_owners=1, role=Role.OWNER, disabled=True)


def test_an_owner_may_step_down_when_another_remains() -> None:
    ensure_owner_remains(_user(), active_owners=2, role=Role.VIEWER, disabled=False)


def test_non_owners_and_unchanged_owners_pass() -> None:
    ensure_owner_remains(
        _user(Role.ADMIN), active_owners=1, role=Role.VIEWER, disabled=True
    )
    ensure_owner_remains(_user(), active_owners=1, role=Role.OWNER, disabled=False)
    ensure_owner_remains(
        _user(disabled=True), active_owners=0, role=Role.VIEWER, disabled=True
    )


def test_user_permissions_follow_role_and_scopes() -> None:
    user = _user(Role.VIEWER)
    assert user.permissions(frozenset({"models:read", "models:write"})) == {
        "models:read"
    }
