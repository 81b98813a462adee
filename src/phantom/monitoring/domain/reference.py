"""One column's reference profile: bins and a KS grid, or category counts.

A numeric column keeps

* quantile bin ``edges`` for PSI and Jensen-Shannon: the reference minimum, the
  ``j / bins`` quantiles (linear interpolation) and the float just above the
  maximum (unless that is infinite), with duplicates dropped. Bin ``i`` is
  ``[edges[i-1], edges[i])``; the first and the last bins hold what falls
  outside the reference range (empty in the reference itself), and a constant
  column gets three bins: below, at, above.
* an :class:`~phantom.monitoring.domain.ecdf.EcdfGrid` for Kolmogorov-Smirnov.

A categorical column keeps the counts of its ``max_categories`` most frequent
categories and an *other* bucket for the rest: categories too rare to keep in
the reference, and, in a window, categories the reference never saw.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import numpy.typing as npt

from phantom.monitoring.domain.columns import Category, Kind, categorize
from phantom.monitoring.domain.ecdf import EcdfGrid
from phantom.monitoring.domain.errors import InvalidProfile

__all__ = ["CategoricalProfile", "ColumnProfile", "NumericProfile"]

Floats = npt.NDArray[np.float64]
Ints = npt.NDArray[np.int64]


@dataclass(frozen=True, slots=True, eq=False)
class NumericProfile:
    """A numeric column of the reference.

    Attributes:
        count: how many finite values the reference held.
        missing: how many NaN or infinite values it held (left out).
        edges: ascending bin edges; ``len(edges) + 1`` bins.
        bin_counts: reference values per bin.
        grid: the reference ECDF for Kolmogorov-Smirnov.
    """

    kind: ClassVar[Kind] = "numeric"

    count: int
    missing: int
    edges: Floats
    bin_counts: Ints
    grid: EcdfGrid

    def __post_init__(self) -> None:
        _freeze(self.edges, self.bin_counts, self.grid.points)
        _freeze(self.grid.below, self.grid.upto)

    @classmethod
    def build(
        cls, values: Floats, missing: int, *, bins: int, resolution: int | None
    ) -> NumericProfile:
        """Profile finite ``values`` (any order) with ``bins`` quantile bins."""
        ordered = np.sort(values)
        n = int(ordered.size)
        if n == 0:
            edges = np.zeros(0)
        else:
            position = (n - 1) * np.arange(1, bins) / bins
            low = np.floor(position).astype(np.intp)
            high = np.minimum(low + 1, n - 1)
            frac = position - low
            with np.errstate(over="ignore", invalid="ignore"):  # near float64 max
                quantiles = ordered[low] * (1 - frac) + ordered[high] * frac
                top = np.nextafter(ordered[-1], np.inf)
            edges = np.unique(np.r_[ordered[0], quantiles, top])
            edges = edges[np.isfinite(edges)]
        below = np.searchsorted(ordered, edges, side="left")
        counts = np.diff(np.r_[0, below, n]).astype(np.int64)
        return cls(n, missing, edges, counts, EcdfGrid.of_sorted(ordered, resolution))

    def to_dict(self) -> dict[str, Any]:
        """The profile as JSON-able lists (floats round-trip exactly)."""
        return {
            "kind": self.kind,
            "count": self.count,
            "missing": self.missing,
            "edges": self.edges.tolist(),
            "bin_counts": self.bin_counts.tolist(),
            "grid": {
                "points": self.grid.points.tolist(),
                "below": self.grid.below.tolist(),
                "upto": self.grid.upto.tolist(),
                "error_bound": self.grid.error_bound,
            },
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> NumericProfile:
        """Read back :meth:`to_dict`'s output (raises ``KeyError``/``ValueError``)."""
        grid = data["grid"]
        count = int(data["count"])
        edges = np.asarray(data["edges"], dtype=np.float64)
        bin_counts = np.asarray(data["bin_counts"], dtype=np.int64)
        points = np.asarray(grid["points"], dtype=np.float64)
        below = np.asarray(grid["below"], dtype=np.int64)
        upto = np.asarray(grid["upto"], dtype=np.int64)
        _require(edges.ndim == 1 and bin_counts.shape == (edges.size + 1,), "bins")
        _require(bool(np.all(np.diff(edges) > 0)), "edges must ascend")
        _require(points.ndim == 1 and below.shape == upto.shape == points.shape, "grid")
        _require(bool(np.all(np.diff(points) > 0)), "grid points must ascend")
        _require(int(bin_counts.sum()) == count, "bin counts must add up to count")
        _require(bool(np.all((below <= upto) & (upto <= count))), "grid counts")
        error = float(grid["error_bound"])
        return cls(
            count,
            int(data["missing"]),
            edges,
            bin_counts,
            EcdfGrid(points, below, upto, count, error),
        )


@dataclass(frozen=True, slots=True, eq=False)
class CategoricalProfile:
    """A categorical column of the reference.

    Attributes:
        count: how many non-missing values the reference held.
        missing: how many ``None``/NaN values it held (left out).
        categories: the categories kept, most frequent first.
        counts: reference values per category, then the *other* bucket last.
    """

    kind: ClassVar[Kind] = "categorical"

    count: int
    missing: int
    categories: tuple[Category, ...]
    counts: Ints

    def __post_init__(self) -> None:
        _freeze(self.counts)

    @classmethod
    def build(
        cls, array: npt.NDArray[Any], *, max_categories: int
    ) -> CategoricalProfile:
        """Count the categories of ``array``, keeping the most frequent ones."""
        uniques, inverse = categorize(array)
        per_unique = np.bincount(inverse, minlength=len(uniques)).tolist()
        totals: dict[Category, int] = {}
        missing = 0
        for category, n in zip(uniques, per_unique, strict=True):
            if category is None:
                missing += n
            else:
                totals[category] = totals.get(category, 0) + n
        ordered = sorted(
            totals.items(), key=lambda kv: (-kv[1], type(kv[0]).__name__, str(kv[0]))
        )
        kept = ordered[:max_categories]
        other = sum(n for _, n in ordered[max_categories:])
        counts = np.asarray([n for _, n in kept] + [other], dtype=np.int64)
        return cls(sum(totals.values()), missing, tuple(c for c, _ in kept), counts)

    def to_dict(self) -> dict[str, Any]:
        """The profile as JSON-able lists."""
        return {
            "kind": self.kind,
            "count": self.count,
            "missing": self.missing,
            "categories": list(self.categories),
            "counts": self.counts.tolist(),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> CategoricalProfile:
        """Read back :meth:`to_dict`'s output (raises ``KeyError``/``ValueError``)."""
        categories = tuple(data["categories"])
        counts = np.asarray(data["counts"], dtype=np.int64)
        _require(counts.shape == (len(categories) + 1,), "one count per category")
        _require(
            all(isinstance(c, str | int | float) for c in categories), "categories"
        )
        count = int(data["count"])
        _require(int(counts.sum()) == count, "counts must add up to count")
        return cls(count, int(data["missing"]), categories, counts)


ColumnProfile = NumericProfile | CategoricalProfile
"""Either kind of column profile."""


def _freeze(*arrays: npt.NDArray[Any]) -> None:
    """Make a profile's arrays read-only: profiles are shared values."""
    for array in arrays:
        array.flags.writeable = False


def _require(condition: bool, what: str) -> None:  # noqa: FBT001 - a predicate
    if not condition:
        msg = f"malformed column profile: {what}"
        raise InvalidProfile(msg)
