"""The buffered writer behind a tracked run: :class:`ActiveRun`.

``log_metric``, ``log_param(s)`` and ``set_tag(s)`` only append to a buffer; one
daemon thread per run sends it: every :attr:`BufferSettings.interval_s`, or as
soon as :attr:`BufferSettings.flush_points` points wait, in requests of at most
:attr:`BufferSettings.batch_points` points. The buffer holds at most
:attr:`BufferSettings.max_points` points; past that ``log_metric`` waits for the
thread rather than dropping anything.

A request that fails in the thread (after the transport's retries) is never
swallowed: its error is raised by the run's next ``log_*``, ``flush()`` or the
end of the block, and a run that lost points ends ``failed``. Keys, steps and
params are checked as they are logged, because the server takes a batch all or
nothing.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from types import TracebackType
from typing import Final, Literal, NamedTuple, Self

from phantom.sdk.client import Client
from phantom.sdk.errors import ConflictError, PhantomSdkError, ValidationError
from phantom.sdk.models import Artifact, Run, RunStatus
from phantom.sdk.wire import Point, check_metric_key, check_step, to_us

__all__ = ["ActiveRun", "BufferSettings", "RunEnded", "check_entries"]

_PARAM_KEY: Final = re.compile(r"[A-Za-z0-9_\-./: ]{1,250}")
_MAX_PARAM_VALUE: Final = 6_000
_MAX_TAG_VALUE: Final = 8_000
_MAX_ENTRIES: Final = 1_000  # params or tags per request


class RunEnded(PhantomSdkError):
    """Something was logged to a run that has already ended."""


@dataclass(frozen=True, slots=True)
class BufferSettings:
    """When the flusher thread sends, and how much it may hold.

    Attributes:
        interval_s: the longest a logged value waits before being sent.
        flush_points: send at once when this many points wait.
        batch_points: the most points in one request (the server takes 10,000).
        max_points: the buffer's bound; ``log_metric`` waits when it is full.
    """

    interval_s: float = 0.5
    flush_points: int = 5_000
    batch_points: int = 10_000
    max_points: int = 1_000_000

    def __post_init__(self) -> None:
        if not 0 < self.batch_points <= 10_000:
            msg = "batch_points must be between 1 and 10,000"
            raise ValueError(msg)
        if not 0 < self.flush_points <= self.max_points or self.interval_s <= 0:
            msg = "need 0 < flush_points <= max_points and interval_s > 0"
            raise ValueError(msg)


class _Work(NamedTuple):
    points: list[Point]
    params: dict[str, str]
    tags: dict[str, str]


def check_entries(
    what: Literal["param", "tag"], values: Mapping[str, object]
) -> dict[str, str]:
    """``values`` as strings, if their keys and lengths pass the server's rules."""
    most = _MAX_PARAM_VALUE if what == "param" else _MAX_TAG_VALUE
    checked: dict[str, str] = {}
    for key, value in values.items():
        text = str(value)
        if not isinstance(key, str) or not _PARAM_KEY.fullmatch(key):
            detail = (
                f"a {what} key is 1-250 letters, digits, spaces or _ - . / :, "
                f"got {key!r:.60}"
            )
        elif len(text) > most:
            detail = f"{what} {key!r}: a value is at most {most} characters"
        else:
            checked[key] = text
            continue
        errors = [{"loc": [f"{what}s", str(key)[:50]], "msg": detail}]
        raise ValidationError(422, "invalid-field", "Invalid field", detail, errors)
    return checked


