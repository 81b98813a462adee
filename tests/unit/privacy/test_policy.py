import pytest

from phantom.kernel.errors import InvalidField, InvalidInput
from phantom.privacy.domain import (
    BUILTIN_ENTITIES,
    CREDIT_CARD,
    DEFAULT_POLICY,
    EMAIL,
    SECRET,
    SKIP,
    CustomPattern,
    Hash,
    InvalidPattern,
    InvalidPolicy,
    Mask,
    Operator,
    Policy,
    Replace,
    analyze_text,
    anonymize_text,
)
from phantom.privacy.domain.custom import MAX_PATTERN_LENGTH, has_nested_quantifier

KEY = b"tenant-a-key-0123456789abcdef"


def test_the_default_policy_detects_every_built_in_type() -> None:
    assert DEFAULT_POLICY.enabled == BUILTIN_ENTITIES
    assert DEFAULT_POLICY.operator_for(CREDIT_CARD) == Mask(keep_last=4)
    assert DEFAULT_POLICY.operator_for(SECRET) == Hash(length=16)
    assert DEFAULT_POLICY.operator_for(EMAIL) == Replace()


def test_policy_operators_override_the_defaults_one_by_one() -> None:
    policy = Policy(operators={EMAIL: Mask()})
    assert policy.operator_for(EMAIL) == Mask()
    assert policy.operator_for(CREDIT_CARD) == Mask(keep_last=4)


def test_a_policy_is_not_changed_by_its_caller_afterwards() -> None:
    operators: dict[str, Operator] = {EMAIL: Mask()}
    policy = Policy(operators=operators)
    operators[EMAIL] = Replace()
    assert policy.operator_for(EMAIL) == Mask()


def test_a_custom_pattern_reports_its_own_entity_type() -> None:
    policy = Policy(
        patterns=(CustomPattern("EMPLOYEE_ID", r"EMP-[0-9]{6}", score=0.9),),
        operators={"EMPLOYEE_ID": Replace("<staff>")},
    )
    text = "ticket by EMP-004211 from jane@example.com"
    (staff, email) = analyze_text(text, policy)
    assert (staff.entity, staff.text(text), staff.score) == (
        "EMPLOYEE_ID",
        "EMP-004211",
        0.9,
    )
    assert staff.detector == "custom"
    assert email.entity == EMAIL
    result = anonymize_text(text, policy, key=KEY)
    assert result.text == "ticket by <staff> from <EMAIL>"


def test_a_custom_pattern_without_an_operator_uses_the_fallback() -> None:
    policy = Policy(patterns=(CustomPattern("TICKET", r"TCK[0-9]+"),))
    assert anonymize_text("see TCK123", policy, key=KEY).text == "see <TICKET>"


def test_a_custom_pattern_can_be_switched_off() -> None:
    policy = Policy(
        patterns=(CustomPattern("TICKET", r"TCK[0-9]+"),),
        entities=frozenset({EMAIL}),
    )
    assert analyze_text("see TCK123", policy) == []


@pytest.mark.parametrize(
    ("regex", "reason"),
    [
        ("(a+)+$", "nested quantifiers"),
        ("(a*)*", "nested quantifiers"),
        ("(?:x{1,3}){2,}", "nested quantifiers"),
        (r"((ab)+c)+", "nested quantifiers"),
        (r"([a-z]+\s?)*@", "nested quantifiers"),
        (r"(\w+,)+", "nested quantifiers"),
        ("([a-z", "does not compile"),
        ("a{2,1}", "does not compile"),
        (r"(a)\1", "backreferences"),
        ("(?P<x>a)(?P=x)", "backreferences"),
        ("a*", "empty string"),
        ("x" * (MAX_PATTERN_LENGTH + 1), "longer than"),
        ("", "empty"),
    ],
)
def test_a_bad_or_catastrophic_regex_is_refused_with_a_reason(
    regex: str, reason: str
) -> None:
    with pytest.raises(InvalidPattern) as caught:
        CustomPattern("MY_ID", regex)
    error = caught.value
    assert reason in error.detail
    assert error.field == "patterns.MY_ID"
    assert isinstance(error, InvalidField)
    assert error.status == 422
    if len(regex) > 3:
        assert regex not in error.detail


@pytest.mark.parametrize(
    "regex",
    [
        r"EMP-[0-9]{6}",
        r"(\d{3}-)+\d{4}",
        r"(?:ab|cd)+x",
        r"[(+*]+[a-z]",
        r"\(\d+\)+",
        r"(a{2})+b",
        r"(ab)?c+",
        r"[a-z]{2,5}[0-9]+",
        r"\bcase-[0-9]{4,8}\b",
    ],
)
def test_safe_regexes_are_accepted(regex: str) -> None:
    assert CustomPattern("MY_ID", regex).compiled.pattern == regex


def test_the_nested_quantifier_guard_reads_groups_classes_and_escapes() -> None:
    assert has_nested_quantifier("(a+)+")
    assert not has_nested_quantifier(r"\(a+\)+")
    assert not has_nested_quantifier(r"[(a+)]+")
    assert has_nested_quantifier(r"(?:(?:a|b)+c)*")


@pytest.mark.parametrize("name", ["lower", "1ABC", "A" * 41, "EMAIL", "HAS SPACE", ""])
def test_a_bad_pattern_name_is_refused(name: str) -> None:
    with pytest.raises(InvalidPattern):
        CustomPattern(name, "x+")


def test_a_score_outside_zero_to_one_is_refused() -> None:
    with pytest.raises(InvalidPattern, match="score"):
        CustomPattern("MY_ID", "x+", score=1.5)


def test_zero_length_matches_are_never_findings() -> None:
    policy = Policy(patterns=(CustomPattern("LOOK", "(?=x)x?"),))
    assert [f.text("axb") for f in analyze_text("axb", policy)] == ["x"]


@pytest.mark.parametrize(
    "make",
    [
        lambda: Policy(entities=frozenset({"NOPE"})),
        lambda: Policy(operators={"NOPE": Replace()}),
        lambda: Policy(operators={EMAIL: "mask"}),  # type: ignore[dict-item]
        lambda: Policy(fields={"": SKIP}),
        lambda: Policy(fields={"items[0].sku": SKIP}),
        lambda: Policy(fields={"customer..email": SKIP}),
        lambda: Policy(fields={"a.b": "skip"}),  # type: ignore[dict-item]
        lambda: Policy(fallback="replace"),  # type: ignore[arg-type]
        lambda: Policy(patterns=(CustomPattern("A", "a"), CustomPattern("A", "b"))),
    ],
)
def test_a_malformed_policy_is_refused(make: object) -> None:
    with pytest.raises(InvalidPolicy) as caught:
        make()  # type: ignore[operator]
    assert isinstance(caught.value, InvalidInput)
