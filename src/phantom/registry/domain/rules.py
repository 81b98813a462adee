"""Names, descriptions, metrics and params of registered models (pure checks)."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from typing import Final

from phantom.kernel.errors import InvalidField

__all__ = [
    "MAX_ENTRIES",
    "MODEL_NAME_RULE",
    "check_description",
    "check_metrics",
    "check_model_name",
    "check_params",
    "is_model_name",
]

MAX_ENTRIES: Final = 100
"""Most metrics or params one version carries."""
_NAME: Final = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}")
_KEY: Final = re.compile(r"[A-Za-z0-9_\-./: ]{1,250}")
_MAX_VALUE: Final = 6000
_MAX_DESCRIPTION: Final = 2000


MODEL_NAME_RULE: Final = (
    "1-100 letters, digits, '.', '_' or '-', starting with a letter or digit"
)


def is_model_name(value: str) -> bool:
    """Whether ``value`` is a valid model name (:data:`MODEL_NAME_RULE`)."""
    return _NAME.fullmatch(value) is not None


def check_model_name(value: str, field: str = "name") -> str:
    """A model name: 1-100 letters, digits, ``.``, ``_`` or ``-`` (URL-safe).

    Raises:
        InvalidField: the name breaks the rule (reported on ``field``).
    """
    if not is_model_name(value):
        raise InvalidField(field, MODEL_NAME_RULE)
    return value


def check_description(value: str | None) -> str:
    """A description: at most 2,000 characters, no control characters but newlines.

    Raises:
        InvalidField: the description is too long or holds control characters.
    """
    if value is None:
        return ""
    if len(value) > _MAX_DESCRIPTION:
        raise InvalidField("description", f"at most {_MAX_DESCRIPTION} characters")
    if any(ord(c) < 32 and c not in "\n\t" for c in value):
        raise InvalidField("description", "holds control characters")
    return value


def _check_key(field: str, key: str) -> str:
    if not _KEY.fullmatch(key):
        rule = "keys are 1-250 letters, digits, spaces or _ - . / :"
        msg = f"{field}.{key[:50]}"
        raise InvalidField(msg, rule)
    return key


def check_metrics(values: Mapping[str, float] | None) -> dict[str, float]:
    """Metrics: at most 100 finite numbers under valid keys.

    Raises:
        InvalidField: too many, a bad key, or a value that is not finite.
    """
    values = values or {}
    if len(values) > MAX_ENTRIES:
        raise InvalidField("metrics", f"at most {MAX_ENTRIES} entries")
    checked: dict[str, float] = {}
    for key, value in values.items():
        _check_key("metrics", key)
        if not math.isfinite(value):
            msg = f"metrics.{key[:50]}"
            raise InvalidField(msg, "must be a finite number")
        checked[key] = float(value)
    return checked


def check_params(values: Mapping[str, str] | None) -> dict[str, str]:
    """Params: at most 100 strings of at most 6,000 characters under valid keys.

    Raises:
        InvalidField: too many, a bad key, or a value too long.
    """
    values = values or {}
    if len(values) > MAX_ENTRIES:
        raise InvalidField("params", f"at most {MAX_ENTRIES} entries")
    checked: dict[str, str] = {}
    for key, value in values.items():
        _check_key("params", key)
        if len(value) > _MAX_VALUE:
            msg = f"params.{key[:50]}"
            raise InvalidField(msg, f"at most {_MAX_VALUE} characters")
        checked[key] = value
    return checked
