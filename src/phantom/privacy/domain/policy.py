"""A tenant's privacy policy: what to look for and what to do with it.

The default policy (:data:`DEFAULT_POLICY`) looks for every built-in entity type
and applies :data:`DEFAULT_OPERATORS`:

========================  ================================  ==========================
entity                    operator                          why
========================  ================================  ==========================
``CREDIT_CARD``           ``Mask(keep_last=4)``             the last four digits are
                                                            what support staff ask for
``SECRET``                ``Hash(length=16)``               one leaked key can be
                                                            traced across logs without
                                                            being stored; 16 hex
                                                            characters never look like
                                                            a secret to a re-scan
everything else           ``Replace()`` -> ``<ENTITY>``     safe and still readable
custom patterns           ``fallback`` (``Replace()``)
========================  ================================  ==========================

Field rules apply to JSON records (see :mod:`.records`): a dotted path
(``customer.email``, or a top-level ``notes``; list indices are left out, so
``items.card`` covers every ``items[i].card``) maps to :data:`SKIP` (leave the
value and everything under it alone) or to an operator applied to the whole
value, whatever the detectors think of it. A rule on an object or list covers
everything under it, unless a rule on a deeper path says otherwise.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Final, TypeAlias

from phantom.privacy.domain.anchored import EmailDetector, Ipv6Detector
from phantom.privacy.domain.custom import CustomPattern
from phantom.privacy.domain.detectors import Detector, alternation_detectors
from phantom.privacy.domain.entities import (
    BUILTIN_ENTITIES,
    CREDIT_CARD,
    EMAIL,
    IP_ADDRESS,
    SECRET,
    Finding,
)
from phantom.privacy.domain.errors import InvalidPolicy
from phantom.privacy.domain.operators import (
    Generalize,
    Hash,
    Mask,
    Operator,
    Pseudonymize,
    Redact,
    Replace,
)
from phantom.privacy.domain.secrets import secret_detectors

__all__ = [
    "DEFAULT_OPERATORS",
    "DEFAULT_POLICY",
    "SKIP",
    "FieldRule",
    "Policy",
    "Skip",
]

_OPERATOR_TYPES: Final = (Mask, Redact, Replace, Hash, Pseudonymize, Generalize)


@dataclass(frozen=True, slots=True)
class Skip:
    """A field rule: leave the value (and everything under it) unscanned and as is."""


SKIP: Final = Skip()
"""The one :class:`Skip` rule."""

FieldRule: TypeAlias = Operator | Skip
"""What a field path may map to."""

DEFAULT_OPERATORS: Final[Mapping[str, Operator]] = MappingProxyType(
    {CREDIT_CARD: Mask(keep_last=4), SECRET: Hash(length=16)}
)
"""Operators that differ from the fallback ``Replace()`` in the default policy."""


def _check_rules(
    mapping: Mapping[str, object], name: str, kinds: tuple[type, ...]
) -> None:
    for key, value in mapping.items():
        if not isinstance(key, str) or not key:
            raise InvalidPolicy(name, "keys must be non-empty strings")
        if not isinstance(value, kinds):
            where = f"{name}.{key}"
            raise InvalidPolicy(where, f"{value!r} is not an operator")


def _check_paths(fields: Mapping[str, FieldRule]) -> None:
    for path in fields:
        if "[" in path or "" in path.split("."):
            msg = f"{path!r} is not a dotted path of keys (no list positions)"
            raise InvalidPolicy("fields", msg)


@dataclass(frozen=True, slots=True)
class Policy:
    """What one tenant detects and how each finding is anonymized.

    Attributes:
        operators: operator per entity type, over :data:`DEFAULT_OPERATORS`.
        fields: field path -> :data:`SKIP` or an operator, for JSON records.
        entities: the entity types to detect (built-in and custom names);
            ``None`` means all of them.
        patterns: the tenant's custom patterns.
        fallback: the operator for an entity type with none of its own.
        extra_detectors: detectors the deployment adds (named entities, when a
            model is installed); their entity types become known ones.

    Raises:
        InvalidPolicy: an unknown entity type, a duplicated pattern name, a
            field path that is empty or has list positions (``items[0].x``),
            or something that is not an operator.
    """

    operators: Mapping[str, Operator] = field(default_factory=dict)
    fields: Mapping[str, FieldRule] = field(default_factory=dict)
    entities: frozenset[str] | None = None
    patterns: tuple[CustomPattern, ...] = ()
    fallback: Operator = field(default_factory=Replace)
    extra_detectors: tuple[Detector, ...] = field(default=(), compare=False)
    enabled: frozenset[str] = field(init=False, repr=False, compare=False)
    detectors: tuple[Detector, ...] = field(init=False, repr=False, compare=False)
    _resolved: Mapping[str, Operator] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        names = [pattern.name for pattern in self.patterns]
        if len(set(names)) != len(names):
            raise InvalidPolicy("patterns", "two patterns have the same name")
        extra = frozenset().union(*(d.entities for d in self.extra_detectors))
        known = BUILTIN_ENTITIES | frozenset(names) | extra
        enabled = known if self.entities is None else frozenset(self.entities)
        for name, chosen in (("entities", enabled), ("operators", self.operators)):
            unknown = sorted(set(chosen) - known)
            if unknown:
                raise InvalidPolicy(name, f"unknown entity types: {unknown}")
        _check_rules(self.operators, "operators", _OPERATOR_TYPES)
        _check_rules(self.fields, "fields", (*_OPERATOR_TYPES, Skip))
        _check_paths(self.fields)
        if not isinstance(self.fallback, _OPERATOR_TYPES):
            raise InvalidPolicy("fallback", f"{self.fallback!r} is not an operator")
        resolved = {**DEFAULT_OPERATORS, **self.operators}
        setattr_ = object.__setattr__
        setattr_(self, "operators", MappingProxyType(dict(self.operators)))
        setattr_(self, "fields", MappingProxyType(dict(self.fields)))
        setattr_(self, "enabled", enabled)
        detectors = _detectors(enabled, self.patterns) + tuple(
            _Only(d, d.entities & enabled)
            for d in self.extra_detectors
            if d.entities & enabled
        )
        setattr_(self, "detectors", detectors)
        setattr_(self, "_resolved", MappingProxyType(resolved))

    def operator_for(self, entity: str) -> Operator:
        """The operator applied to findings of ``entity``."""
        return self._resolved.get(entity, self.fallback)


@dataclass(frozen=True, slots=True)
class _Only:
    """A deployment's detector, reporting only the entity types a policy enables."""

    detector: Detector
    entities: frozenset[str]

    def find(self, text: str, out: list[Finding]) -> None:
        found: list[Finding] = []
        self.detector.find(text, found)
        out.extend(f for f in found if f.entity in self.entities)


def _detectors(
    enabled: frozenset[str], patterns: tuple[CustomPattern, ...]
) -> tuple[Detector, ...]:
    chosen: list[Detector] = alternation_detectors(enabled)
    if EMAIL in enabled:
        chosen.append(EmailDetector())
    if IP_ADDRESS in enabled:
        chosen.append(Ipv6Detector())
    if SECRET in enabled:
        chosen.extend(secret_detectors())
    chosen.extend(pattern for pattern in patterns if pattern.name in enabled)
    return tuple(chosen)


DEFAULT_POLICY: Final = Policy()
"""Every built-in entity type, with :data:`DEFAULT_OPERATORS` and ``Replace()``."""
