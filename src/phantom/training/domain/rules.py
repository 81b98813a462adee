"""Names, limits and the run lifecycle.

Limits follow what people already know from MLflow (parameter values up to 6,000
characters, tags up to 8,000) so code written for it logs here unchanged.
Artifact names are metadata only — the bytes live under their content hash — but
path-like tricks (``..`` segments, absolute paths, backslashes, NUL and other
control characters) are refused anyway, so no name can even look like an escape.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Final

from phantom.kernel.errors import Conflict, InvalidField
from phantom.kernel.text import clean_label

__all__ = [
    "END_STATUSES",
    "MAX_PARAMS",
    "check_artifact_name",
    "check_end",
    "check_name",
    "check_params",
    "check_tags",
    "merge_params",
]

MAX_KEY: Final = 250
MAX_PARAM_VALUE: Final = 6_000
MAX_TAG_VALUE: Final = 8_000
MAX_PARAMS: Final = 1_000
MAX_ARTIFACT_NAME: Final = 255
END_STATUSES: Final = frozenset({"finished", "failed", "killed"})

_KEY: Final = re.compile(r"[A-Za-z0-9_\-./: ]{1,250}")
_CONTROL: Final = re.compile(r"[\x00-\x1f\x7f]")


def check_name(field: str, value: object) -> str:
    """A dataset, experiment or run name: 1-100 printable characters."""
    return clean_label(field, value, max_length=100)


def _check_mapping(
    field: str, values: Mapping[str, object], max_value: int
) -> dict[str, str]:
    if len(values) > MAX_PARAMS:
        raise InvalidField(field, f"at most {MAX_PARAMS} entries at once")
    checked: dict[str, str] = {}
    for key, value in values.items():
        where = f"{field}.{str(key)[:50]}"
        if not isinstance(key, str) or not _KEY.fullmatch(key):
            rule = "keys are 1-250 letters, digits, spaces or _ - . / :"
            raise InvalidField(where, rule)
        if not isinstance(value, str):
            raise InvalidField(where, "values are strings")
        if len(value) > max_value:
            raise InvalidField(where, f"at most {max_value} characters")
        checked[key] = value
    return checked


def check_params(params: Mapping[str, object]) -> dict[str, str]:
    """Parameters as given, checked: keys ≤ 250 characters, values ≤ 6,000."""
    return _check_mapping("params", params, MAX_PARAM_VALUE)


def check_tags(tags: Mapping[str, object]) -> dict[str, str]:
    """Tags as given, checked: keys ≤ 250 characters, values ≤ 8,000."""
    return _check_mapping("tags", tags, MAX_TAG_VALUE)


def merge_params(current: Mapping[str, str], new: Mapping[str, str]) -> dict[str, str]:
    """The params after logging ``new``: only the keys not logged before.

    Logging a parameter again with the same value is a no-op; with another value it
    is refused (a run's parameters describe what it ran with, they do not drift).

    Raises:
        Conflict: a key was logged before with a different value.
        InvalidField: the run would hold more than :data:`MAX_PARAMS` params.
    """
    changed = sorted(k for k, v in new.items() if k in current and current[k] != v)
    if changed:
        msg = f"params already logged with other values: {', '.join(changed[:10])}"
        raise Conflict(msg, params=changed[:10])
    added = {k: v for k, v in new.items() if k not in current}
    if len(current) + len(added) > MAX_PARAMS:
        raise InvalidField("params", f"a run holds at most {MAX_PARAMS} params")
    return added


def check_end(current: str, status: str) -> bool:
    """Whether ending a ``current`` run with ``status`` changes anything.

    Raises:
        InvalidField: ``status`` is not an end status.
        Conflict: the run already ended with another status.
    """
    if status not in END_STATUSES:
        known = ", ".join(sorted(END_STATUSES))
        raise InvalidField("status", f"must be one of {known}")
    if current == "running":
        return True
    if current == status:
        return False
    msg = f"the run already ended as {current!r}"
    raise Conflict(msg)


def check_artifact_name(value: object) -> str:
    """An artifact name: 1-255 characters, ``/``-separated, no path tricks.

    Raises:
        InvalidField: empty, too long, absolute, with ``.`` or ``..`` segments,
            backslashes, or control characters.
    """
    field = "name"
    if not isinstance(value, str) or not value:
        raise InvalidField(field, "must be a non-empty string")
    if len(value) > MAX_ARTIFACT_NAME:
        raise InvalidField(field, f"must be at most {MAX_ARTIFACT_NAME} characters")
    if _CONTROL.search(value) or "\\" in value:
        raise InvalidField(field, "must not contain control characters or backslashes")
    if value.startswith("/") or any(
        part in {"", ".", ".."} for part in value.split("/")
    ):
        raise InvalidField(
            field, "must be a relative path without empty, . or .. parts"
        )
    return value
