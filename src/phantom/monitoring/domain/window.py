"""Windows of logged rows, counted against a reference profile, chunk by chunk.

A window keeps counts only, never the rows: per numeric column how many values
lie below and at or below each point of the reference's KS grid (see
:mod:`.ecdf`) and how many fall in each PSI/JS bin; per categorical column the
count of each reference category, with unseen categories in *other*; and per
column the missing values. Counting a numeric chunk sorts it once and searches
the grid points and bin edges in it. Counts add, so windows merge
(:meth:`WindowProfile.merge`) and a window built chunk by chunk equals the same
rows counted at once.

A chunk without the model's outputs (``predictions=None``) leaves the output
columns as they were; with none at all, the report shows insufficient data.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from phantom.monitoring.domain.columns import (
    Columns,
    categorize,
    check_table,
    finite_values,
)
from phantom.monitoring.domain.ecdf import ecdf_counts, sorts_first
from phantom.monitoring.domain.errors import SchemaMismatch
from phantom.monitoring.domain.profile import ReferenceProfile

__all__ = ["WindowAccumulator", "WindowProfile", "profile_window"]

Ints = npt.NDArray[np.int64]
Table = dict[str, npt.NDArray[Any]]
_ARRAYS = (
    "below",
    "upto",
    "bins",
    "numeric_missing",
    "categories",
    "categorical_missing",
)


@dataclass(frozen=True, slots=True, eq=False)
class WindowProfile:
    """The counts of a window of rows, shaped by its reference profile's layout.

    Attributes:
        rows: rows counted.
        below: values below each KS grid point, one row per numeric column.
        upto: values at or below each KS grid point, same shape.
        bins: values per PSI/JS bin, one row per numeric column.
        numeric_missing: NaN/infinite values per numeric column.
        categories: values per category (*other* last), one row per
            categorical column.
        categorical_missing: missing values per categorical column.
    """

    rows: int
    below: Ints
    upto: Ints
    bins: Ints
    numeric_missing: Ints
    categories: Ints
    categorical_missing: Ints

    @classmethod
    def empty(cls, profile: ReferenceProfile) -> WindowProfile:
        """A window with no rows yet."""
        numeric, categorical = profile.layout.numeric, profile.layout.categorical
        kn, kc = len(numeric.positions), len(categorical.positions)
        return cls(
            rows=0,
            below=np.zeros(numeric.below.shape, dtype=np.int64),
            upto=np.zeros(numeric.below.shape, dtype=np.int64),
            bins=np.zeros(numeric.bin_counts.shape, dtype=np.int64),
            numeric_missing=np.zeros(kn, dtype=np.int64),
            categories=np.zeros(categorical.counts.shape, dtype=np.int64),
            categorical_missing=np.zeros(kc, dtype=np.int64),
        )

    @property
    def shape(self) -> tuple[tuple[int, ...], ...]:
        """The shapes of the count arrays (equal for windows of one profile)."""
        return (self.below.shape, self.bins.shape, self.categories.shape)

    @staticmethod
    def shape_for(profile: ReferenceProfile) -> tuple[tuple[int, ...], ...]:
        """The :attr:`shape` of every window of ``profile``."""
        numeric, categorical = profile.layout.numeric, profile.layout.categorical
        return (numeric.below.shape, numeric.bin_counts.shape, categorical.counts.shape)

    @property
    def numeric_count(self) -> Ints:
        """Finite values per numeric column."""
        return np.asarray(self.bins.sum(axis=1), dtype=np.int64)

    @property
    def categorical_count(self) -> Ints:
        """Non-missing values per categorical column."""
        return np.asarray(self.categories.sum(axis=1), dtype=np.int64)

    def to_dict(self) -> dict[str, Any]:
        """The counts as JSON-able lists, to store a window and merge it later."""
        return {
            "rows": self.rows,
            **{key: getattr(self, key).tolist() for key in _ARRAYS},
        }

    @classmethod
    def from_dict(
        cls, profile: ReferenceProfile, data: Mapping[str, Any]
    ) -> WindowProfile:
        """Read back :meth:`to_dict`'s output for a window of ``profile``.

        Raises:
            SchemaMismatch: the counts do not fit the profile, or are malformed.
        """
        empty = cls.empty(profile)
        try:
            arrays = {key: np.asarray(data[key], dtype=np.int64) for key in _ARRAYS}
            rows = int(data["rows"])
        except (KeyError, TypeError, ValueError) as exc:
            msg = f"malformed window: {exc}"
            raise SchemaMismatch(msg) from exc
        for key, array in arrays.items():
            if array.shape != getattr(empty, key).shape or (array < 0).any():
                msg = f"window counts {key!r} do not fit the profile"
                raise SchemaMismatch(msg)
        return cls(rows=rows, **arrays)

    def merge(self, other: WindowProfile) -> WindowProfile:
        """The window holding the rows of both.

        Raises:
            SchemaMismatch: the windows belong to differently shaped profiles.
        """
        if self.shape != other.shape:
            raise SchemaMismatch("windows of different reference profiles")
        return WindowProfile(
            rows=self.rows + other.rows,
            below=self.below + other.below,
            upto=self.upto + other.upto,
            bins=self.bins + other.bins,
            numeric_missing=self.numeric_missing + other.numeric_missing,
            categories=self.categories + other.categories,
            categorical_missing=self.categorical_missing + other.categorical_missing,
        )


class WindowAccumulator:
    """Counts chunks of logged rows into one window of ``profile``.

    Not thread-safe: one accumulator per window. A chunk that fails its checks
    leaves the window as it was.
    """

    __slots__ = ("_profile", "_rows", "_window")

    def __init__(self, profile: ReferenceProfile) -> None:
        self._profile = profile
        self._window = WindowProfile.empty(profile)  # owned: updated in place
        self._rows = 0

    @property
    def profile(self) -> ReferenceProfile:
        """The reference profile the window is counted against."""
        return self._profile

    @property
    def rows(self) -> int:
        """Rows counted so far."""
        return self._rows

    def add(self, features: Columns, predictions: Columns | None = None) -> None:
        """Count a chunk: its feature columns and, optionally, the model's outputs.

        Columns the profile does not know are ignored.

        Raises:
            InvalidColumns: the chunk is malformed.
            SchemaMismatch: it lacks a column of the profile.
        """
        chunk = profile_window(self._profile, features, predictions)
        mine = self._window
        mine.below[...] += chunk.below
        mine.upto[...] += chunk.upto
        mine.bins[...] += chunk.bins
        mine.numeric_missing[...] += chunk.numeric_missing
        mine.categories[...] += chunk.categories
        mine.categorical_missing[...] += chunk.categorical_missing
        self._rows += chunk.rows

    def snapshot(self) -> WindowProfile:
        """A copy of the window as it stands."""
        w = self._window
        return WindowProfile(
            self._rows,
            w.below.copy(),
            w.upto.copy(),
            w.bins.copy(),
            w.numeric_missing.copy(),
            w.categories.copy(),
            w.categorical_missing.copy(),
        )


def profile_window(
    profile: ReferenceProfile, features: Columns, predictions: Columns | None = None
) -> WindowProfile:
    """Count a batch of rows against ``profile`` (as :meth:`WindowAccumulator.add`)."""
    table, rows = _chunk(profile, features, predictions)
    window = WindowProfile.empty(profile)
    _count_numeric(profile, table, window)
    _count_categorical(profile, table, window)
    return WindowProfile(
        rows,
        window.below,
        window.upto,
        window.bins,
        window.numeric_missing,
        window.categories,
        window.categorical_missing,
    )


def _chunk(
    profile: ReferenceProfile, features: Columns, predictions: Columns | None
) -> tuple[Table, int]:
    table, rows = check_table(features, "window")
    wanted = profile.names_of("feature")
    if predictions is not None:
        outputs, output_rows = check_table(predictions, "prediction")
        if outputs and output_rows != rows:
            raise SchemaMismatch("predictions need one row per window row")
        table = {**table, **outputs}
        wanted += profile.names_of("prediction")
    absent = [name for name in wanted if name not in table]
    if absent:
        msg = f"the window lacks the profile's columns {absent[:20]}"
        raise SchemaMismatch(msg)
    return table, rows


def _count_numeric(
    profile: ReferenceProfile, table: Table, window: WindowProfile
) -> None:
    numeric = profile.layout.numeric
    for row, position in enumerate(numeric.positions):
        name = profile.names[position]
        if name not in table:
            continue
        values, window.numeric_missing[row] = finite_values(name, table[name])
        points, edges = numeric.points[row], numeric.edges[row]
        presorted = sorts_first(values.size, points.size)
        if presorted:
            values = np.sort(values)
            cuts = np.searchsorted(values, edges, side="left")
            window.bins[row, : edges.size + 1] = np.diff(
                cuts, prepend=0, append=values.size
            )
        else:
            index = np.searchsorted(edges, values, side="right")
            window.bins[row, : edges.size + 1] = np.bincount(
                index, minlength=edges.size + 1
            )
        below, upto = ecdf_counts(points, values, presorted=presorted)
        window.below[row] = values.size  # past the column's own points: everything
        window.upto[row] = values.size
        window.below[row, : points.size] = below
        window.upto[row, : points.size] = upto


def _count_categorical(
    profile: ReferenceProfile, table: Table, window: WindowProfile
) -> None:
    categorical = profile.layout.categorical
    other = categorical.other
    for row, position in enumerate(categorical.positions):
        name = profile.names[position]
        if name not in table:
            continue
        uniques, inverse = categorize(table[name])
        lookup = categorical.index[row]
        codes = np.asarray(
            [-1 if u is None else lookup.get(u, other) for u in uniques], dtype=np.intp
        )
        per_unique = np.bincount(inverse, minlength=len(uniques))
        present = codes >= 0
        np.add.at(window.categories[row], codes[present], per_unique[present])
        window.categorical_missing[row] = int(per_unique[~present].sum())
