import itertools
import random
import re
from collections.abc import Callable

from hypothesis import given
from hypothesis import strategies as st

from phantom.privacy.domain import (
    CREDIT_CARD,
    IBAN,
    Finding,
    Generalize,
    Policy,
    Pseudonymize,
    Replace,
    analyze_text,
    anonymize_text,
    resolve_overlaps,
)
from phantom.privacy.domain.validators import iban_valid, luhn_valid
from phantom.privacy.fakes import (
    fake_card,
    fake_email,
    fake_iban,
    fake_ipv4,
    fake_ipv6,
    fake_nino,
    fake_phone,
    fake_secret,
    fake_ssn,
    luhn_digit,
)

KEY = b"tenant-a-key-0123456789abcdef"
FILLER = st.text(alphabet="abcdefghij klmnop", max_size=30).map(str.strip)
EVERY_TYPE = Policy(
    operators={
        entity: Replace() for entity in ("CREDIT_CARD", "SECRET", "EMAIL", "PHONE")
    }
)


@st.composite
def visa_like(draw: st.DrawFn) -> str:
    length = draw(st.integers(min_value=13, max_value=19))
    body = draw(st.sampled_from("3456")) + draw(
        st.text(alphabet="0123456789", min_size=length - 2, max_size=length - 2)
    )
    return body + luhn_digit(body)


@given(visa_like(), FILLER, FILLER)
def test_every_luhn_valid_number_with_an_issuer_prefix_is_a_card(
    number: str, before: str, after: str
) -> None:
    text = f"{before} {number} {after}"
    cards = [f.text(text) for f in analyze_text(text) if f.entity == CREDIT_CARD]
    assert cards == [number]


@given(visa_like(), st.integers(min_value=1, max_value=9))
def test_no_luhn_invalid_number_is_a_card(number: str, shift: int) -> None:
    broken = number[:-1] + str((int(number[-1]) + shift) % 10)
    assert not luhn_valid(broken)
    assert [f for f in analyze_text(f"card {broken}") if f.entity == CREDIT_CARD] == []


@given(st.randoms(use_true_random=False))
def test_generated_ibans_are_found_and_broken_ones_are_not(rng: random.Random) -> None:
    good, bad = fake_iban(rng), fake_iban(rng, valid=False)
    assert iban_valid(good)
    assert not iban_valid(bad)
    assert [(f.entity, f.text(good)) for f in analyze_text(good)] == [(IBAN, good)]
    assert analyze_text(bad) == []


Maker = Callable[[random.Random], tuple[str, str]]


def with_words(make: Callable[[random.Random], str]) -> Maker:
    return lambda rng: ("", make(rng))


MAKERS: tuple[Maker, ...] = (
    with_words(fake_email),
    with_words(fake_phone),
    with_words(fake_card),
    with_words(fake_iban),
    with_words(fake_ipv4),
    with_words(fake_ipv6),
    with_words(fake_ssn),
    with_words(fake_nino),
    fake_secret,
)


@given(st.randoms(use_true_random=True), st.sampled_from(MAKERS), FILLER, FILLER)
def test_anonymized_text_never_contains_the_raw_value(
    rng: random.Random, make: Maker, before: str, after: str
) -> None:
    words, value = make(rng)
    text = f"{before} {words}{value} {after}"
    for policy in (EVERY_TYPE, Policy(fallback=Pseudonymize())):
        assert value not in anonymize_text(text, policy, key=KEY).text


@given(
    st.lists(
        st.tuples(
            st.integers(min_value=0, max_value=60),
            st.integers(min_value=1, max_value=15),
            st.sampled_from([0.5, 0.7, 0.9, 1.0]),
        ),
        max_size=25,
    )
)
def test_resolved_findings_never_overlap_and_cover_every_region(
    spans: list[tuple[int, int, float]],
) -> None:
    findings = [
        Finding("X", start, start + size, score, "d") for start, size, score in spans
    ]
    kept = resolve_overlaps(findings)
    assert set(kept) <= set(findings)
    assert all(a.end <= b.start for a, b in itertools.pairwise(kept))
    for finding in findings:
        assert any(k.start < finding.end and finding.start < k.end for k in kept)


@given(
    st.integers(min_value=-(10**12), max_value=10**12) | st.floats(-1e9, 1e9),
    st.integers(min_value=1, max_value=1000),
)
def test_a_generalized_number_lies_in_its_range(value: float, bucket: int) -> None:
    bounds = re.fullmatch(
        r"(-?[0-9]+)-(-?[0-9]+)", Generalize(bucket=bucket).number(value)
    )
    assert bounds is not None
    low, high = map(int, bounds.groups())
    assert high - low + 1 == bucket
    assert low <= value < high + 1


TRICKY = st.text(
    alphabet="0123456789 +-.:()@_=AaBbDEGKNSTIxoe'\"/\n", max_size=80
) | st.text(max_size=40)


@given(TRICKY)
def test_any_text_is_scanned_without_error_into_ordered_disjoint_findings(
    text: str,
) -> None:
    findings = analyze_text(text)
    assert all(0 <= f.start < f.end <= len(text) for f in findings)
    assert all(a.end <= b.start for a, b in itertools.pairwise(findings))
    anonymize_text(text, Policy(fallback=Pseudonymize()), key=KEY)
