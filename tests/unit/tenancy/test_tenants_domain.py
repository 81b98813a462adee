import pytest
from hypothesis import given
from hypothesis import strategies as st

from phantom.tenancy.domain.errors import InvalidField
from phantom.tenancy.domain.tenants import (
    DEFAULT_QUOTAS,
    Isolation,
    Quotas,
    parse_isolation,
    parse_status,
    tenant_stream,
    validate_slug,
    validate_tenant_name,
)


@pytest.mark.parametrize(
    "slug", ["abc", "acme", "acme-corp", "a1-b2-c3", "x" * 40, "9lives"]
)
def test_valid_slugs_are_accepted_unchanged(slug: str) -> None:
    assert validate_slug(slug) == slug


@pytest.mark.parametrize(
    "slug",
    [
        "ab",
        "x" * 41,
        "Acme",
        "-acme",
        "acme-",
        "ac me",
        "acme_corp",
        "acme.corp",
        "../etc",
        "acme\n",
        "\nacme",
        "acmé",
        "\u0430cme",  # Cyrillic a
        "<script>",
        "acme;drop",
        "",
        "acme\x00",
        None,
        42,
    ],
)
def test_hostile_or_malformed_slugs_are_refused_naming_the_field(slug: object) -> None:
    with pytest.raises(InvalidField) as caught:
        validate_slug(slug)
    assert caught.value.field == "slug"
    assert caught.value.status == 422


@given(st.text(max_size=60))
def test_slug_validation_accepts_exactly_the_documented_language(text: str) -> None:
    allowed = set("abcdefghijklmnopqrstuvwxyz0123456789-")
    expected = (
        3 <= len(text) <= 40
        and set(text) <= allowed
        and not text.startswith("-")
        and not text.endswith("-")
    )
    try:
        validate_slug(text)
    except InvalidField:
        assert not expected
    else:
        assert expected


@pytest.mark.parametrize(
    "name",
    [
        "",
        "   ",
        "x" * 101,
        "evil\u202etxt.exe",  # right-to-left override
        "zero\u200bwidth",
        "line\nbreak",
        "tab\there",
        "bell\x07",
        "null\x00",
        None,
    ],
)
def test_hostile_names_are_refused_naming_the_field(name: object) -> None:
    with pytest.raises(InvalidField) as caught:
        validate_tenant_name(name)
    assert caught.value.field == "name"


def test_names_are_trimmed_and_may_be_any_printable_text() -> None:
    assert validate_tenant_name("  Acme Ünited 🚀 ") == "Acme Ünited 🚀"


@given(st.text(max_size=500))
def test_name_validation_raises_only_invalid_field(text: str) -> None:
    try:
        cleaned = validate_tenant_name(text)
    except InvalidField as exc:
        field = exc.field
    else:
        field = None
        assert 1 <= len(cleaned) <= 100
        assert cleaned == cleaned.strip()
    assert field in {None, "name"}


def test_only_row_isolation_is_available_now() -> None:
    assert parse_isolation("row") is Isolation.ROW


@pytest.mark.parametrize("level", ["schema", "database"])
def test_schema_and_database_isolation_are_not_available_yet(level: str) -> None:
    with pytest.raises(InvalidField, match="not available yet") as caught:
        parse_isolation(level)
    assert caught.value.field == "isolation"


def test_unknown_isolation_is_refused() -> None:
    with pytest.raises(InvalidField, match="unknown isolation"):
        parse_isolation("cluster")


def test_status_parses_or_names_the_field() -> None:
    assert parse_status("disabled").value == "disabled"
    with pytest.raises(InvalidField, match="status"):
        parse_status("paused")


@pytest.mark.parametrize(
    ("users", "keys", "field"),
    [(0, 1, "max_users"), (1, 0, "max_api_keys"), (10**7, 1, "max_users")],
)
def test_quotas_are_bounded(users: int, keys: int, field: str) -> None:
    with pytest.raises(InvalidField) as caught:
        Quotas(max_users=users, max_api_keys=keys)
    assert caught.value.field == field


def test_default_quotas_are_sensible() -> None:
    assert DEFAULT_QUOTAS.max_users >= 1
    assert DEFAULT_QUOTAS.max_api_keys >= DEFAULT_QUOTAS.max_users


def test_each_tenant_has_one_stream() -> None:
    assert tenant_stream("t1") == "tenant-t1"
    assert tenant_stream("t1") != tenant_stream("t2")
