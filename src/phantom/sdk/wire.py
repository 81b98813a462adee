"""How the SDK encodes bodies and decodes answers (JSON, metric batches).

JSON goes through pydantic-core (Rust) both ways: a 100,000-point history is a
few megabytes. ``NaN`` and infinities travel as the ``NaN``/``Infinity``
constants that Python's ``json`` (the server's) reads and writes: a training loss
may well be NaN.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Final, NamedTuple, cast
from urllib.parse import quote

import pydantic_core

from phantom.sdk.errors import ValidationError

__all__ = [
    "MAX_BATCH",
    "MAX_KEY_CHARS",
    "JsonValue",
    "Metric",
    "Point",
    "check_metric_key",
    "check_step",
    "decode",
    "encode",
    "encode_points",
    "normalise_metrics",
    "now_us",
    "segment",
    "to_us",
]

MAX_BATCH: Final = 10_000
"""The most points the server takes in one request."""
MAX_KEY_CHARS: Final = 250
_MAX_STEP: Final = 2**63 - 1
_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)

JsonValue = dict[str, "JsonValue"] | list["JsonValue"] | str | int | float | bool | None
"""A decoded JSON document."""


class Metric(NamedTuple):
    """One metric point to log.

    Attributes:
        key: the metric's name (1 to 250 characters).
        value: its value (NaN and infinities allowed).
        step: the step (≥ 0).
        timestamp: when it was measured (aware, or naive UTC); ``None`` lets the
            server stamp it on arrival.
    """

    key: str
    value: float
    step: int = 0
    timestamp: datetime | None = None


Point = tuple[str, float, int, int | None]
"""A point on the wire: key, value, step, timestamp in µs since the epoch."""


def encode(document: object) -> bytes:
    """``document`` as compact JSON (NaN and infinities as constants)."""
    return pydantic_core.to_json(document, inf_nan_mode="constants")


def decode(content: bytes) -> JsonValue:
    """Parse a JSON answer (NaN and infinity constants accepted)."""
    value: JsonValue = pydantic_core.from_json(content, allow_inf_nan=True)
    return value


def segment(value: str) -> str:
    """``value`` quoted as one URL path segment."""
    return quote(value, safe="")


def now_us() -> int:
    """The current time in microseconds since the Unix epoch."""
    return time.time_ns() // 1000


def to_us(moment: datetime) -> int:
    """A datetime in µs since the epoch (a naive one is taken as UTC)."""
    aware = moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
    delta = aware - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def _local_error(detail: str, field: str) -> ValidationError:
    errors = [{"loc": [field], "msg": detail, "type": "value_error"}]
    return ValidationError(422, "invalid-field", "Invalid field", detail, errors)


def check_metric_key(key: object) -> str:
    """``key`` if it is a valid metric key; else a :class:`ValidationError`.

    Checked before a point is buffered: the server takes a batch all or nothing,
    so one bad key would cost the whole batch.
    """
    if not isinstance(key, str) or not 0 < len(key) <= MAX_KEY_CHARS or "\0" in key:
        detail = f"a metric key is 1 to {MAX_KEY_CHARS} characters, got {key!r:.60}"
        raise _local_error(detail, "key")
    try:
        key.encode()
    except UnicodeEncodeError:
        raise _local_error("a metric key must be valid Unicode", "key") from None
    return key


def check_step(step: object) -> int:
    """``step`` if it is an int in 0..2**63-1; else a :class:`ValidationError`."""
    if (
        isinstance(step, bool)
        or not isinstance(step, int)
        or not 0 <= step <= _MAX_STEP
    ):
        detail = f"a metric step is an int from 0 to 2**63-1, got {step!r:.40}"
        raise _local_error(detail, "step")
    return step


class _Stamps:
    """Formats µs timestamps as ISO 8601, reusing the text of the same second."""

    __slots__ = ("_prefix", "_second")

    def __init__(self) -> None:
        self._second = -1
        self._prefix = ""

    def __call__(self, us: int) -> str:
        second, micro = divmod(us, 1_000_000)
        if second != self._second:
            moment = datetime.fromtimestamp(second, UTC)
            self._second, self._prefix = second, moment.strftime("%Y-%m-%dT%H:%M:%S")
        return f"{self._prefix}.{micro:06d}Z"


def _number(value: float) -> str:
    if math.isfinite(value):
        return repr(value)
    if math.isnan(value):
        return "NaN"
    return "Infinity" if value > 0 else "-Infinity"


def encode_points(points: Sequence[Point]) -> bytes:
    """The body of ``POST /v1/runs/{id}/metrics`` for ``points`` (≤ 10,000).

    Built as text directly: it is the SDK's hottest path, and an f-string per
    point is several times cheaper than a dict per point handed to an encoder.
    """
    stamp = _Stamps()
    keys: dict[str, str] = {}
    parts: list[str] = []
    for key, value, step, us in points:
        quoted = keys.get(key)
        if quoted is None:
            quoted = keys[key] = encode(key).decode()
        number = repr(value) if value - value == 0 else _number(value)
        if us is None:
            parts.append(f'{{"key":{quoted},"value":{number},"step":{step}}}')
        else:
            parts.append(
                f'{{"key":{quoted},"value":{number},"step":{step},'
                f'"timestamp":"{stamp(us)}"}}'
            )
    return ('{"metrics":[' + ",".join(parts) + "]}").encode()


def normalise_metrics(metrics: Iterable[Metric | Mapping[str, object]]) -> list[Point]:
    """Check points given as :class:`Metric` or mappings with the same fields."""
    points: list[Point] = []
    for index, metric in enumerate(metrics):
        item = metric if isinstance(metric, Metric) else _from_mapping(index, metric)
        stamp = None if item.timestamp is None else to_us(item.timestamp)
        points.append(
            (
                check_metric_key(item.key),
                float(item.value),
                check_step(item.step),
                stamp,
            )
        )
    return points


def _from_mapping(index: int, metric: Mapping[str, object]) -> Metric:
    unknown = sorted(set(metric) - set(Metric._fields))
    value, stamp = metric.get("value"), metric.get("timestamp")
    if unknown:
        problem: str | None = f"unknown fields {unknown}"
    elif not isinstance(metric.get("key"), str) or not isinstance(value, int | float):
        problem = "needs a string key and a number value"
    elif stamp is not None and not isinstance(stamp, datetime):
        problem = "its timestamp must be a datetime"
    else:
        problem = None
    if problem is not None:
        detail = f"metrics[{index}]: {problem}"
        raise _local_error(detail, "metrics")
    return Metric(
        key=str(metric["key"]),
        value=float(cast("float", value)),
        step=check_step(metric.get("step", 0)),
        timestamp=cast("datetime | None", stamp),
    )
