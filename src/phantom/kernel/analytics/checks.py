"""The argument checks every analytics adapter applies, so all refuse alike.

Each failure is an :class:`InvalidInput` whose detail names the field, e.g.
``points[3].step: must be at least 0``, and whose ``errors`` member carries the
location in the gateway's shape: ``[{"loc": ["points", 3, "step"], "msg": ...,
"type": "value_error"}]``. Offending values are never echoed.

:func:`check_points` validates a whole batch and hands it back as columns, ready
for a columnar insert. A batch of well-typed points (``int`` steps and timestamps,
``float`` values) takes a fast path of a few C-level passes over each column;
anything else is checked point by point, which also finds the first bad point.
"""

from __future__ import annotations

import numbers
import operator
from collections.abc import Sequence
from typing import Final, NamedTuple

from phantom.kernel.analytics.port import (
    MAX_ID_CHARS,
    MAX_KEY_CHARS,
    MetricPoint,
)
from phantom.kernel.errors import InvalidInput

__all__ = [
    "INT64_MAX",
    "INT64_MIN",
    "MetricColumns",
    "check_id",
    "check_key",
    "check_max_points",
    "check_points",
    "check_run_ids",
]

INT64_MIN: Final = -(2**63)
INT64_MAX: Final = 2**63 - 1

_POINT_FIELDS: Final = len(MetricPoint._fields)
_POINT_TYPES: Final = frozenset({MetricPoint, tuple})

Loc = list[str | int]


class MetricColumns(NamedTuple):
    """A checked batch of points as six parallel columns of equal length."""

    tenant_ids: Sequence[str]
    run_ids: Sequence[str]
    keys: Sequence[str]
    steps: Sequence[int]
    timestamps_us: Sequence[int]
    values: Sequence[float]


def _invalid(loc: Loc, message: str) -> InvalidInput:
    head, *rest = loc
    path = str(head) + "".join(
        f"[{p}]" if isinstance(p, int) else f".{p}" for p in rest
    )
    return InvalidInput(
        f"{path}: {message}",
        errors=[{"loc": loc, "msg": message, "type": "value_error"}],
    )


def _text_problem(value: object, max_chars: int) -> str | None:
    if not isinstance(value, str):
        return "must be a string"
    if not value:
        return "must not be empty"
    if len(value) > max_chars:
        return f"must be at most {max_chars} characters"
    if "\x00" in value:
        return "must not contain NUL"
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return "must be valid Unicode (no lone surrogates)"
    return None


def _text(loc: Loc, value: object, max_chars: int) -> str:
    problem = _text_problem(value, max_chars)
    if problem is not None:
        raise _invalid(loc, problem)
    return str(value)


def check_id(field: str, value: object) -> str:
    """Return ``value`` if it is a valid tenant or run id (1 to 64 characters).

    Raises:
        InvalidInput: it is not such a string; the detail names ``field``.
    """
    return _text([field], value, MAX_ID_CHARS)


def check_key(value: object) -> str:
    """Return ``value`` if it is a valid metric key (1 to 250 characters).

    Raises:
        InvalidInput: it is not such a string.
    """
    return _text(["key"], value, MAX_KEY_CHARS)


def check_run_ids(run_ids: object) -> list[str]:
    """Return the distinct run ids of ``run_ids``, in their first order.

    Raises:
        InvalidInput: ``run_ids`` is a string or not a sequence, or one of its
            items is not a valid id.
    """
    if isinstance(run_ids, str | bytes) or not isinstance(run_ids, Sequence):
        raise _invalid(["run_ids"], "must be a list of run ids")
    for index, run_id in enumerate(run_ids):
        _text(["run_ids", index, "run_id"], run_id, MAX_ID_CHARS)
    return list(dict.fromkeys(run_ids))


