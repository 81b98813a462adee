"""Experiment tracking in a ``with`` block, with buffered, batched writes.

::

    with phantom.start_run(experiment="churn", params={"lr": 0.1}) as run:
        for step in range(epochs):
            run.log_metric("loss", loss)        # step 0, 1, 2... per key
        run.log_artifact("model.onnx")
    # flushed; the run ended "finished" (or "failed" if the block raised)

How the writes are buffered and how failures surface: :mod:`phantom.sdk.writer`.
:func:`active_run` is the innermost run of the calling thread. Runs left open when
the interpreter exits are flushed and ended (``failed`` after an uncaught
exception, else ``finished``).
"""

from __future__ import annotations

import atexit
import logging
import sys
import threading
from collections.abc import Mapping

from phantom.sdk.client import Client
from phantom.sdk.errors import PhantomSdkError
from phantom.sdk.writer import ActiveRun, BufferSettings, RunEnded, check_entries

__all__ = [
    "ActiveRun",
    "BufferSettings",
    "RunEnded",
    "active_run",
    "default_client",
    "start_run",
]

log = logging.getLogger("phantom.sdk")

# -- the run stack, the default client, the exit hook ------------------------------

_local = threading.local()
_stacks: dict[ActiveRun, list[ActiveRun]] = {}
_open_runs: set[ActiveRun] = set()
_registry_lock = threading.Lock()
_default: list[Client] = []
_hooked: list[bool] = []


def _thread_stack() -> list[ActiveRun]:
    stack: list[ActiveRun] | None = getattr(_local, "stack", None)
    if stack is None:
        stack = _local.stack = []
    return stack


def _remember(run: ActiveRun) -> None:
    stack = _thread_stack()
    stack.append(run)
    with _registry_lock:
        _stacks[run] = stack
        _open_runs.add(run)
        if not _hooked:
            atexit.register(_end_open_runs)
            _hooked.append(True)


def _forget(run: ActiveRun) -> None:
    with _registry_lock:
        stack = _stacks.pop(run, None)
        _open_runs.discard(run)
    if stack is not None and run in stack:
        stack.remove(run)


def _end_open_runs() -> None:
    """At exit: flush and end the runs still open (``failed`` after a crash)."""
    crashed = getattr(sys, "last_value", None) is not None
    with _registry_lock:
        runs = list(_open_runs)
    for run in runs:
        try:
            run.end("failed" if crashed else "finished")
        except PhantomSdkError as exc:
            log.warning("phantom: the run %s was not ended cleanly: %s", run.id, exc)


def default_client() -> Client:
    """The client :func:`start_run` uses when given none (made on first use)."""
    with _registry_lock:
        if not _default:
            _default.append(Client())
        return _default[0]


def active_run() -> ActiveRun | None:
    """The innermost run started in this thread and not yet ended."""
    stack = _thread_stack()
    return stack[-1] if stack else None


def start_run(  # noqa: PLR0913 - a run's starting facts
    experiment: str,
    name: str | None = None,
    params: Mapping[str, object] | None = None,
    tags: Mapping[str, object] | None = None,
    client: Client | None = None,
    *,
    dataset: str | None = None,
    dataset_version: int | None = None,
    buffer: BufferSettings | None = None,
) -> ActiveRun:
    """Start a run in ``experiment`` (created if new) and track it.

    Use it as a context manager: leaving the block flushes everything and ends
    the run ``finished``, or ``failed`` if the block raised (``killed`` on
    Ctrl-C), re-raising. Without ``with``, call :meth:`ActiveRun.end`.

    Args:
        experiment: the experiment's name (or id).
        name: the run's name (the server picks one if ``None``).
        params: params to start with.
        tags: tags to start with.
        client: the client to use; by default one from the environment or the
            profile (:func:`default_client`).
        dataset: a dataset the run reads, by name.
        dataset_version: that dataset's version (default: its latest).
        buffer: when to send (see :class:`BufferSettings`).
    """
    used = client or default_client()
    checked_params = None if params is None else check_entries("param", params)
    checked_tags = None if tags is None else check_entries("tag", tags)
    run = used.runs.start(
        experiment,
        name=name,
        params=checked_params,
        tags=checked_tags,
        dataset=dataset,
        dataset_version=dataset_version,
    )
    active = ActiveRun(used, run, buffer=buffer, on_end=_forget)
    _remember(active)
    return active
