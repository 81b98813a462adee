"""A model version's input signature, and instances checked against it.

A signature is the registry's list of ``{name, type, ...}`` entries, one per
feature in the order the model reads them; ``type`` is ``integer``, ``float``,
``boolean`` or ``string`` (the training runner writes these, with ``min``/``max``
or ``categories`` seen). :meth:`Signature.matrix` turns a request's instances,
given as records (``{"f1": 1.0, ...}``) or arrays (``[1.0, ...]`` in signature
order), into the model's input matrix, or refuses them with an
:class:`InvalidInstances` (422) whose detail and ``errors`` name the instance and
the feature: missing, not in the signature, or of the wrong type. ``null`` is a
missing value (NaN for numbers), which the model's own preprocessing handles.

The all-numeric case takes a fast path (one NumPy conversion and one pass over
the values' types); anything odd falls back to the per-value path, which finds
and names the first offending value.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

import numpy as np
import numpy.typing as npt

from phantom.kernel.errors import InvalidInput

__all__ = [
    "FEATURE_TYPES",
    "MAX_INSTANCES",
    "InvalidInstances",
    "Signature",
    "check_signature",
]

FEATURE_TYPES: Final = frozenset({"integer", "float", "boolean", "string"})
NUMERIC: Final = frozenset({"integer", "float"})
MAX_INSTANCES: Final = 10_000
"""The most instances one request may hold."""
_MAX_FEATURES: Final = 10_000
_NUMBER_TYPES: Final = frozenset({int, float})
_NULLABLE_NUMBER_TYPES: Final = frozenset({int, float, type(None)})


class InvalidInstances(InvalidInput):
    """The instances do not fit the model's signature (422, names the feature)."""

    code = "invalid-instances"
    title = "Instances do not match the model's signature"

    def __init__(self, loc: Sequence[str | int], message: str) -> None:
        path = str(loc[0]) + "".join(
            f"[{part}]" if isinstance(part, int) else f".{part}" for part in loc[1:]
        )
        super().__init__(
            f"{path}: {message}",
            errors=[{"loc": list(loc), "msg": message, "type": "value_error"}],
        )


def check_signature(entries: object) -> list[dict[str, Any]]:
    """Return ``entries`` if they form a usable signature.

    Raises:
        InvalidInput: not a non-empty list of ``{name, type}`` objects with
            unique names and known types.
    """
    if not isinstance(entries, list) or not entries:
        msg = "the model version has no signature (a list of {name, type} features)"
        raise InvalidInput(msg)
    if len(entries) > _MAX_FEATURES:
        msg = f"the signature has more than {_MAX_FEATURES} features"
        raise InvalidInput(msg)
    seen: set[str] = set()
    for index, entry in enumerate(entries):
        if not isinstance(entry, Mapping):
            msg = f"signature[{index}] is not an object"
            raise InvalidInput(msg)
        name, kind = entry.get("name"), entry.get("type")
        if not isinstance(name, str) or not name:
            msg = f"signature[{index}].name must be a non-empty string"
            raise InvalidInput(msg)
        if kind not in FEATURE_TYPES:
            known = ", ".join(sorted(FEATURE_TYPES))
            msg = f"signature[{index}].type must be one of {known}"
            raise InvalidInput(msg)
        if name in seen:
            msg = f"signature names feature {name[:100]!r} twice"
            raise InvalidInput(msg)
        seen.add(name)
    return [dict(entry) for entry in entries]


def _type_name(value: object) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    return type(value).__name__


