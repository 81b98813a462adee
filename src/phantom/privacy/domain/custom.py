r"""Tenant-defined patterns, and the guard that keeps them from hanging a worker.

A custom pattern is a name (``EMPLOYEE_ID``: an upper-case letter, then up to 39
upper-case letters, digits or ``_``, not a built-in entity name) and a Python
regular expression. :class:`CustomPattern` refuses, with :class:`.InvalidPattern`:

* a regex longer than :data:`MAX_PATTERN_LENGTH` characters;
* a regex that does not compile, or that matches the empty string;
* **nested quantifiers**: a group that holds a variable repeat (``*``, ``+``,
  ``?``, ``{n,}``, ``{n,m}`` with ``m > n``) and is itself repeated more than once
  (``*``, ``+``, ``{n,}``, ``{n,m}`` with ``m > 1``), such as ``(a+)+``,
  ``(\w*,)*`` or ``(?:x{1,3}){2,}``: the classic source of exponential
  backtracking;
* backreferences (``\1``, ``(?P=name)``), which no regex engine runs in
  bounded time.

This is a deliberately simple, static check. It does not catch every slow
pattern (an alternation with overlapping branches under a repeat, such as
``(a|a)*``, passes it); the length limit bounds what remains, and the
application layer should still scan with a size limit on its input.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Final

from phantom.privacy.domain.entities import BUILTIN_ENTITIES, Finding
from phantom.privacy.domain.errors import InvalidPattern

__all__ = [
    "MAX_PATTERN_LENGTH",
    "CustomPattern",
    "check_regex",
    "has_nested_quantifier",
]

MAX_PATTERN_LENGTH: Final = 256
"""The longest custom regex accepted, in characters."""
_NAME: Final = re.compile(r"[A-Z][A-Z0-9_]{0,39}")
_BOUNDED_REPEAT: Final = re.compile(r"\{(\d*)(,?)(\d*)\}")
_BACKREFERENCE: Final = re.compile(r"\\[1-9]|\(\?P=")


def _quantifier(pattern: str, index: int) -> tuple[int, int | None, int]:
    """The quantifier at ``pattern[index]``: ``(min, max or None, length)``.

    A length of 0 means there is none.
    """
    char = pattern[index] if index < len(pattern) else ""
    if char == "*":
        return 0, None, 1
    if char == "+":
        return 1, None, 1
    if char == "?":
        return 0, 1, 1
    if char == "{":
        match = _BOUNDED_REPEAT.match(pattern, index)
        if match is not None and (match.group(1) or match.group(3)):
            low = int(match.group(1) or 0)
            if not match.group(2):
                return low, low, match.end() - index
            high = int(match.group(3)) if match.group(3) else None
            return low, high, match.end() - index
    return 0, 0, 0


def _skip_class(pattern: str, index: int) -> int:
    """The index just past the character class opening at ``pattern[index]``."""
    index += 1
    if index < len(pattern) and pattern[index] == "^":
        index += 1
    if index < len(pattern) and pattern[index] == "]":
        index += 1
    while index < len(pattern) and pattern[index] != "]":
        index += 2 if pattern[index] == "\\" else 1
    return index + 1


def _atom_end(pattern: str, index: int) -> int:
    """The index just past the atom (not a group) starting at ``pattern[index]``."""
    if pattern[index] == "\\":
        return index + 2
    if pattern[index] == "[":
        return _skip_class(pattern, index)
    return index + 1


def has_nested_quantifier(pattern: str) -> bool:
    """Whether a repeated group in ``pattern`` holds a variable repeat."""
    stack: list[bool] = [False]
    index = 0
    while index < len(pattern):
        char = pattern[index]
        if char == "(":
            stack.append(False)
            index += 1
            continue
        if char == ")" and len(stack) > 1:
            inner = stack.pop()
            low, high, size = _quantifier(pattern, index + 1)
            repeated = size > 0 and (high is None or high > 1)
            if inner and repeated:
                return True
            stack[-1] = (
                stack[-1] or inner or (size > 0 and (high is None or high > low))
            )
            index += 1 + size
            continue
        end = _atom_end(pattern, index)
        low, high, size = _quantifier(pattern, end)
        if size and (high is None or high > low):
            stack[-1] = True
        index = end + size
    return False


def check_regex(name: str, regex: str) -> re.Pattern[str]:
    """Compile a tenant's regex if it passes the guard (see the module docstring).

    Raises:
        InvalidPattern: the regex is too long, does not compile, matches the
            empty string, nests quantifiers or uses a backreference.
    """
    if not regex:
        raise InvalidPattern(name, "the regex is empty")
    if len(regex) > MAX_PATTERN_LENGTH:
        msg = f"the regex is longer than {MAX_PATTERN_LENGTH} characters"
        raise InvalidPattern(name, msg)
    try:
        compiled = re.compile(regex)
    except re.error as exc:
        msg = f"the regex does not compile: {exc.msg} at position {exc.pos}"
        raise InvalidPattern(name, msg) from None
    if _BACKREFERENCE.search(regex):
        raise InvalidPattern(name, "backreferences are not allowed")
    if has_nested_quantifier(regex):
        msg = "nested quantifiers such as (a+)+ can backtrack catastrophically"
        raise InvalidPattern(name, msg)
    if compiled.fullmatch("") is not None:
        raise InvalidPattern(name, "the regex matches the empty string")
    return compiled


@dataclass(frozen=True, slots=True)
class CustomPattern:
    """A tenant-defined entity type found by a regular expression.

    Attributes:
        name: the entity type reported, e.g. ``EMPLOYEE_ID``.
        regex: the pattern; checked by :func:`check_regex` on construction.
        score: the confidence reported for its findings.

    Raises:
        InvalidPattern: the name, regex or score is refused.
    """

    name: str
    regex: str
    score: float = 0.8
    compiled: re.Pattern[str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not _NAME.fullmatch(self.name):
            rule = "an upper-case letter, then at most 39 of A-Z, 0-9 or '_'"
            raise InvalidPattern(self.name[:40], f"the name must be {rule}")
        if self.name in BUILTIN_ENTITIES:
            msg = "the name is a built-in entity type"
            raise InvalidPattern(self.name, msg)
        if not 0.0 <= self.score <= 1.0:
            raise InvalidPattern(self.name, "the score must be between 0 and 1")
        object.__setattr__(self, "compiled", check_regex(self.name, self.regex))

    @property
    def entities(self) -> frozenset[str]:
        """The one entity type this pattern reports."""
        return frozenset({self.name})

    def find(self, text: str, out: list[Finding]) -> None:
        """Append every non-empty match in ``text`` to ``out``."""
        name, score = self.name, self.score
        out.extend(
            Finding(name, match.start(), match.end(), score, "custom")
            for match in self.compiled.finditer(text)
            if match.end() > match.start()
        )
