"""Run trials as Ray tasks, locally or on a cluster.

Ray is imported when the first batch runs. If Ray is already initialised in this
process (a test, a notebook) that instance is used and left running. Otherwise
:class:`RayExecutor` starts one (``address=None``: a new local instance with
``num_cpus`` CPUs, no dashboard, worker logs kept off the driver's output; a new
one even when another runs on the machine, since Ray's own ``address=None`` would
join that one and refuse ``num_cpus``) or connects to ``ray://host:port``, and
:meth:`RayExecutor.close` shuts down exactly that.

The shared training data goes into the object store once per search
(``ray.put``); each trial is one task that receives the reference, and results
are gathered with ``ray.get`` in submission order.

On a cluster, every node needs the same ``phantom-ml`` installed, because tasks
import :func:`~phantom.training.jobs.trials.evaluate_trial` by reference.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from types import ModuleType
from typing import Any, TypeVar

from phantom.kernel.errors import Unavailable

__all__ = ["RayExecutor"]

S = TypeVar("S")
T = TypeVar("T")
R = TypeVar("R")


class RayExecutor:
    """A :class:`~phantom.training.jobs.executors.TrialExecutor` on Ray.

    Args:
        address: ``ray://host:port`` for a cluster, ``None`` for a local instance.
        num_cpus: CPUs of a local instance this executor starts.
        object_store_memory: bytes of a local instance's object store (``None``:
            Ray's default, 30% of memory).
    """

    def __init__(
        self,
        address: str | None = None,
        *,
        num_cpus: int = 2,
        object_store_memory: int | None = None,
    ) -> None:
        self.address = address
        self._num_cpus = num_cpus
        self._object_store_memory = object_store_memory
        self._started = False
        self._shared: tuple[object, Any] | None = None
        self._tasks: dict[Callable[..., Any], Any] = {}

    def _ray(self) -> ModuleType:
        try:
            import ray  # noqa: PLC0415 - optional extra, imported when used
        except ImportError as exc:
            msg = (
                "the ray executor needs the 'ray' extra: pip install 'phantom-ml[ray]'"
            )
            raise Unavailable(msg) from exc
        if not ray.is_initialized():
            options: dict[str, Any] = {"log_to_driver": False}
            address = self.address or "local"  # "local": a new instance, never
            if self.address is None:  # one found on the machine; see the docstring
                options["include_dashboard"] = False
                options["configure_logging"] = False
                options["num_cpus"] = self._num_cpus
                if self._object_store_memory is not None:
                    options["object_store_memory"] = self._object_store_memory
            try:
                ray.init(address=address, **options)
            except Exception as exc:
                msg = f"could not start or reach Ray: {type(exc).__name__}: {exc}"
                raise Unavailable(msg[:500]) from exc
            self._started = True
        return ray

    def _reference(self, ray: ModuleType, shared: object) -> Any:  # noqa: ANN401
        if self._shared is None or self._shared[0] is not shared:
            self._shared = (shared, ray.put(shared))
        return self._shared[1]

    def _task(self, ray: ModuleType, fn: Callable[..., Any]) -> Any:  # noqa: ANN401
        if fn not in self._tasks:
            self._tasks[fn] = ray.remote(num_cpus=1, max_retries=0)(fn)
        return self._tasks[fn]

    def map(self, fn: Callable[[S, T], R], shared: S, items: Sequence[T]) -> list[R]:
        """``fn(shared, item)`` for every item as Ray tasks; results in order.

        Raises:
            Unavailable: Ray could not start, or a task died (worker crash, lost
                node), as opposed to ``fn`` raising, which propagates as is.
        """
        ray = self._ray()
        reference = self._reference(ray, shared)
        task = self._task(ray, fn)
        futures = [task.remote(reference, item) for item in items]
        try:
            results: list[R] = ray.get(futures)
        except ray.exceptions.RayTaskError as exc:
            raise exc.as_instanceof_cause() from None
        except ray.exceptions.RayError as exc:
            msg = f"a Ray task failed: {type(exc).__name__}: {exc}"
            raise Unavailable(msg[:500]) from exc
        return results

    def close(self) -> None:
        """Drop the shared data and shut Ray down if this executor started it."""
        self._shared = None
        self._tasks.clear()
        if self._started:
            import ray  # noqa: PLC0415 - optional extra, imported when used

            ray.shutdown()
            self._started = False
