"""Argument checks for the prediction log, feedback and their queries.

Like :mod:`phantom.kernel.analytics.checks`, each failure is an
:class:`~phantom.kernel.errors.InvalidInput` naming the field and carrying its
location; offending values are never echoed.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Final, NamedTuple

import pyarrow as pa

from phantom.kernel.analytics.checks import (
    INT64_MIN,
    Loc,
    _int,
    _invalid,
    _text,
    check_id,
)
from phantom.kernel.analytics.port import MAX_ID_CHARS, MAX_KEY_CHARS
from phantom.kernel.analytics.predictions import (
    MAX_LABEL_CHARS,
    MAX_WINDOW_ROWS,
    STATUSES,
    FeedbackRecord,
    PredictionRecord,
)

__all__ = [
    "MAX_LOGGED_JSON_CHARS",
    "Window",
    "check_feedback",
    "check_predictions",
    "check_window",
    "record_batch",
]

_ROUTES: Final = frozenset({"primary", "canary", "shadow"})
MAX_LOGGED_JSON_CHARS: Final = 1_000_000
"""The longest ``inputs`` or ``outputs`` text of one logged prediction."""


class Window(NamedTuple):
    """Checked query filters; ``None`` means no filter."""

    tenant_id: str
    model: str | None
    version: int | None
    since_us: int | None
    until_us: int | None
    limit: int
    status: str | None

    def params(self, *names: str) -> dict[str, str | int | None]:
        """The named query parameters (``tenant``, ``since``...) of the filters."""
        values: dict[str, str | int | None] = {
            "tenant": self.tenant_id,
            "model": self.model,
            "version": self.version,
            "since": self.since_us,
            "until": self.until_us,
            "limit": self.limit,
            "status": self.status,
        }
        return {name: values[name] for name in names}


_INT_COLUMNS: Final = frozenset(
    {"version", "timestamp_us", "latency_us", "rows", "row"}
)


def record_batch(fields: Sequence[str], records: Sequence[tuple[Any, ...]]) -> pa.Table:
    """Checked records as an Arrow table (integers as int64, the rest as text).

    Engines scan Arrow natively instead of converting each Python string while
    holding the GIL (which serving's request threads would wait for).
    """
    columns = list(zip(*records, strict=True))
    return pa.table(
        {
            name: pa.array(
                column, type=pa.int64() if name in _INT_COLUMNS else pa.string()
            )
            for name, column in zip(fields, columns, strict=True)
        }
    )


def check_predictions(records: object) -> list[PredictionRecord]:
    """Return ``records`` as checked :class:`PredictionRecord` values.

    Raises:
        InvalidInput: ``records`` is not a sequence of well-formed records; the
            detail names the record's index and field.
    """
    if isinstance(records, str | bytes) or not isinstance(records, Sequence):
        raise _invalid(["records"], "must be a sequence of prediction records")
    checked: list[PredictionRecord] = []
    for index, record in enumerate(records):
        if not isinstance(record, PredictionRecord):
            raise _invalid(["records", index], "must be a PredictionRecord")
        loc: Loc = ["records", index]
        _text([*loc, "tenant_id"], record.tenant_id, MAX_ID_CHARS)
        _text([*loc, "prediction_id"], record.prediction_id, MAX_ID_CHARS)
        _text([*loc, "model"], record.model, MAX_KEY_CHARS)
        if record.route not in _ROUTES:
            raise _invalid([*loc, "route"], "must be primary, canary or shadow")
        if record.status not in STATUSES:
            raise _invalid([*loc, "status"], "must be ok or error")
        _int([*loc, "version"], record.version, 1)
        _int([*loc, "timestamp_us"], record.timestamp_us, INT64_MIN)
        _int([*loc, "latency_us"], record.latency_us, 0)
        _int([*loc, "rows"], record.rows, 1)
        _text([*loc, "inputs"], record.inputs, MAX_LOGGED_JSON_CHARS)
        _text([*loc, "outputs"], record.outputs, MAX_LOGGED_JSON_CHARS)
        checked.append(record)
    return checked


def check_feedback(records: object) -> list[FeedbackRecord]:
    """Return ``records`` as checked :class:`FeedbackRecord` values.

    Raises:
        InvalidInput: ``records`` is not a sequence of well-formed records.
    """
    if isinstance(records, str | bytes) or not isinstance(records, Sequence):
        raise _invalid(["records"], "must be a sequence of feedback records")
    checked: list[FeedbackRecord] = []
    for index, record in enumerate(records):
        if not isinstance(record, FeedbackRecord):
            raise _invalid(["records", index], "must be a FeedbackRecord")
        loc: Loc = ["records", index]
        _text([*loc, "tenant_id"], record.tenant_id, MAX_ID_CHARS)
        _text([*loc, "model"], record.model, MAX_KEY_CHARS)
        _text([*loc, "prediction_id"], record.prediction_id, MAX_ID_CHARS)
        _int([*loc, "row"], record.row, 0)
        _int([*loc, "timestamp_us"], record.timestamp_us, INT64_MIN)
        _text([*loc, "label"], record.label, MAX_LABEL_CHARS)
        checked.append(record)
    return checked


def check_window(  # noqa: PLR0913 - the query's filters, checked together
    tenant_id: object,
    model: object = None,
    *,
    version: object = None,
    since_us: object = None,
    until_us: object = None,
    limit: object = MAX_WINDOW_ROWS,
    status: object = None,
) -> Window:
    """The checked filters of a prediction, feedback or roll-up query.

    Raises:
        InvalidInput: a filter is malformed (the detail names it).
    """
    if isinstance(limit, bool) or not isinstance(limit, int):
        raise _invalid(["limit"], "must be an int")
    if not 1 <= limit <= MAX_WINDOW_ROWS:
        raise _invalid(["limit"], f"must be between 1 and {MAX_WINDOW_ROWS}")
    if status is not None and status not in STATUSES:
        raise _invalid(["status"], "must be ok or error")
    return Window(
        tenant_id=check_id("tenant_id", tenant_id),
        model=None if model is None else _text(["model"], model, MAX_KEY_CHARS),
        version=None if version is None else _int(["version"], version, 1),
        since_us=None if since_us is None else _int(["since_us"], since_us, INT64_MIN),
        until_us=None if until_us is None else _int(["until_us"], until_us, INT64_MIN),
        limit=limit,
        status=None if status is None else str(status),
    )
