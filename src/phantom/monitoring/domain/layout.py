"""The reference as zero-padded arrays, one row per column, for vectorised work.

Numeric columns have different numbers of bins and grid points, categorical
columns different numbers of categories. Each block pads them to the widest:
bins and categories with zero counts (which no statistic sees), grid points
with the column's full count (where both ECDFs are 1). A window of a profile
is a set of count arrays of the same shapes (see :mod:`.window`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from phantom.monitoring.domain.columns import Category
from phantom.monitoring.domain.reference import (
    CategoricalProfile,
    ColumnProfile,
    NumericProfile,
)

__all__ = ["CategoricalBlock", "Layout", "NumericBlock"]

Floats = npt.NDArray[np.float64]
Ints = npt.NDArray[np.int64]


@dataclass(frozen=True, slots=True, eq=False)
class NumericBlock:
    """The numeric columns of a profile.

    Attributes:
        positions: each row's index among the profile's columns.
        edges: each column's bin edges (unpadded).
        points: each column's KS grid points (unpadded).
        nbins: each column's number of bins.
        bin_counts: reference counts per bin, ``(k, max bins)``.
        below: reference counts below each grid point, ``(k, max points)``.
        upto: reference counts at or below each grid point, same shape.
        count: finite reference values per column.
        error_bound: each column's KS grid error bound.
    """

    positions: tuple[int, ...]
    edges: tuple[Floats, ...]
    points: tuple[Floats, ...]
    nbins: Ints
    bin_counts: Ints
    below: Ints
    upto: Ints
    count: Ints
    error_bound: Floats

    @classmethod
    def of(cls, columns: list[tuple[int, NumericProfile]]) -> NumericBlock:
        """Pad the numeric ``(position, profile)`` pairs into one block."""
        k = len(columns)
        nbins = np.asarray([p.bin_counts.size for _, p in columns], dtype=np.int64)
        npoints = [p.grid.points.size for _, p in columns]
        count = np.asarray([p.count for _, p in columns], dtype=np.int64)
        bin_counts = np.zeros((k, int(nbins.max(initial=1))), dtype=np.int64)
        below = np.repeat(count[:, None], max(npoints, default=0), axis=1)
        upto = below.copy()
        for row, (_, profile) in enumerate(columns):
            bin_counts[row, : nbins[row]] = profile.bin_counts
            below[row, : npoints[row]] = profile.grid.below
            upto[row, : npoints[row]] = profile.grid.upto
        return cls(
            positions=tuple(position for position, _ in columns),
            edges=tuple(p.edges for _, p in columns),
            points=tuple(p.grid.points for _, p in columns),
            nbins=nbins,
            bin_counts=bin_counts,
            below=below,
            upto=upto,
            count=count,
            error_bound=np.asarray([p.grid.error_bound for _, p in columns]),
        )


@dataclass(frozen=True, slots=True, eq=False)
class CategoricalBlock:
    """The categorical columns of a profile.

    Attributes:
        positions: each row's index among the profile's columns.
        index: each column's category -> count column.
        counts: reference counts, ``(k, max categories + 1)``; the last column
            is every row's *other* bucket.
        count: non-missing reference values per column.
    """

    positions: tuple[int, ...]
    index: tuple[dict[Category, int], ...]
    counts: Ints
    count: Ints

    @property
    def other(self) -> int:
        """The column of the *other* bucket."""
        return int(self.counts.shape[1]) - 1

    @classmethod
    def of(cls, columns: list[tuple[int, CategoricalProfile]]) -> CategoricalBlock:
        """Pad the categorical ``(position, profile)`` pairs into one block."""
        width = max((len(p.categories) for _, p in columns), default=0) + 1
        counts = np.zeros((len(columns), width), dtype=np.int64)
        for row, (_, profile) in enumerate(columns):
            counts[row, : len(profile.categories)] = profile.counts[:-1]
            counts[row, -1] = profile.counts[-1]
        return cls(
            positions=tuple(position for position, _ in columns),
            index=tuple({c: i for i, c in enumerate(p.categories)} for _, p in columns),
            counts=counts,
            count=np.asarray([p.count for _, p in columns], dtype=np.int64),
        )


@dataclass(frozen=True, slots=True, eq=False)
class Layout:
    """Both blocks of a profile."""

    numeric: NumericBlock
    categorical: CategoricalBlock

    @classmethod
    def of(cls, columns: tuple[ColumnProfile, ...]) -> Layout:
        """Split ``columns`` by kind and pad each kind into its block."""
        numeric = [
            (i, c) for i, c in enumerate(columns) if isinstance(c, NumericProfile)
        ]
        categorical = [
            (i, c) for i, c in enumerate(columns) if isinstance(c, CategoricalProfile)
        ]
        return cls(NumericBlock.of(numeric), CategoricalBlock.of(categorical))
