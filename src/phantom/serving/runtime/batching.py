"""Dynamic micro-batching: requests that arrive while a model is busy share a call.

A call expected to be fast (a converted ONNX model on a few rows: tens of
microseconds, as calibrated when the model was loaded) is run inline on the
event loop; the hop to a thread and back would cost more than
the call. A slower model gets one :class:`MicroBatcher` thread: each request
queues its rows; the thread takes everything queued (up to ``max_rows``), runs
the model once on the stacked rows and hands each request its slice. Nothing
waits for a batch to fill: under light load a request runs alone at once, under
heavy load requests batch naturally. Batching only ever stacks rows of the same
width and dtype; a request that does not fit the batch runs on its own.
"""

from __future__ import annotations

import asyncio
import contextlib
import queue
import threading
from dataclasses import dataclass
from typing import Any, Final

import numpy as np
import numpy.typing as npt

from phantom.serving.runtime.model import Outputs, ServedModel

__all__ = ["INLINE_CALL_US", "MicroBatcher", "score"]

INLINE_CALL_US: Final = 250.0
"""Calls expected to take less than this (calibrated) run on the event loop."""
INLINE_MAX_ROWS: Final = 256
MAX_BATCH_ROWS: Final = 4_096


@dataclass(slots=True)
class _Job:
    matrix: npt.NDArray[Any]
    future: asyncio.Future[Outputs]
    loop: asyncio.AbstractEventLoop


def _deliver(job: _Job, result: Outputs | BaseException) -> None:
    def settle() -> None:
        if job.future.done():
            return
        if isinstance(result, BaseException):
            job.future.set_exception(result)
        else:
            job.future.set_result(result)

    with contextlib.suppress(RuntimeError):  # the loop closed: nobody waits
        job.loop.call_soon_threadsafe(settle)


class MicroBatcher:
    """One model's batching thread (see the module docstring)."""

    def __init__(self, model: ServedModel, *, max_rows: int = MAX_BATCH_ROWS) -> None:
        self.model = model
        self.max_rows = max_rows
        self.batches = 0
        self.batched_requests = 0
        self._queue: queue.SimpleQueue[_Job | None] = queue.SimpleQueue()
        self._thread = threading.Thread(
            target=self._run, name=f"batcher-{model.name}-{model.version}", daemon=True
        )
        self._thread.start()

    async def submit(self, matrix: npt.NDArray[Any]) -> Outputs:
        """The model's answer for ``matrix``, batched with whatever is waiting."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Outputs] = loop.create_future()
        self._queue.put(_Job(matrix, future, loop))
        return await future

    def close(self) -> None:
        """Stop the thread once the queued work is done."""
        self._queue.put(None)

    def _take(self, first: _Job) -> tuple[list[_Job], bool]:
        jobs, rows = [first], len(first.matrix)
        while rows < self.max_rows:
            try:
                job = self._queue.get_nowait()
            except queue.Empty:
                break
            if job is None:
                return jobs, True
            jobs.append(job)
            rows += len(job.matrix)
        return jobs, False

    def _run(self) -> None:
        while True:
            first = self._queue.get()
            if first is None:
                return
            jobs, stop = self._take(first)
            self._score(jobs)
            if stop:
                return

    def _score(self, jobs: list[_Job]) -> None:
        groups: dict[tuple[int, str], list[_Job]] = {}
        for job in jobs:
            shape = (
                job.matrix.shape[1] if job.matrix.ndim == 2 else -1,
                str(job.matrix.dtype),
            )
            groups.setdefault(shape, []).append(job)
        for group in groups.values():
            self.batches += 1
            self.batched_requests += len(group)
            try:
                stacked = (
                    group[0].matrix
                    if len(group) == 1
                    else np.concatenate([job.matrix for job in group])
                )
                outputs = self.model.run(stacked)
            except Exception as exc:  # noqa: BLE001 - each request gets the error
                if len(group) > 1:  # one bad request must not fail the others
                    for job in group:
                        self._score([job])
                    continue
                _deliver(group[0], exc)
                continue
            start = 0
            for job in group:
                stop = start + len(job.matrix)
                _deliver(job, outputs.rows(start, stop))
                start = stop


async def score(
    model: ServedModel, batcher: MicroBatcher | None, matrix: npt.NDArray[Any]
) -> Outputs:
    """Run ``model`` on ``matrix``: inline when fast and small, else batched."""
    fast = model.calibrated and model.estimate_us(len(matrix)) < INLINE_CALL_US
    if batcher is None or (fast and len(matrix) <= INLINE_MAX_ROWS):
        return model.run(matrix)
    return await batcher.submit(matrix)
