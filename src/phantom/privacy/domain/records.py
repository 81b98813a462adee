"""JSON records: scan every string in nested objects and lists, honour field rules.

A record is any JSON value: objects, lists, strings, numbers, booleans, ``null``.
Each string is scanned like free text, and each finding carries the ``path`` of
its string: object keys joined by ``.``, list positions as ``[i]``
(``customer.email``, ``items[2].note``). Numbers, booleans and ``null`` are left
as they are unless a field rule covers them.

Field rules (``Policy.fields``) are looked up by the path *without* list
positions (``items.note`` covers every ``items[i].note``); a key that itself
contains a ``.`` cannot be told apart from a nested one. A rule found on the way
down covers everything below it, until a deeper rule replaces it:

* :data:`.policy.SKIP`: left alone, not scanned, no findings;
* :class:`.operators.Generalize`: numbers become ranges (``34`` -> ``"30-39"``)
  and ISO-date or numeric strings are coarsened; other strings are scanned as
  usual;
* :class:`.operators.Redact`: the value becomes ``null``;
* any other operator is applied to the whole value (a number as its text).
  ``Replace()`` and ``Pseudonymize()`` name the entity after the field's last
  key: ``customer.email`` gives ``<EMAIL>`` and ``<EMAIL_7f3a9c1b>``.

Booleans and ``null`` are never changed. Whole-value rules are reported as
findings with entity type the field label, detector ``field`` and score 1.0.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final, TypeAlias

from phantom.privacy.domain.entities import Finding
from phantom.privacy.domain.operators import (
    Generalize,
    Operator,
    OperatorContext,
    Pseudonym,
    Redact,
)
from phantom.privacy.domain.policy import DEFAULT_POLICY, FieldRule, Policy, Skip
from phantom.privacy.domain.text import analyze_text, rewrite

__all__ = [
    "AnonymizedRecord",
    "JsonValue",
    "analyze_record",
    "anonymize_record",
    "field_label",
]

JsonValue: TypeAlias = (
    "str | int | float | bool | list[JsonValue] | dict[str, JsonValue] | None"
)
"""A decoded JSON document (what :func:`json.loads` returns)."""

_NOT_LABEL: Final = re.compile(r"[^A-Za-z0-9]+")


@dataclass(frozen=True, slots=True)
class AnonymizedRecord:
    """The rewritten record, what was found or ruled on, and pseudonyms issued.

    Attributes:
        record: a new record; the input is never modified.
        findings: every finding, with ``path`` set, in document order.
        pseudonyms: the ``token -> value`` pairs to store in the vault.
    """

    record: JsonValue
    findings: tuple[Finding, ...]
    pseudonyms: tuple[Pseudonym, ...]


def field_label(rule_path: str) -> str:
    """The entity label of a whole-field rule: ``customer.email`` -> ``EMAIL``."""
    last = rule_path.rsplit(".", 1)[-1]
    return _NOT_LABEL.sub("_", last).strip("_").upper() or "FIELD"


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


class _Walk:
    """One pass over a record; rewrites when it has an operator context."""

    __slots__ = ("context", "findings", "policy", "rules")

    def __init__(self, policy: Policy, context: OperatorContext | None) -> None:
        self.policy = policy
        self.rules = policy.fields
        self.context = context
        self.findings: list[Finding] = []

    def visit(
        self, value: JsonValue, path: str, rule_path: str, rule: FieldRule | None
    ) -> JsonValue:
        if self.rules and rule_path:
            rule = self.rules.get(rule_path, rule)
        if isinstance(rule, Skip) or value is None or isinstance(value, bool):
            return value
        if isinstance(value, dict):
            return {
                key: self.visit(item, _join(path, key), _join(rule_path, key), rule)
                for key, item in value.items()
            }
        if isinstance(value, list):
            return [
                self.visit(item, f"{path}[{index}]", rule_path, rule)
                for index, item in enumerate(value)
            ]
        if rule is not None:
            return self.whole(value, path, rule_path, rule)
        return self.scan(value, path) if isinstance(value, str) else value

    def scan(self, value: str, path: str) -> str:
        found = analyze_text(value, self.policy)
        if not found:
            return value
        self.findings.extend(
            Finding(f.entity, f.start, f.end, f.score, f.detector, path) for f in found
        )
        if self.context is None:
            return value
        return rewrite(value, found, self.policy, self.context)

    def whole(
        self, value: str | float, path: str, rule_path: str, rule: Operator
    ) -> JsonValue:
        text = value if isinstance(value, str) else str(value)
        label = field_label(rule_path)
        result: JsonValue
        if isinstance(rule, Generalize):
            coarse = (
                rule.coarsen(text) if isinstance(value, str) else rule.number(value)
            )
            if coarse is None:
                return self.scan(text, path)
            result = coarse
        elif isinstance(rule, Redact):
            result = None
        elif self.context is not None:
            result = rule.apply(text, label, self.context)
        self.findings.append(Finding(label, 0, len(text), 1.0, "field", path))
        return value if self.context is None else result


def analyze_record(record: JsonValue, policy: Policy = DEFAULT_POLICY) -> list[Finding]:
    """What :func:`anonymize_record` would act on, without changing anything."""
    walk = _Walk(policy, None)
    walk.visit(record, "", "", None)
    return walk.findings


def anonymize_record(
    record: JsonValue, policy: Policy = DEFAULT_POLICY, *, key: bytes
) -> AnonymizedRecord:
    """Scan every string of ``record`` and apply the policy and its field rules.

    Args:
        record: a decoded JSON value; it is not modified.
        policy: the tenant's policy.
        key: the tenant's secret key (16 bytes or more).

    Raises:
        InvalidKey: ``key`` is too short.
        PseudonymCollision: two values got the same pseudonym token.
    """
    context = OperatorContext(key)
    walk = _Walk(policy, context)
    result = walk.visit(record, "", "", None)
    return AnonymizedRecord(
        result, tuple(walk.findings), tuple(context.pseudonyms.values())
    )
