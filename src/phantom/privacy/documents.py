"""A tenant's privacy policy as a JSON document, and back to a domain ``Policy``.

The document is what ``PUT /v1/privacy/policy`` takes, ``GET`` returns, the
``privacy.PolicySet`` event carries and the policy table stores::

    {
      "entities": ["EMAIL", "PHONE", "CREDIT_CARD", "EMPLOYEE_ID"],   # null: all
      "operators": {"EMAIL": {"type": "pseudonymize", "length": 12}},
      "fields": {"customer.notes": {"type": "skip"},
                 "customer.age": {"type": "generalize", "bucket": 10}},
      "patterns": [{"name": "EMPLOYEE_ID", "regex": "EMP-[0-9]{6}", "score": 0.9}],
      "fallback": {"type": "replace"}
    }

Every operator is ``{"type": ..., options}``; options are those of the domain's
operators (:mod:`phantom.privacy.domain.operators`). Unknown fields are refused;
the domain's own checks (entity names, paths, regex safety) run in
:func:`to_policy` and surface as 422 problems naming the field.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated, Any, Final, Literal, TypeAlias

from pydantic import BaseModel, ConfigDict, Field

from phantom.privacy.domain import (
    SKIP,
    CustomPattern,
    FieldRule,
    Generalize,
    Hash,
    Mask,
    Operator,
    Policy,
    Pseudonymize,
    Redact,
    Replace,
)
from phantom.privacy.domain.detectors import Detector

__all__ = [
    "OPERATOR_TYPES",
    "FieldRuleSpec",
    "OperatorSpec",
    "PatternSpec",
    "PolicyDocument",
    "from_policy",
    "to_policy",
]

MAX_RULES = 500
"""The most operators, fields or patterns one policy may name."""


class _Spec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class MaskSpec(_Spec):
    """Mask every character but the last ``keep_last``."""

    type: Literal["mask"]
    char: str = Field("*", min_length=1, max_length=1)
    keep_last: int = Field(0, ge=0, le=64)


class RedactSpec(_Spec):
    """Remove the value."""

    type: Literal["redact"]


class ReplaceSpec(_Spec):
    """Write ``value`` (default ``<ENTITY>``)."""

    type: Literal["replace"]
    value: str | None = Field(None, max_length=200)


class HashSpec(_Spec):
    """HMAC-SHA256 under the tenant's key, hex, optionally truncated."""

    type: Literal["hash"]
    length: int | None = Field(None, ge=1, le=64)


class PseudonymizeSpec(_Spec):
    """A consistent token, reversible with ``privacy:reveal``."""

    type: Literal["pseudonymize"]
    length: int = Field(8, ge=8, le=64)


class GeneralizeSpec(_Spec):
    """Dates to a month or year, numbers to a range ``bucket`` wide."""

    type: Literal["generalize"]
    bucket: int = Field(10, ge=1, le=10**9)
    dates: Literal["month", "year"] = "month"


class SkipSpec(_Spec):
    """Leave the field (and everything under it) alone: fields only."""

    type: Literal["skip"]


OperatorSpec: TypeAlias = Annotated[
    MaskSpec | RedactSpec | ReplaceSpec | HashSpec | PseudonymizeSpec | GeneralizeSpec,
    Field(discriminator="type"),
]
FieldRuleSpec: TypeAlias = Annotated[
    MaskSpec
    | RedactSpec
    | ReplaceSpec
    | HashSpec
    | PseudonymizeSpec
    | GeneralizeSpec
    | SkipSpec,
    Field(discriminator="type"),
]


class PatternSpec(_Spec):
    """A tenant-defined entity type found by a regular expression."""

    name: str = Field(min_length=1, max_length=64)
    regex: str = Field(min_length=1, max_length=256)
    score: float = Field(0.8, ge=0.0, le=1.0)


class PolicyDocument(_Spec):
    """A tenant's privacy policy (see the module docstring)."""

    entities: list[Annotated[str, Field(max_length=64)]] | None = Field(
        None, max_length=MAX_RULES
    )
    operators: dict[Annotated[str, Field(max_length=64)], OperatorSpec] = Field(
        default_factory=dict, max_length=MAX_RULES
    )
    fields: dict[Annotated[str, Field(max_length=250)], FieldRuleSpec] = Field(
        default_factory=dict, max_length=MAX_RULES
    )
    patterns: list[PatternSpec] = Field(default_factory=list, max_length=MAX_RULES)
    fallback: OperatorSpec = Field(
        default_factory=lambda: ReplaceSpec(type="replace", value=None)
    )


_OPERATORS: Final[dict[str, type[Operator]]] = {
    cls.__name__.lower(): cls
    for cls in (Mask, Redact, Replace, Hash, Pseudonymize, Generalize)
}
OPERATOR_TYPES: Final = tuple(_OPERATORS)
"""The operator ``type`` names a document may use, in documentation order."""


def _operator(spec: BaseModel) -> Operator:
    options = spec.model_dump(exclude={"type"})
    return _OPERATORS[spec.type](**options)  # type: ignore[attr-defined]


def _rule(spec: BaseModel) -> FieldRule:
    return SKIP if isinstance(spec, SkipSpec) else _operator(spec)


def to_policy(
    document: PolicyDocument, extra_detectors: tuple[Detector, ...] = ()
) -> Policy:
    """The domain policy of ``document`` (with the deployment's extra detectors).

    Raises:
        InvalidPolicy: an unknown entity type, a bad field path or pattern name.
        InvalidPattern: a custom regex is unsafe or does not compile.
    """
    return Policy(
        operators={name: _operator(spec) for name, spec in document.operators.items()},
        fields={path: _rule(spec) for path, spec in document.fields.items()},
        entities=None if document.entities is None else frozenset(document.entities),
        patterns=tuple(
            CustomPattern(p.name, p.regex, score=p.score) for p in document.patterns
        ),
        fallback=_operator(document.fallback),
        extra_detectors=extra_detectors,
    )


def _spec(rule: FieldRule) -> dict[str, Any]:
    """``{"type": ..., options}``: the class name and the dataclass's fields."""
    return {"type": type(rule).__name__.lower(), **asdict(rule)}


def from_policy(policy: Policy) -> PolicyDocument:
    """The document of ``policy`` (its explicit choices, not the defaults)."""
    return PolicyDocument.model_validate(
        {
            "entities": None if policy.entities is None else sorted(policy.entities),
            "operators": {k: _spec(v) for k, v in sorted(policy.operators.items())},
            "fields": {k: _spec(v) for k, v in sorted(policy.fields.items())},
            "patterns": [
                {"name": p.name, "regex": p.regex, "score": p.score}
                for p in policy.patterns
            ],
            "fallback": _spec(policy.fallback),
        }
    )
