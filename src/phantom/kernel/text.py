"""Validation of free-text labels (names, descriptions) that people type."""

from __future__ import annotations

import unicodedata
from typing import Final

from phantom.kernel.errors import InvalidField

__all__ = ["clean_label"]

_HIDDEN: Final = frozenset({"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"})
"""Control, format (bidi overrides, zero-width), surrogate, private, unassigned,
and line/paragraph separators: characters that hide or reorder text."""


def clean_label(field: str, value: object, *, max_length: int) -> str:
    """Return ``value`` stripped of surrounding spaces, or raise naming ``field``.

    A label is 1 to ``max_length`` characters of printable text, NFC-normalised;
    control and invisible formatting characters are refused (they are how hostile
    names spoof others in lists and logs).

    Raises:
        InvalidField: the label is not a string, empty, too long or hostile.
    """
    if not isinstance(value, str):
        raise InvalidField(field, "must be a string")
    if len(value) > max_length * 4:
        raise InvalidField(field, f"must be at most {max_length} characters")
    text = unicodedata.normalize("NFC", value).strip()
    if not text:
        raise InvalidField(field, "must not be empty")
    if len(text) > max_length:
        raise InvalidField(field, f"must be at most {max_length} characters")
    if any(unicodedata.category(char) in _HIDDEN for char in text):
        raise InvalidField(field, "must not contain control or invisible characters")
    return text