class ActiveRun:
    """A running run whose params, tags and metrics are sent in the background.

    Made by :func:`~phantom.sdk.tracking.start_run`; a context manager that ends
    the run. Every method is thread-safe. ``on_end`` is called once the run has
    ended (its bookkeeping in :mod:`phantom.sdk.tracking`).

    Attributes:
        client: the client it writes through.
        info: the run as the server last described it (at start, then at end).
    """

    def __init__(
        self,
        client: Client,
        run: Run,
        *,
        buffer: BufferSettings | None = None,
        on_end: Callable[[ActiveRun], None] | None = None,
    ) -> None:
        self.client = client
        self._on_end = on_end
        self.info = run
        self._settings = buffer or BufferSettings()
        self._cond = threading.Condition(threading.Lock())
        self._points: list[Point] = []
        self._params: dict[str, str] = {}
        self._tags: dict[str, str] = {}
        self._known_params: dict[str, str] = dict(run.params)
        self._steps: dict[str, int] = {}
        self._queued = 0  # units accepted: points, and distinct pending params/tags
        self._taken = 0  # units the flusher has taken
        self._done = 0  # units the flusher has finished with (sent or failed)
        self._flush_target = 0
        self._failure: BaseException | None = None
        self._lost_points = 0
        self._idle = False
        self._closing = False
        self._ended = False
        self._last_send = time.monotonic()
        self._thread = threading.Thread(
            target=self._flush_loop, name=f"phantom-run-{run.run_id}", daemon=True
        )
        self._thread.start()

    @property
    def id(self) -> str:
        """The run's id."""
        return self.info.run_id

    @property
    def lost_points(self) -> int:
        """Points whose request failed in the background (each failure is raised)."""
        with self._cond:
            return self._lost_points

    def __repr__(self) -> str:
        return f"ActiveRun(id={self.id!r}, name={self.info.name!r})"

    # -- logging -------------------------------------------------------------

    def log_param(self, key: str, value: object) -> None:
        """Log a param (sent as ``str(value)``); a param keeps its first value."""
        self.log_params({key: value})

    def log_params(self, params: Mapping[str, object]) -> None:
        """Log several params at once (all or none).

        Raises:
            ConflictError: a param was logged before with another value.
            ValidationError: a key or value breaks the server's rules.
        """
        checked = check_entries("param", params)
        with self._cond:
            self._check_usable()
            changed = [
                k for k, v in checked.items() if self._known_params.get(k, v) != v
            ]
            if changed:
                detail = (
                    f"params already logged with other values: {', '.join(changed)}"
                )
                raise ConflictError(409, "conflict", "Conflict", detail)
            for key, value in checked.items():
                if key not in self._known_params:
                    self._known_params[key] = self._params[key] = value
                    self._queued += 1

    def set_tag(self, key: str, value: object) -> None:
        """Set a tag (sent as ``str(value)``), replacing its value if set before."""
        self.set_tags({key: value})

    def set_tags(self, tags: Mapping[str, object]) -> None:
        """Set several tags at once."""
        checked = check_entries("tag", tags)
        with self._cond:
            self._check_usable()
            for key, value in checked.items():
                if key not in self._tags:
                    self._queued += 1
                self._tags[key] = value

    def log_metric(
        self,
        key: str,
        value: float,
        step: int | None = None,
        timestamp: datetime | None = None,
    ) -> None:
        """Buffer one metric point.

        Args:
            key: the metric (1 to 250 characters).
            value: its value (anything ``float()`` takes; NaN is fine).
            step: its step; by default one more than this key's previous step
                (0 for its first point).
            timestamp: when it was measured; by default now.
        """
        stamp = time.time_ns() // 1000 if timestamp is None else to_us(timestamp)
        number = float(value)
        with self._cond:
            if self._failure is not None or self._ended:
                self._check_usable()
            steps = self._steps
            if step is None:
                step = steps.get(key)
                if step is None:
                    step = 0
                    check_metric_key(key)
            else:
                check_step(step)
                if key not in steps:
                    check_metric_key(key)
            steps[key] = step + 1
            points = self._points
            if len(points) >= self._settings.max_points:
                self._wait_for_room()
                points = self._points
            points.append((key, number, step, stamp))
            self._queued += 1
            if self._idle and len(points) >= self._settings.flush_points:
                self._cond.notify_all()

    def log_metrics(
        self, metrics: Mapping[str, float], step: int | None = None
    ) -> None:
        """Buffer one point per key, at ``step`` or each key's next step."""
        stamp = time.time_ns() // 1000
        numbers = {
            check_metric_key(key): float(value) for key, value in metrics.items()
        }
        if step is not None:
            check_step(step)
        with self._cond:
            self._check_usable()
            if len(self._points) + len(numbers) > self._settings.max_points:
                self._wait_for_room(len(numbers))
            for key, number in numbers.items():
                at = self._steps.get(key, 0) if step is None else step
                self._steps[key] = at + 1
                self._points.append((key, number, at, stamp))
            self._queued += len(numbers)
            if self._idle and len(self._points) >= self._settings.flush_points:
                self._cond.notify_all()

    def log_artifact(self, path: str, name: str | None = None) -> Artifact:
        """Upload a file as the run's artifact ``name`` (now, not buffered)."""
        with self._cond:
            self._check_usable()
        return self.client.runs.log_artifact(self.id, path, name)

    def flush(self, timeout: float | None = None) -> None:
        """Send everything logged so far and wait until the server has it.

        Raises:
            ApiError: a write failed in the background (since the last report).
            ServerUnreachable: the server could not be reached.
            TimeoutError: ``timeout`` seconds passed first.
        """
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._cond:
            target = self._queued
            self._flush_target = max(self._flush_target, target)
            self._cond.notify_all()
            while self._done < target and self._thread.is_alive():
                remaining = None if deadline is None else deadline - time.monotonic()
                if remaining is not None and remaining <= 0:
                    msg = f"run {self.id}: the flush did not finish in {timeout} s"
                    raise TimeoutError(msg)
                self._cond.wait(remaining)
            self._raise_failure()

    # -- ending --------------------------------------------------------------

    def end(self, status: RunStatus = "finished") -> None:
        """Flush, then end the run with ``status`` (``failed`` if points were lost).

        Ending an ended run does nothing.

        Raises:
            ApiError: a background write failed, or ending the run failed.
        """
        with self._cond:
            if self._ended:
                return
            self._ended = self._closing = True
            self._cond.notify_all()
        self._thread.join()
        if self._on_end is not None:
            self._on_end(self)
        failure, self._failure = self._failure, None
        final: RunStatus = (
            "failed" if failure is not None and status == "finished" else status
        )
        try:
            self.info = self.client.runs.update(self.id, status=final)
        except PhantomSdkError as exc:
            if failure is None:
                raise
            failure.add_note(f"ending the run {self.id} failed too: {exc}")
        if failure is not None:
            raise failure

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if exc is None:
            self.end("finished")
            return
        status: RunStatus = "killed" if isinstance(exc, KeyboardInterrupt) else "failed"
        try:
            self.end(status)
        except PhantomSdkError as error:
            exc.add_note(f"phantom: the run {self.id} also failed to end: {error}")

    # -- inside --------------------------------------------------------------

    def _check_usable(self) -> None:
        """Raise a background failure, or refuse an ended run (lock held)."""
        self._raise_failure()
        if self._ended:
            msg = f"the run {self.id} has ended; start a new one"
            raise RunEnded(msg)

    def _raise_failure(self) -> None:
        failure, self._failure = self._failure, None
        if failure is not None:
            raise failure

    def _wait_for_room(self, needed: int = 1) -> None:
        """Wait (lock held) until ``needed`` more points fit in the buffer."""
        while len(self._points) + needed > self._settings.max_points:
            self._check_usable()
            if not self._thread.is_alive():
                msg = f"the run {self.id}'s flusher has stopped"
                raise RunEnded(msg)
            self._cond.notify_all()
            self._cond.wait(0.1)

    def _due(self) -> float | None:
        """Seconds until the next send; ``0`` for now, ``None`` for nothing to do."""
        if not (self._points or self._params or self._tags):
            return None
        if len(self._points) >= self._settings.flush_points:
            # drain what waits now, even over several batches
            self._flush_target = max(self._flush_target, self._queued)
        if self._closing or self._taken < self._flush_target:
            return 0.0
        return max(0.0, self._last_send + self._settings.interval_s - time.monotonic())

    def _next_work(self) -> _Work | None:
        """Wait (lock held) for the next batch; ``None`` once closed and drained."""
        while (wait := self._due()) != 0.0:
            if wait is None and self._closing:
                return None
            self._idle = True
            self._cond.wait(self._settings.interval_s if wait is None else wait)
            self._idle = False
        size = self._settings.batch_points
        if len(self._points) <= size:
            points, self._points = self._points, []
        else:
            points = self._points[:size]
            del self._points[:size]
        params = dict(list(self._params.items())[:_MAX_ENTRIES])
        tags = dict(list(self._tags.items())[:_MAX_ENTRIES])
        for key in params:
            del self._params[key]
        for key in tags:
            del self._tags[key]
        self._taken += len(points) + len(params) + len(tags)
        self._last_send = time.monotonic()
        self._cond.notify_all()  # room for producers waiting on a full buffer
        return _Work(points, params, tags)

    def _flush_loop(self) -> None:
        while True:
            with self._cond:
                work = self._next_work()
            if work is None:
                return
            failure = self._send(work)
            with self._cond:
                self._done += len(work.points) + len(work.params) + len(work.tags)
                if failure is not None:
                    self._lost_points += len(work.points)
                    if self._failure is None:
                        self._failure = failure
                self._cond.notify_all()

    def _send(self, work: _Work) -> BaseException | None:
        try:
            if work.params or work.tags:
                self.client.runs.update(
                    self.id, params=work.params or None, tags=work.tags or None
                )
            if work.points:
                self.client.runs.post_points(self.id, work.points)
        except Exception as exc:  # noqa: BLE001 - handed to the caller's thread
            exc.add_note(
                f"raised by the background writer of run {self.id} "
                f"({len(work.points)} points, {len(work.params)} params, "
                f"{len(work.tags)} tags not written)"
            )
            return exc
        return None
