"""Aliases: their names, when moving one changes anything, and their history.

An alias (``production``, ``staging`` or a custom lowercase name) points at one
version of a model at a time. Every assignment is a span of the alias's history,
valid from when it was set until it was moved or removed (``valid_to`` ``None``
while current). "Which version was in production at time T" is the span whose
``valid_from <= T < valid_to``.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Final

from phantom.kernel.errors import Conflict, InvalidField

__all__ = [
    "RESERVED_ALIASES",
    "AliasSpan",
    "check_alias",
    "check_assignable",
    "needs_move",
    "version_at",
]

RESERVED_ALIASES: Final = frozenset({"production", "staging"})
"""The well-known stages; any other valid lowercase name is a custom alias."""
_ALIAS: Final = re.compile(r"[a-z][a-z0-9-]{0,39}")


@dataclass(frozen=True, slots=True)
class AliasSpan:
    """One assignment of an alias: ``version`` from ``valid_from`` to ``valid_to``."""

    version: int
    valid_from: datetime
    valid_to: datetime | None = None

    def covers(self, at: datetime) -> bool:
        """Whether the alias pointed at :attr:`version` at ``at``."""
        return self.valid_from <= at and (self.valid_to is None or at < self.valid_to)


def check_alias(value: str) -> str:
    """An alias name: a lowercase letter, then up to 39 lowercase letters, digits, -.

    Raises:
        InvalidField: the name breaks the rule.
    """
    if not _ALIAS.fullmatch(value):
        rule = "a lowercase letter, then at most 39 lowercase letters, digits or '-'"
        raise InvalidField("alias", rule)
    return value


def check_assignable(version: int, status: str) -> None:
    """Refuse pointing an alias at an archived version.

    Raises:
        Conflict: the version is archived.
    """
    if status != "ready":
        msg = f"version {version} is {status}; an alias may only point at a ready one"
        raise Conflict(msg)


def needs_move(current: int | None, target: int) -> bool:
    """Whether setting the alias to ``target`` changes anything (idempotent PUT)."""
    return current != target


def version_at(history: Sequence[AliasSpan], at: datetime) -> int | None:
    """The version the alias pointed at at ``at``, or ``None`` when unset then.

    The latest span covering ``at`` wins (spans set within one instant leave
    only the last standing).
    """
    found = [span for span in history if span.covers(at)]
    return found[-1].version if found else None
