"""A model version's reference profile, built once from its training data.

:func:`build_profile` reads the training table (and, optionally, the model's
outputs on it) once and keeps what drift statistics need, so that windows of
logged inputs are compared with it without re-reading the data: quantile bins
for PSI and Jensen-Shannon, a KS grid (see :mod:`.ecdf`: exact by default up to
``ks_resolution`` distinct values per column, error at most about
``1 / ks_resolution`` beyond), and category counts.

A profile stores as a JSON-able dict (:meth:`ReferenceProfile.to_dict`) or as
one ``.npz`` blob (:meth:`ReferenceProfile.to_bytes`, smaller and faster for
large grids); both carry :data:`PROFILE_VERSION` and refuse other versions.
"""

from __future__ import annotations

import io
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final, cast

import numpy as np

from phantom.monitoring.domain.columns import (
    Columns,
    Kind,
    Role,
    check_table,
    finite_values,
    infer_kind,
)
from phantom.monitoring.domain.errors import InvalidColumns, InvalidProfile
from phantom.monitoring.domain.layout import Layout
from phantom.monitoring.domain.reference import (
    CategoricalProfile,
    ColumnProfile,
    NumericProfile,
)

__all__ = [
    "DEFAULT_BINS",
    "DEFAULT_KS_RESOLUTION",
    "DEFAULT_MAX_CATEGORIES",
    "PROFILE_VERSION",
    "ReferenceProfile",
    "build_profile",
]

PROFILE_VERSION: Final = 1
"""The serialized format's version; bumped on any incompatible change."""
DEFAULT_BINS: Final = 10
"""Quantile bins per numeric column for PSI and Jensen-Shannon (deciles)."""
DEFAULT_KS_RESOLUTION: Final = 4096
"""KS grid points per numeric column before the grid stops being exact."""
DEFAULT_MAX_CATEGORIES: Final = 200
"""Categories kept per categorical column; rarer ones count as *other*."""
_FORMAT: Final = "phantom.monitoring.reference-profile"