def check_max_points(value: object) -> int | None:
    """Return ``value`` if it is ``None`` or a positive ``int``.

    Raises:
        InvalidInput: it is anything else (``bool`` included).
    """
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise _invalid(["max_points"], "must be a positive int")
    return value


def check_points(points: object) -> MetricColumns:
    """Check a batch of :class:`MetricPoint` and return it as columns.

    Args:
        points: a sequence of points (or plain 6-tuples in the same order).

    Returns:
        The columns; ``int`` subclasses are turned into ``int`` and numbers into
        ``float``, so the columns hold exactly the types they are named for.

    Raises:
        InvalidInput: ``points`` is not a sequence, or a point is malformed; the
            error names the first bad point's index and field.
    """
    if isinstance(points, str | bytes) or not isinstance(points, Sequence):
        raise _invalid(["points"], "must be a list of metric points")
    fast = _fast_columns(points)
    return fast if fast is not None else _slow_columns(points)


def _fast_columns(points: Sequence[object]) -> MetricColumns | None:
    """Return the columns if every point is plainly valid, else ``None``."""
    if not points:
        return MetricColumns((), (), (), (), (), ())
    if not set(map(type, points)) <= _POINT_TYPES:
        return None
    try:
        columns = MetricColumns(*zip(*points, strict=True))
        distinct = [set(columns.tenant_ids), set(columns.run_ids), set(columns.keys)]
    except (TypeError, ValueError):  # ragged points, unhashable ids
        return None
    limits = (MAX_ID_CHARS, MAX_ID_CHARS, MAX_KEY_CHARS)
    texts_ok = all(
        _text_problem(value, limit) is None
        for values, limit in zip(distinct, limits, strict=True)
        for value in values
    )
    numbers_ok = (
        set(map(type, columns.steps)) == {int}
        and set(map(type, columns.timestamps_us)) == {int}
        and set(map(type, columns.values)) == {float}
        and min(columns.steps) >= 0
        and max(columns.steps) <= INT64_MAX
        and min(columns.timestamps_us) >= INT64_MIN
        and max(columns.timestamps_us) <= INT64_MAX
    )
    return columns if texts_ok and numbers_ok else None


def _slow_columns(points: Sequence[object]) -> MetricColumns:
    checked = [_check_point(index, point) for index, point in enumerate(points)]
    if not checked:
        return MetricColumns((), (), (), (), (), ())
    return MetricColumns(*zip(*checked, strict=True))


def _check_point(index: int, point: object) -> tuple[str, str, str, int, int, float]:
    if not isinstance(point, tuple) or len(point) != _POINT_FIELDS:
        raise _invalid(["points", index], "must be a MetricPoint")
    tenant_id, run_id, key, step, timestamp_us, value = point
    return (
        _text(["points", index, "tenant_id"], tenant_id, MAX_ID_CHARS),
        _text(["points", index, "run_id"], run_id, MAX_ID_CHARS),
        _text(["points", index, "key"], key, MAX_KEY_CHARS),
        _int(["points", index, "step"], step, 0),
        _int(["points", index, "timestamp_us"], timestamp_us, INT64_MIN),
        _float(["points", index, "value"], value),
    )


def _int(loc: Loc, value: object, low: int) -> int:
    if isinstance(value, bool):
        raise _invalid(loc, "must be an int, not a bool")
    if type(value) is int:  # the common case, without a protocol check
        number = value
    else:
        try:  # anything with __index__ (numpy integers): what SupportsIndex says
            number = operator.index(value)  # type: ignore[arg-type]
        except TypeError:
            raise _invalid(loc, "must be an int") from None
    if number < low:
        raise _invalid(loc, f"must be at least {low}")
    if number > INT64_MAX:
        raise _invalid(loc, "must fit in a signed 64-bit integer")
    return number


def _float(loc: Loc, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise _invalid(loc, "must be a number")
    try:
        return float(value)
    except OverflowError:
        raise _invalid(loc, "must fit in a 64-bit float") from None
