import contextlib
import hashlib
import hmac
import string
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from phantom.kernel.errors import InvalidInput, Unauthenticated
from phantom.tenancy.domain.errors import AuthenticationFailed, InvalidField
from phantom.tenancy.domain.keys import (
    KEY_LENGTH,
    PREFIX_ALPHABET,
    ApiKey,
    KeyHasher,
    generate_key,
    needs_touch,
    parse_key,
    validate_expiry,
    validate_key_name,
)
from tests.unit.tenancy.factories import PEPPER

NOW = datetime(2026, 1, 1, tzinfo=UTC)
URLSAFE = set(string.ascii_letters + string.digits + "-_")


def test_a_generated_key_has_the_documented_shape() -> None:
    key = generate_key()
    scheme, prefix, secret = key.plaintext.split("_", 2)
    assert scheme == "phk"
    assert len(prefix) == 10
    assert set(prefix) <= set(PREFIX_ALPHABET)
    assert len(secret) == 43
    assert set(secret) <= URLSAFE
    assert len(key.plaintext) == KEY_LENGTH == 58


def test_generated_keys_are_random() -> None:
    keys = [generate_key() for _ in range(500)]
    assert len({k.prefix for k in keys}) == 500
    assert len({k.secret for k in keys}) == 500


def test_the_secret_never_shows_in_a_repr() -> None:
    key = generate_key()
    assert key.secret not in repr(key)
    parsed = parse_key(key.plaintext)
    assert parsed.secret not in repr(parsed)


def test_a_generated_key_parses_back() -> None:
    key = generate_key()
    parsed = parse_key(key.plaintext)
    assert (parsed.prefix, parsed.secret) == (key.prefix, key.secret)


def test_secrets_may_contain_underscores() -> None:
    raw = bytes(10) + b"\xff" * 32  # urlsafe base64 of 0xff... is all '_'
    key = generate_key(lambda n: raw[:n])
    assert "_" in key.secret
    assert parse_key(key.plaintext).secret == key.secret


def _mutations() -> list[str]:
    good = generate_key().plaintext
    return [
        "",
        "phk_",
        good[:-1],
        good + "A",
        good.upper(),
        "phx" + good[3:],
        "PHK" + good[3:],
        good.replace("_", "-", 1),
        good[:4] + "ABCDEFGHIJ" + good[14:],  # upper-case prefix
        good[:4] + "0189000000" + good[14:],  # digits outside base32
        good[:-1] + "=",
        good[:-1] + "é",
        good[:-1] + "\n",
        " " + good[1:],
        good[:20] + "\x00" + good[21:],
        "phk_" + "a" * 10 + "_" + "A" * 10_000,
        "Bearer " + good,
    ]


_MUTATION_IDS = [
    "empty",
    "prefix-only",
    "short",
    "long",
    "upper",
    "wrong-prefix",
    "upper-prefix",
    "dash",
    "upper-id",
    "digits-id",
    "padding",
    "non-ascii",
    "newline",
    "space",
    "nul",
    "huge",
    "bearer",
]


@pytest.mark.parametrize("presented", _mutations(), ids=_MUTATION_IDS)
def test_malformed_keys_are_refused_before_any_lookup(presented: str) -> None:
    with pytest.raises(AuthenticationFailed) as caught:
        parse_key(presented)
    assert caught.value.reason == "malformed-key"
    assert str(caught.value) == AuthenticationFailed.GENERIC_DETAIL


@pytest.mark.parametrize("presented", [None, 42, b"phk_", ["phk"], object()])
def test_non_strings_are_refused(presented: object) -> None:
    with pytest.raises(AuthenticationFailed):
        parse_key(presented)


@given(
    st.one_of(st.text(max_size=120), st.binary(max_size=80), st.none(), st.integers())
)
def test_parsing_arbitrary_input_raises_only_unauthenticated(presented: object) -> None:
    with contextlib.suppress(Unauthenticated):
        parse_key(presented)


@given(
    st.text(alphabet=PREFIX_ALPHABET + "ABZ019_-=", min_size=10, max_size=10),
    st.text(min_size=40, max_size=46),
)
def test_near_valid_keys_raise_only_unauthenticated(prefix: str, secret: str) -> None:
    try:
        parsed = parse_key(f"phk_{prefix}_{secret}")
    except Unauthenticated:
        return
    assert set(parsed.prefix) <= set(PREFIX_ALPHABET)
    assert set(parsed.secret) <= URLSAFE


def test_the_hash_is_hmac_sha256_of_the_secret_under_the_pepper() -> None:
    key = generate_key()
    expected = hmac.new(PEPPER, key.secret.encode(), hashlib.sha256).hexdigest()
    assert KeyHasher(PEPPER).hash(key.secret) == expected


def test_verification_accepts_only_the_right_secret() -> None:
    hasher = KeyHasher(PEPPER)
    key, other = generate_key(), generate_key()
    stored = hasher.hash(key.secret)
    assert hasher.verify(key.secret, stored)
    assert not hasher.verify(other.secret, stored)
    assert not hasher.verify(key.secret, None)
    assert not hasher.verify(key.secret, "")
    assert not hasher.verify(key.secret, "é" * 64)


def test_another_pepper_gives_another_hash() -> None:
    secret = generate_key().secret
    assert KeyHasher(PEPPER).hash(secret) != KeyHasher(b"q" * 32).hash(secret)


def test_a_short_pepper_is_refused_and_never_shown() -> None:
    with pytest.raises(ValueError, match="32 bytes"):
        KeyHasher(b"short")
    assert PEPPER.decode() not in repr(KeyHasher(PEPPER))


def _key(**changes: object) -> ApiKey:
    fields: dict[str, object] = {
        "tenant_id": "t",
        "id": "k",
        "user_id": "u",
        "prefix": "abcdefghij",
        "name": "ci",
        "scopes": None,
        "created_at": NOW,
    }
    fields.update(changes)
    return ApiKey(**fields)  # type: ignore[arg-type]


def test_revoked_and_expired_keys_are_refused() -> None:
    assert _key().refusal(NOW) is None
    assert _key(revoked_at=NOW).refusal(NOW) == "revoked"
    assert _key(expires_at=NOW).refusal(NOW) == "expired"
    assert _key(expires_at=NOW + timedelta(seconds=1)).refusal(NOW) is None
    assert not _key(revoked_at=NOW).active(NOW)


def test_the_hash_never_shows_in_a_repr() -> None:
    assert "deadbeef" not in repr(_key(secret_hash="deadbeef" * 8))


def test_last_used_at_is_due_at_most_once_a_minute() -> None:
    assert needs_touch(None, NOW)
    assert not needs_touch(NOW, NOW + timedelta(seconds=59))
    assert needs_touch(NOW, NOW + timedelta(seconds=60))


def test_expiry_must_be_aware_and_in_the_future() -> None:
    assert validate_expiry(None, NOW) is None
    later = NOW + timedelta(days=1)
    assert validate_expiry(later, NOW) == later
    with pytest.raises(InvalidField, match="future"):
        validate_expiry(NOW, NOW)
    with pytest.raises(InvalidField, match="timezone"):
        validate_expiry(datetime(2030, 1, 1), NOW)  # noqa: DTZ001


def test_key_names_are_labels() -> None:
    assert validate_key_name(" ci ") == "ci"
    with pytest.raises(InvalidInput):
        validate_key_name("\x1b[31mred")
