import hashlib
import hmac

import pytest

from phantom.privacy.domain import (
    CREDIT_CARD,
    EMAIL,
    Generalize,
    Hash,
    InvalidKey,
    InvalidPolicy,
    Mask,
    Policy,
    PseudonymCollision,
    Pseudonymize,
    Redact,
    Replace,
    anonymize_text,
)
from phantom.privacy.domain.operators import OperatorContext

KEY = b"tenant-a-key-0123456789abcdef"
OTHER_KEY = b"tenant-b-key-0123456789abcdef"


def context(key: bytes = KEY) -> OperatorContext:
    return OperatorContext(key)


def test_mask_replaces_every_character() -> None:
    assert Mask().apply("secret", EMAIL, context()) == "******"
    assert Mask(char="#").apply("ab", EMAIL, context()) == "##"


def test_mask_can_keep_the_last_characters() -> None:
    masked = Mask(keep_last=4).apply("4111 1111 1111 1111", CREDIT_CARD, context())
    assert masked == "*" * 15 + "1111"


def test_mask_never_shows_a_value_no_longer_than_what_it_keeps() -> None:
    assert Mask(keep_last=4).apply("1234", CREDIT_CARD, context()) == "****"
    assert Mask(keep_last=9).apply("12", CREDIT_CARD, context()) == "**"


def test_redact_removes_the_value() -> None:
    assert Redact().apply("jane@example.com", EMAIL, context()) == ""


def test_replace_writes_the_entity_type_or_the_given_text() -> None:
    assert Replace().apply("jane@example.com", EMAIL, context()) == "<EMAIL>"
    assert Replace("[email]").apply("jane@example.com", EMAIL, context()) == "[email]"


def test_hash_is_the_hmac_sha256_of_the_value_under_the_tenant_key() -> None:
    expected = hmac.new(KEY, b"jane@example.com", hashlib.sha256).hexdigest()
    assert Hash().apply("jane@example.com", EMAIL, context()) == expected
    assert Hash(length=12).apply("jane@example.com", EMAIL, context()) == expected[:12]


def test_hash_differs_between_tenants() -> None:
    mine = Hash().apply("jane@example.com", EMAIL, context())
    theirs = Hash().apply("jane@example.com", EMAIL, context(OTHER_KEY))
    assert mine != theirs


def test_pseudonymize_gives_a_typed_token_and_records_the_pair() -> None:
    ctx = context()
    token = Pseudonymize().apply("jane@example.com", EMAIL, ctx)
    assert token.startswith("<EMAIL_")
    assert token.endswith(">")
    assert len(token) == len("<EMAIL_>") + 8
    assert int(token[7:-1], 16) >= 0
    (pseudonym,) = ctx.pseudonyms.values()
    assert (pseudonym.token, pseudonym.value, pseudonym.entity) == (
        token,
        "jane@example.com",
        EMAIL,
    )


def test_pseudonyms_are_consistent_within_a_tenant() -> None:
    first = Pseudonymize().apply("jane@example.com", EMAIL, context())
    again = Pseudonymize().apply("jane@example.com", EMAIL, context())
    other = Pseudonymize().apply("john@example.com", EMAIL, context())
    assert first == again
    assert first != other


def test_pseudonyms_differ_between_tenants() -> None:
    mine = Pseudonymize().apply("jane@example.com", EMAIL, context())
    theirs = Pseudonymize().apply("jane@example.com", EMAIL, context(OTHER_KEY))
    assert mine != theirs


def test_pseudonyms_and_hashes_of_one_value_are_unrelated() -> None:
    token = Pseudonymize(length=64).apply("jane@example.com", EMAIL, context())
    digest = Hash().apply("jane@example.com", EMAIL, context())
    assert digest not in token


def test_one_token_for_two_values_is_a_collision() -> None:
    ctx = context()
    ctx.issue("<EMAIL_00000000>", "a@example.com", EMAIL)
    ctx.issue("<EMAIL_00000000>", "a@example.com", EMAIL)
    with pytest.raises(PseudonymCollision):
        ctx.issue("<EMAIL_00000000>", "b@example.com", EMAIL)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("1987-04-12", "1987-04"),
        ("1987-04-12T10:32:11Z", "1987-04"),
        ("2024-12", "2024-12"),
        ("34", "30-39"),
        ("30", "30-39"),
        ("39.9", "30-39"),
        ("-5", "-10--1"),
        ("unknown", "<AGE>"),
        ("1987-13-01", "<AGE>"),
    ],
)
def test_generalize_coarsens_dates_and_numbers(value: str, expected: str) -> None:
    assert Generalize().apply(value, "AGE", context()) == expected


def test_generalize_takes_a_bucket_width_and_a_date_precision() -> None:
    assert Generalize(bucket=5).number(34) == "30-34"
    assert Generalize(bucket=100).number(1234.5) == "1200-1299"
    assert Generalize(dates="year").apply("1987-04-12", "DOB", context()) == "1987"
    assert Generalize().number(float("inf")) == "inf"
    assert Generalize().number(10**400).startswith("1000")


@pytest.mark.parametrize(
    "make",
    [
        lambda: Mask(char=""),
        lambda: Mask(char="**"),
        lambda: Mask(keep_last=-1),
        lambda: Hash(length=0),
        lambda: Hash(length=65),
        lambda: Pseudonymize(length=4),
        lambda: Generalize(bucket=0),
        lambda: Generalize(dates="day"),  # type: ignore[arg-type]
    ],
)
def test_operators_refuse_bad_options(make: object) -> None:
    with pytest.raises(InvalidPolicy):
        make()  # type: ignore[operator]


@pytest.mark.parametrize("key", [b"", b"short", "a-str-key-0123456789"])
def test_a_short_or_missing_key_is_refused(key: bytes) -> None:
    with pytest.raises(InvalidKey):
        anonymize_text("jane@example.com", key=key)


def test_anonymize_text_applies_the_policy_per_entity() -> None:
    policy = Policy(operators={EMAIL: Pseudonymize(), CREDIT_CARD: Redact()})
    text = "jane@example.com paid with 4111 1111 1111 1111 twice"
    result = anonymize_text(text, policy, key=KEY)
    token = Pseudonymize().apply("jane@example.com", EMAIL, context())
    assert result.text == f"{token} paid with  twice"
    assert [p.token for p in result.pseudonyms] == [token]
    assert [f.entity for f in result.findings] == [EMAIL, CREDIT_CARD]
    assert result.findings[0].text(text) == "jane@example.com"


def test_a_value_seen_twice_gives_one_pseudonym() -> None:
    policy = Policy(operators={EMAIL: Pseudonymize()})
    text = "jane@example.com wrote to jane@example.com"
    result = anonymize_text(text, policy, key=KEY)
    first, _, second = result.text.partition(" wrote to ")
    assert first == second
    assert len(result.pseudonyms) == 1


def test_the_default_policy_masks_cards_hashes_secrets_and_replaces_the_rest() -> None:
    text = "jane@example.com 4111 1111 1111 1111 AKIAIOSFODNN7EXAMPLE 10.0.0.1"
    result = anonymize_text(text, key=KEY)
    secret_hash = Hash(length=16).apply("AKIAIOSFODNN7EXAMPLE", "SECRET", context())
    assert result.text == (f"<EMAIL> ***************1111 {secret_hash} <IP_ADDRESS>")
    assert result.pseudonyms == ()


def test_a_text_without_findings_is_returned_unchanged() -> None:
    text = "nothing to see here"
    result = anonymize_text(text, key=KEY)
    assert result.text is text
    assert result.findings == ()
