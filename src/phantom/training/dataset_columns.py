"""Columns of a dataset version for other contexts (monitoring's reference profiles).

:class:`DatasetColumnReader` reads a tenant's dataset version by id, as the
registry's lineage names it, straight from the artifact store: the file is
copied to a private temporary file, read with the same typing as training
(:func:`~phantom.training.jobs.frames.load_frame`), and the columns asked for are
handed back, evenly sampled down to ``max_rows``. It is a system read: the caller
(the monitoring service) has already decided the tenant may see it.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from phantom.kernel.artifacts import ArtifactStore
from phantom.kernel.errors import InvalidInput, NotFound
from phantom.training.adapters.sql import SqlTrainingStore
from phantom.training.jobs.frames import load_frame

__all__ = ["DatasetColumnReader"]


class DatasetColumnReader:
    """Reads columns of dataset versions (see the module docstring)."""

    def __init__(self, store: SqlTrainingStore, artifacts: ArtifactStore) -> None:
        self.store = store
        self.artifacts = artifacts

    def dataset_columns(
        self,
        tenant_id: str,
        dataset_id: str,
        version: int,
        columns: Sequence[str],
        *,
        max_rows: int,
    ) -> dict[str, npt.NDArray[Any]]:
        """``columns`` of the version, at most ``max_rows`` of them, sampled evenly.

        Raises:
            NotFound: no such dataset version in the tenant.
            InvalidInput: a column is missing, or the file cannot be read.
        """
        with self.store.read(tenant_id) as tx:
            dataset = tx.dataset(dataset_id)
            info = None if dataset is None else tx.version(dataset, version)
        if info is None:
            msg = f"no dataset {dataset_id!r} version {version} in this tenant"
            raise NotFound(msg)
        with tempfile.TemporaryDirectory(prefix="phantom-dataset-") as scratch:
            path = Path(scratch) / f"data.{info.format}"
            with (
                self.artifacts.open(tenant_id, info.digest) as source,
                path.open("wb") as target,
            ):
                shutil.copyfileobj(source, target, 1024 * 1024)
            frame = load_frame(path, info.format)
        missing = [name for name in columns if frame.find(name) is None]
        if missing:
            msg = f"the dataset has no column {missing[0]!r}"
            raise InvalidInput(msg)
        keep = _positions(frame.n_rows, max_rows)
        found: dict[str, npt.NDArray[Any]] = {}
        for name in columns:
            column = frame.find(name)
            assert column is not None  # noqa: S101 - checked above
            found[name] = column.values if keep is None else column.values[keep]
        return found


def _positions(rows: int, max_rows: int) -> npt.NDArray[np.int64] | None:
    if rows <= max_rows:
        return None
    return np.linspace(0, rows - 1, num=max_rows).astype(np.int64)