@dataclass(frozen=True, slots=True)
class Signature:
    """A checked signature, ready to turn instances into a model input matrix.

    Attributes:
        names: the feature names, in the model's order.
        types: each feature's type.
    """

    names: tuple[str, ...]
    types: tuple[str, ...]

    @classmethod
    def of(cls, entries: object) -> Signature:
        """The signature of registry ``entries`` (see :func:`check_signature`)."""
        checked = check_signature(entries)
        return cls(
            names=tuple(str(e["name"]) for e in checked),
            types=tuple(str(e["type"]) for e in checked),
        )

    @property
    def numeric(self) -> bool:
        """Whether every feature is a number (the model takes a float matrix)."""
        return all(kind in NUMERIC for kind in self.types)

    def describe(self) -> list[dict[str, str]]:
        """``[{name, type}]``, for metadata endpoints."""
        return [
            {"name": name, "type": kind}
            for name, kind in zip(self.names, self.types, strict=True)
        ]

    # -- instances -> matrix -------------------------------------------------

    def matrix(
        self, instances: object, *, field: str = "instances"
    ) -> npt.NDArray[Any]:
        """The model's input matrix for ``instances`` (records or arrays).

        Raises:
            InvalidInstances: not a non-empty list of at most
                :data:`MAX_INSTANCES` instances, or an instance has a missing,
                unknown or mistyped feature (the detail names it).
        """
        if not isinstance(instances, list) or not instances:
            raise InvalidInstances([field], "must be a non-empty list of instances")
        if len(instances) > MAX_INSTANCES:
            msg = f"at most {MAX_INSTANCES} instances per request"
            raise InvalidInstances([field], msg)
        rows = self._rows(instances, field)
        if self.numeric:
            fast = self._numeric_fast(rows)
            if fast is not None:
                return fast
        return self._checked(rows, field)

    def _rows(self, instances: list[Any], field: str) -> list[Any]:
        """Arrays as given; records reordered into arrays (or the first problem)."""
        first = instances[0]
        if isinstance(first, list):
            return instances
        names, width = self.names, len(self.names)
        try:
            rows = [[row[name] for name in names] for row in instances]
        except (KeyError, TypeError):
            rows = None
        if rows is not None and all(len(row) == width for row in instances):
            return rows
        for index, row in enumerate(instances):
            self._check_record(row, [field, index])
        return rows if rows is not None else []  # pragma: no cover - raised above

    def _check_record(self, row: object, loc: list[str | int]) -> None:
        if not isinstance(row, dict):
            msg = f"must be an object or an array, not {_type_name(row)}"
            raise InvalidInstances(loc, msg)
        for name in self.names:
            if name not in row:
                raise InvalidInstances([*loc, name], f"missing feature {name!r}")
        for key in row:
            if key not in self.names:
                msg = f"unknown feature {str(key)[:100]!r} (not in the signature)"
                raise InvalidInstances([*loc, str(key)[:100]], msg)

    def _numeric_fast(self, rows: list[Any]) -> npt.NDArray[np.float64] | None:  # noqa: PLR0911 - each early exit hands a case to the slow path
        try:
            types = set(map(type, itertools.chain.from_iterable(rows)))
        except TypeError:
            return None
        if not types <= _NULLABLE_NUMBER_TYPES:
            return None
        try:
            matrix = np.array(rows, dtype=np.float64)
        except (ValueError, TypeError, OverflowError):
            return None
        if matrix.ndim != 2 or matrix.shape[1] != len(self.names):
            return None
        if np.isinf(matrix).any():
            return None  # an infinity, or an integer too large for a float: named
        if types <= _NUMBER_TYPES and np.isnan(matrix).any():
            return None  # a NaN token in the body: the slow path names it
        whole = self._integer_columns
        if whole and float in types:
            part = matrix[:, whole]
            if not np.all(np.isnan(part) | (part == np.floor(part))):
                return None  # a fraction in an integer feature: the slow path names it
        return matrix

    @property
    def _integer_columns(self) -> list[int]:
        return [i for i, kind in enumerate(self.types) if kind == "integer"]

    def _checked(self, rows: list[Any], field: str) -> npt.NDArray[Any]:
        width = len(self.names)
        numeric = self.numeric
        out: npt.NDArray[Any] = np.empty(
            (len(rows), width), dtype=np.float64 if numeric else object
        )
        for index, row in enumerate(rows):
            loc: list[str | int] = [field, index]
            if not isinstance(row, list):
                msg = f"must be an array like the first instance, not {_type_name(row)}"
                raise InvalidInstances(loc, msg)
            if len(row) != width:
                msg = f"has {len(row)} values; the signature has {width} features"
                raise InvalidInstances(loc, msg)
            for column, value in enumerate(row):
                out[index, column] = self._value(value, column, loc)
        return out

    def _value(self, value: object, column: int, loc: list[str | int]) -> object:
        name, kind = self.names[column], self.types[column]
        if value is None:
            return math.nan if kind in NUMERIC else None
        if kind in NUMERIC:
            if isinstance(value, bool) or not isinstance(value, int | float):
                msg = f"feature {name!r} must be a number, not {_type_name(value)}"
                raise InvalidInstances([*loc, name], msg)
            try:
                number = float(value)
            except OverflowError:
                number = math.inf
            if not math.isfinite(number):
                msg = f"feature {name!r} must be a finite number"
                raise InvalidInstances([*loc, name], msg)
            if kind == "integer" and not number.is_integer():
                msg = f"feature {name!r} must be a whole number"
                raise InvalidInstances([*loc, name], msg)
            return number
        if kind == "boolean" and not isinstance(value, bool):
            msg = f"feature {name!r} must be a boolean, not {_type_name(value)}"
            raise InvalidInstances([*loc, name], msg)
        if kind == "string" and not isinstance(value, str):
            msg = f"feature {name!r} must be a string, not {_type_name(value)}"
            raise InvalidInstances([*loc, name], msg)
        return value
