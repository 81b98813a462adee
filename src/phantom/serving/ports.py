"""What serving needs from outside its walls, as protocols the composition root binds.

:class:`ModelSource` is the registry, seen from serving: resolve an alias or a
version, move an alias in a deploy saga, load checked model bytes, make an ONNX
copy. Serving checks its own permissions (``predict``, ``deployments:*``) before
it calls any of them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

import numpy.typing as npt

from phantom.kernel.context import Actor
from phantom.registry.api import AliasAssignment, ModelVersionInfo

__all__ = ["ModelSource", "ServableModel"]


class ServableModel(Protocol):
    """A loaded model (the registry's ``LoadedModel``)."""

    @property
    def format(self) -> Any:  # noqa: ANN401 - the registry's format enum
        """The file's format."""

    @property
    def input_names(self) -> tuple[str, ...]:
        """The model's named inputs, when it knows them."""

    @property
    def predict(self) -> Callable[[npt.NDArray[Any]], npt.NDArray[Any]]:
        """Labels or values per row."""

    @property
    def predict_proba(self) -> Callable[[npt.NDArray[Any]], npt.NDArray[Any]] | None:
        """Class probabilities per row, if the model has them."""

    @property
    def classes(self) -> tuple[Any, ...] | None:
        """The class labels in the probabilities' column order."""

    @property
    def native(self) -> Any:  # noqa: ANN401 - estimator, session or booster
        """The loaded object itself."""


class ModelSource(Protocol):
    """The registry's operations serving uses, for one tenant at a time."""

    def resolve(
        self,
        tenant_id: str,
        name: str,
        *,
        version: int | None = None,
        alias: str | None = None,
    ) -> ModelVersionInfo:
        """``version`` of ``name``, or the version ``alias`` points at."""
        ...

    def alias_version(self, tenant_id: str, name: str, alias: str) -> int | None:
        """The version ``alias`` points at now (``None``: unset)."""
        ...

    def alias_spans(
        self, tenant_id: str, name: str, alias: str
    ) -> list[AliasAssignment]:
        """Every assignment of the alias, oldest first."""
        ...

    def move_alias(
        self, tenant_id: str, actor: Actor, name: str, alias: str, version: int | None
    ) -> int | None:
        """Point ``alias`` at ``version`` (``None``: remove); the previous version."""
        ...

    def load(self, tenant_id: str, digest: str, fmt: str) -> ServableModel:
        """Load checked bytes ``digest`` of format ``fmt``."""
        ...

    def onnx_copy(
        self, tenant_id: str, info: ModelVersionInfo
    ) -> tuple[bytes, tuple[Any, ...] | None] | None:
        """A faithful ONNX copy of the version and its class labels, or ``None``."""
        ...
