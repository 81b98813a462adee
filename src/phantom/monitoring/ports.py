"""What the monitoring service needs from other contexts, as protocols.

The composition root wires them: the registry resolves versions, the training
context reads a version's training dataset, and serving scores rows with the
version so that a reference profile holds the model's own outputs on its
training data (the baseline of prediction drift).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

import numpy.typing as npt

from phantom.registry.api import ModelVersionInfo

__all__ = ["DatasetColumns", "ModelVersions", "RowScorer"]


class ModelVersions(Protocol):
    """Resolves a tenant's model version (the registry's tenant-level query)."""

    def resolve(
        self,
        tenant_id: str,
        name: str,
        *,
        version: int | None = None,
        alias: str | None = None,
    ) -> ModelVersionInfo:
        """The version named, or the alias's (``production`` by default).

        Raises:
            NotFound: no such model, version or alias in the tenant.
        """
        ...


class DatasetColumns(Protocol):
    """Reads columns of a tenant's dataset version (the training context)."""

    def dataset_columns(
        self,
        tenant_id: str,
        dataset_id: str,
        version: int,
        columns: Sequence[str],
        *,
        max_rows: int,
    ) -> dict[str, npt.NDArray[Any]]:
        """``columns`` of the version (at most ``max_rows``, sampled evenly).

        Raises:
            NotFound: no such dataset version in the tenant.
            InvalidInput: a column is missing, or the file cannot be read.
        """
        ...


class RowScorer(Protocol):
    """Scores rows with a tenant's model version (the serving context)."""

    def __call__(
        self, tenant_id: str, model: str, version: int, rows: list[list[object]]
    ) -> tuple[npt.NDArray[Any], npt.NDArray[Any] | None]:
        """Predictions and, for classifiers, class probabilities of ``rows``."""
        ...
