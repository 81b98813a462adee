"""Where a search's trials run: in this process, or on Ray.

:class:`TrialExecutor` is the port; :func:`executor_for` picks an adapter from the
``PHANTOM_EXECUTOR`` value:

- ``local``: :class:`LocalExecutor`, one trial after the other in this process;
- ``ray``: a Ray instance started for the job on this machine (or the one
  ``RAY_ADDRESS`` names);
- ``ray://host:port``: a Ray cluster through Ray Client.

Ray is an optional extra, imported only when a Ray executor is built.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Final, Protocol, TypeVar

from phantom.kernel.errors import ConfigError

__all__ = ["KNOWN_EXECUTORS", "LocalExecutor", "TrialExecutor", "executor_for"]

S = TypeVar("S")
T = TypeVar("T")
R = TypeVar("R")

KNOWN_EXECUTORS: Final = ("local", "ray", "ray://host:port")


class TrialExecutor(Protocol):
    """Runs a batch of trials and hands back their outcomes.

    Contract:
        - ``map(fn, shared, items)`` returns ``[fn(shared, item) for item in
          items]``: one result per item, in the order of ``items``, whatever order
          they ran in. It may run them concurrently; ``fn`` must be a picklable
          top-level function and ``shared``/``items`` picklable values.
        - ``shared`` is the same large object (the training data) across the
          calls of one search; an executor may ship it to workers once and reuse
          it while the caller passes the very same object again.
        - Exceptions raised by ``fn`` propagate (trial functions catch their
          own); an unreachable backend raises ``Unavailable``.
        - ``close()`` releases what the executor started, and only that; it is
          idempotent.
    """

    def map(self, fn: Callable[[S, T], R], shared: S, items: Sequence[T]) -> list[R]:
        """``fn(shared, item)`` for every item, results in item order."""
        ...

    def close(self) -> None:
        """Release workers and connections this executor opened."""
        ...


class LocalExecutor:
    """Runs trials one after the other in the calling process."""

    def map(self, fn: Callable[[S, T], R], shared: S, items: Sequence[T]) -> list[R]:
        """``fn(shared, item)`` for every item, sequentially."""
        return [fn(shared, item) for item in items]

    def close(self) -> None:
        """Nothing to release."""


def executor_for(name: str) -> TrialExecutor:
    """The executor a ``PHANTOM_EXECUTOR`` value names.

    Raises:
        ConfigError: the value names no known executor (the message lists them).
    """
    value = name.strip()
    if value == "local":
        return LocalExecutor()
    if value == "ray" or (value.startswith("ray://") and len(value) > len("ray://")):
        from phantom.training.jobs.ray_executor import (  # noqa: PLC0415 - Ray is an optional extra
            RayExecutor,
        )

        return RayExecutor(None if value == "ray" else value)
    known = ", ".join(KNOWN_EXECUTORS)
    msg = f"unknown executor {value[:100]!r} (PHANTOM_EXECUTOR); known: {known}"
    raise ConfigError(msg)
