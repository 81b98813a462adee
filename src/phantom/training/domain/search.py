"""Run search: a small filter language over params, metrics, tags and attributes.

::

    metrics.accuracy > 0.9 and params.model = 'lgbm' and tags.team != "vision"
    attributes.status = 'finished'

Clauses are joined by ``and`` (case-insensitive). An identifier is
``params|metrics|tags|attributes`` (or ``param``, ``metric``, ``tag``, ``attr``), a
dot and a key, which may be quoted with backticks or double quotes when it holds
spaces. Operators: ``=``, ``!=``, ``<``, ``<=``, ``>``, ``>=``. Metrics compare as
numbers with their latest value; params and tags compare as strings, except that
``<``-style operators compare numerically when both sides read as numbers.
Attributes: ``status``, ``name``. A run lacking the key never matches.

``order_by`` is an identifier with an optional ``asc``/``desc``.
"""

from __future__ import annotations

import math
import operator
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Final, Literal

from phantom.kernel.errors import InvalidField

__all__ = ["Clause", "Order", "RunFacts", "parse_filter", "parse_order"]

Scope = Literal["params", "metrics", "tags", "attributes"]

_SCOPES: Final[Mapping[str, Scope]] = {
    "params": "params",
    "param": "params",
    "metrics": "metrics",
    "metric": "metrics",
    "tags": "tags",
    "tag": "tags",
    "attributes": "attributes",
    "attribute": "attributes",
    "attr": "attributes",
}
_ATTRIBUTES: Final = frozenset({"status", "name"})
_OPS: Final[Mapping[str, Callable[[Any, Any], bool]]] = {
    "=": operator.eq,
    "!=": operator.ne,
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}
_IDENT = (
    r"(?P<scope>[A-Za-z]+)\.(?:`(?P<bq>[^`]+)`|\"(?P<dq>[^\"]+)\"|(?P<key>[\w\-./:]+))"
)
_NUMBER = r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?"
_VALUE = rf"(?:'(?P<sq>[^']*)'|\"(?P<dv>[^\"]*)\"|(?P<num>{_NUMBER}))"
_CLAUSE: Final = re.compile(rf"\s*{_IDENT}\s*(?P<op>!=|<=|>=|=|<|>)\s*{_VALUE}\s*")
_AND: Final = re.compile(r"and\b\s*", re.IGNORECASE)
_ORDER: Final = re.compile(rf"\s*{_IDENT}(?:\s+(?P<dir>asc|desc))?\s*", re.IGNORECASE)
MAX_FILTER: Final = 2_000


@dataclass(frozen=True, slots=True)
class RunFacts:
    """What a filter sees of a run."""

    params: Mapping[str, str]
    metrics: Mapping[str, float]
    tags: Mapping[str, str]
    attributes: Mapping[str, str]

    def get(self, scope: Scope, key: str) -> str | float | None:
        """The run's value for ``scope.key``, or ``None``."""
        values: Mapping[str, str | float] = getattr(self, scope)
        return values.get(key)


def _number(text: str) -> float | None:
    try:
        value = float(text)
    except ValueError:
        return None
    return None if math.isnan(value) else value


@dataclass(frozen=True, slots=True)
class Clause:
    """One ``scope.key op value`` test."""

    scope: Scope
    key: str
    op: str
    value: str
    numeric: float | None

    def matches(self, run: RunFacts) -> bool:
        """Whether ``run`` passes this clause."""
        have = run.get(self.scope, self.key)
        if have is None:
            return False
        compare = _OPS[self.op]
        if self.scope == "metrics":
            assert isinstance(have, float)  # noqa: S101 - metrics are floats
            return self.numeric is not None and compare(have, self.numeric)
        text = str(have)
        if self.op in {"=", "!="}:
            return compare(text, self.value)
        mine = _number(text)
        if mine is not None and self.numeric is not None:
            return compare(mine, self.numeric)
        return compare(text, self.value)


def _scope(name: str, key: str, field: str) -> Scope:
    scope = _SCOPES.get(name.lower())
    if scope is None:
        raise InvalidField(
            field, f"unknown scope {name!r}: params, metrics, tags, attributes"
        )
    if scope == "attributes" and key not in _ATTRIBUTES:
        raise InvalidField(field, f"unknown attribute {key!r}: status, name")
    return scope


def _clause(match: re.Match[str]) -> Clause:
    key = match["bq"] or match["dq"] or match["key"]
    scope = _scope(match["scope"], key, "filter")
    value = match["sq"] if match["sq"] is not None else match["dv"]
    if value is None:
        value = match["num"]
    if scope == "metrics" and _number(value) is None:
        raise InvalidField("filter", f"metrics.{key} compares with a number")
    return Clause(scope, key, match["op"], value, _number(value))


def parse_filter(text: str | None) -> list[Clause]:
    """The clauses of ``text`` (an empty list for no filter).

    Raises:
        InvalidField: the filter is too long or does not parse; the message names
            the clause that failed.
    """
    if text is None or not text.strip():
        return []
    if len(text) > MAX_FILTER:
        raise InvalidField("filter", f"at most {MAX_FILTER} characters")
    clauses, pos, end = [], 0, len(text)
    while True:
        match = _CLAUSE.match(text, pos)
        if match is None:
            msg = f"cannot read {text[pos:][:80]!r}; expected e.g. metrics.acc > 0.9"
            raise InvalidField("filter", msg)
        clauses.append(_clause(match))
        pos = match.end()
        if pos >= end:
            break
        joined = _AND.match(text, pos)
        if joined is None:
            msg = f"expected 'and' before {text[pos:][:80]!r}"
            raise InvalidField("filter", msg)
        pos = joined.end()
    return clauses


@dataclass(frozen=True, slots=True)
class Order:
    """Sort runs by ``scope.key``; runs lacking it go last."""

    scope: Scope
    key: str
    descending: bool

    def sort_key(self, run: RunFacts) -> tuple[int, float, str]:
        """A key for ``sorted``: missing values last whatever the direction."""
        value = run.get(self.scope, self.key)
        if value is None:
            return (1, 0.0, "")
        number = value if isinstance(value, float) else _number(value)
        sign = -1.0 if self.descending else 1.0
        if number is not None:
            return (0, sign * number, "")
        return (0, 0.0, str(value))


def parse_order(text: str | None) -> Order | None:
    """The order in ``text`` (``None`` for none).

    Raises:
        InvalidField: it does not parse.
    """
    if text is None or not text.strip():
        return None
    match = _ORDER.fullmatch(text)
    if match is None:
        raise InvalidField("order_by", "expected e.g. 'metrics.accuracy desc'")
    key = match["bq"] or match["dq"] or match["key"]
    scope = _scope(match["scope"], key, "order_by")
    return Order(scope, key, (match["dir"] or "asc").lower() == "desc")