@dataclass(frozen=True, slots=True, eq=False)
class ReferenceProfile:
    """What drift detection keeps of a reference table.

    Attributes:
        names: the columns, features first, then the model's outputs.
        roles: each column's role, ``feature`` or ``prediction``.
        columns: each column's profile.
        rows: the reference's number of rows.
        bins: the quantile bins asked for per numeric column.
        ks_resolution: the KS grid resolution asked for (``None``: exact).
        version: the format version (:data:`PROFILE_VERSION`).
        layout: the columns as padded arrays, which windows and reports use
            (derived, not stored).
    """

    names: tuple[str, ...]
    roles: tuple[Role, ...]
    columns: tuple[ColumnProfile, ...]
    rows: int
    bins: int = DEFAULT_BINS
    ks_resolution: int | None = DEFAULT_KS_RESOLUTION
    version: int = PROFILE_VERSION
    layout: Layout = field(init=False, repr=False)

    def __post_init__(self) -> None:
        if not len(self.names) == len(self.roles) == len(self.columns):
            raise InvalidProfile("one role and one profile per column")
        if len(set(self.names)) != len(self.names):
            raise InvalidProfile("column names must be unique")
        object.__setattr__(self, "layout", Layout.of(self.columns))

    @property
    def kinds(self) -> tuple[Kind, ...]:
        """Each column's kind."""
        return tuple(column.kind for column in self.columns)

    def names_of(self, role: Role) -> tuple[str, ...]:
        """The columns with ``role``, in order."""
        return tuple(
            n for n, r in zip(self.names, self.roles, strict=True) if r == role
        )

    def column(self, name: str) -> ColumnProfile:
        """The profile of column ``name``.

        Raises:
            KeyError: there is no such column.
        """
        try:
            return self.columns[self.names.index(name)]
        except ValueError:
            raise KeyError(name) from None

    def to_dict(self) -> dict[str, Any]:
        """The profile as a JSON-able dict."""
        return {
            "format": _FORMAT,
            "version": self.version,
            "rows": self.rows,
            "bins": self.bins,
            "ks_resolution": self.ks_resolution,
            "columns": [
                {"name": name, "role": role, **column.to_dict()}
                for name, role, column in zip(
                    self.names, self.roles, self.columns, strict=True
                )
            ],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ReferenceProfile:
        """Read back :meth:`to_dict`'s output.

        Raises:
            InvalidProfile: not a profile, of another version, or malformed.
        """
        if data.get("format") != _FORMAT or data.get("version") != PROFILE_VERSION:
            msg = f"not a version {PROFILE_VERSION} reference profile"
            raise InvalidProfile(msg)
        try:
            columns = [_column_from_dict(c) for c in data["columns"]]
            return cls(
                names=tuple(str(c["name"]) for c in data["columns"]),
                roles=tuple(_role(c["role"]) for c in data["columns"]),
                columns=tuple(columns),
                rows=int(data["rows"]),
                bins=int(data["bins"]),
                ks_resolution=_optional_int(data["ks_resolution"]),
            )
        except (KeyError, TypeError, ValueError) as exc:
            msg = f"malformed reference profile: {exc}"
            raise InvalidProfile(msg) from exc

    def to_bytes(self) -> bytes:
        """The profile as one ``.npz`` blob: a JSON header and the numeric arrays."""
        header = self.to_dict()
        arrays: dict[str, np.ndarray[Any, Any]] = {}
        for i, column in enumerate(header["columns"]):
            if column["kind"] == "numeric":
                grid = column.pop("grid")
                arrays[f"{i}.edges"] = np.asarray(column.pop("edges"), np.float64)
                arrays[f"{i}.points"] = np.asarray(grid["points"], np.float64)
                arrays[f"{i}.below"] = np.asarray(grid["below"], np.int64)
                arrays[f"{i}.upto"] = np.asarray(grid["upto"], np.int64)
                column["error_bound"] = grid["error_bound"]
        arrays["header"] = np.frombuffer(json.dumps(header).encode(), dtype=np.uint8)
        buffer = io.BytesIO()
        np.savez(buffer, allow_pickle=False, **arrays)
        return buffer.getvalue()

    @classmethod
    def from_bytes(cls, blob: bytes) -> ReferenceProfile:
        """Read back :meth:`to_bytes`'s output.

        Raises:
            InvalidProfile: not such a blob, of another version, or malformed.
        """
        try:
            with np.load(io.BytesIO(blob), allow_pickle=False) as npz:
                header = json.loads(npz["header"].tobytes())
                for i, column in enumerate(header["columns"]):
                    if column["kind"] == "numeric":
                        column["edges"] = npz[f"{i}.edges"]
                        column["grid"] = {
                            "points": npz[f"{i}.points"],
                            "below": npz[f"{i}.below"],
                            "upto": npz[f"{i}.upto"],
                            "error_bound": column.pop("error_bound"),
                        }
        except (OSError, KeyError, TypeError, ValueError) as exc:
            msg = f"not a reference profile blob: {exc}"
            raise InvalidProfile(msg) from exc
        return cls.from_dict(header)


def build_profile(  # noqa: PLR0913 - each knob is keyword-only and defaulted
    features: Columns,
    *,
    predictions: Columns | None = None,
    kinds: Mapping[str, Kind] | None = None,
    bins: int = DEFAULT_BINS,
    ks_resolution: int | None = DEFAULT_KS_RESOLUTION,
    max_categories: int = DEFAULT_MAX_CATEGORIES,
) -> ReferenceProfile:
    """Profile a reference table once (see the module docstring).

    Args:
        features: the training inputs, column name -> 1-D values.
        predictions: the model's outputs on them (labels, probabilities,
            regression values), profiled the same way and reported apart.
        kinds: column kinds that the dtype does not tell (see :mod:`.columns`).
        bins: quantile bins per numeric column, at least 2.
        ks_resolution: KS grid points per numeric column; ``None`` keeps every
            distinct value, so that KS is always exact.
        max_categories: categories kept per categorical column, at least 1.

    Raises:
        InvalidColumns: the tables are malformed, empty, or share a column name.
    """
    if (
        bins < 2
        or max_categories < 1
        or (ks_resolution is not None and ks_resolution < 1)
    ):
        raise InvalidColumns("bins >= 2, max_categories >= 1, ks_resolution >= 1")
    table, rows = check_table(features, "reference")
    outputs, output_rows = check_table(predictions or {}, "prediction")
    if not table or rows == 0:
        raise InvalidColumns("the reference needs at least one column and one row")
    if outputs and output_rows != rows:
        raise InvalidColumns("predictions need one row per reference row")
    if shared := set(table) & set(outputs):
        msg = f"names used for a feature and an output: {sorted(shared)}"
        raise InvalidColumns(msg)
    kinds = _check_kinds(kinds or {}, {**table, **outputs})
    names: list[str] = []
    roles: list[Role] = []
    columns: list[ColumnProfile] = []
    for role, part in (("feature", table), ("prediction", outputs)):
        for name, array in part.items():
            kind = kinds.get(name) or infer_kind(name, array)
            if kind == "numeric":
                values, missing = finite_values(name, array)
                column: ColumnProfile = NumericProfile.build(
                    values, missing, bins=bins, resolution=ks_resolution
                )
            else:
                column = CategoricalProfile.build(array, max_categories=max_categories)
            names.append(name)
            roles.append(cast("Role", role))
            columns.append(column)
    return ReferenceProfile(
        tuple(names), tuple(roles), tuple(columns), rows, bins, ks_resolution
    )


def _check_kinds(
    kinds: Mapping[str, Kind], table: Mapping[str, object]
) -> Mapping[str, Kind]:
    unknown = sorted(set(kinds) - set(table))
    if unknown:
        msg = f"kinds given for columns not in the table: {unknown}"
        raise InvalidColumns(msg)
    bad = sorted(n for n, k in kinds.items() if k not in ("numeric", "categorical"))
    if bad:
        msg = f"kinds must be 'numeric' or 'categorical': {bad}"
        raise InvalidColumns(msg)
    return kinds


def _column_from_dict(data: Mapping[str, Any]) -> ColumnProfile:
    if data["kind"] == "numeric":
        return NumericProfile.from_dict(data)
    if data["kind"] == "categorical":
        return CategoricalProfile.from_dict(data)
    msg = f"unknown column kind {data['kind']!r}"
    raise ValueError(msg)


def _role(value: object) -> Role:
    if value == "feature":
        return "feature"
    if value == "prediction":
        return "prediction"
    msg = f"unknown column role {value!r}"
    raise ValueError(msg)


def _optional_int(value: object) -> int | None:
    return None if value is None else int(cast("int", value))
