"""The prediction log: sampled, bounded, never blocking, flushed on close."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any, cast

import pytest

from phantom.kernel.analytics import AnalyticsStore, PredictionRecord
from phantom.kernel.errors import Unavailable
from phantom.serving.runtime.prediction_log import (
    MAX_LOGGED_CHARS,
    LogEntry,
    PredictionLog,
)


def entry(number: int, inputs: Any = None) -> LogEntry:
    return LogEntry(
        tenant_id="tenant-1",
        prediction_id=f"p{number}",
        model="churn",
        version=1,
        route="primary",
        timestamp_us=1_700_000_000_000_000 + number,
        latency_us=120,
        rows=1,
        inputs=[[number, 0.5]] if inputs is None else inputs,
        outputs={"predictions": [number % 2], "probabilities": None},
    )


class Sink:
    """An analytics store that keeps the predictions it is given."""

    def __init__(self) -> None:
        self.records: list[PredictionRecord] = []
        self.sizes: list[int] = []
        self.lock = threading.Lock()

    def append_predictions(self, records: Sequence[PredictionRecord]) -> int:
        with self.lock:
            self.records.extend(records)
            self.sizes.append(len(records))
        return len(records)

    @property
    def ids(self) -> list[str]:
        with self.lock:
            return [r.prediction_id for r in self.records]


class BlockingSink(Sink):
    """A sink whose appends wait until released."""

    def __init__(self) -> None:
        super().__init__()
        self.entered = threading.Event()
        self.release = threading.Event()

    def append_predictions(self, records: Sequence[PredictionRecord]) -> int:
        self.entered.set()
        self.release.wait(10)
        return super().append_predictions(records)


class BrokenSink:
    def __init__(self) -> None:
        self.calls = 0

    def append_predictions(self, records: Sequence[PredictionRecord]) -> int:
        self.calls += 1
        msg = "the analytics disk is full"
        raise OSError(msg)


def store_of(sink: object) -> Callable[[], AnalyticsStore]:
    return lambda: cast("AnalyticsStore", sink)


def test_a_sample_rate_of_zero_logs_nothing() -> None:
    sink = Sink()
    log = PredictionLog(store_of(sink), sample_rate=0.0, interval_s=0.05)
    assert not any(log.offer(entry(n)) for n in range(200))
    log.close()
    assert sink.records == []
    assert sink.sizes == []
    assert log._thread is None  # nothing to drain: no thread either
    assert (log.stats.offered, log.stats.sampled_out) == (200, 200)
    assert (log.stats.written, log.stats.dropped, log.stats.failed) == (0, 0, 0)


def test_a_partial_sample_rate_logs_about_that_share() -> None:
    sink = Sink()
    log = PredictionLog(store_of(sink), sample_rate=0.25, interval_s=0.05)
    taken = sum(log.offer(entry(n)) for n in range(4_000))
    log.close()
    assert 800 <= taken <= 1_200
    assert log.stats.sampled_out == 4_000 - taken
    assert log.stats.written == taken == len(sink.records)


@pytest.mark.parametrize("rate", [-0.1, 1.5])
def test_the_sample_rate_is_a_share(rate: float) -> None:
    with pytest.raises(ValueError, match="between 0 and 1"):
        PredictionLog(store_of(Sink()), sample_rate=rate)


def test_a_full_queue_drops_and_counts_without_blocking() -> None:
    sink = BlockingSink()
    log = PredictionLog(store_of(sink), capacity=2, batch_size=1, interval_s=0.05)
    try:
        assert log.offer(entry(0))
        assert sink.entered.wait(5)  # the drain thread holds entry 0, stuck
        started = time.monotonic()
        accepted = [log.offer(entry(n)) for n in range(1, 8)]
        took = time.monotonic() - started
        assert accepted == [True, True, False, False, False, False, False]
        assert took < 0.5  # never waited for room
        assert log.stats.dropped == 5
        assert log.pending == 2
    finally:
        sink.release.set()
        log.close()
    assert sink.ids == ["p0", "p1", "p2"]
    assert (log.stats.offered, log.stats.written, log.stats.dropped) == (8, 3, 5)


def test_close_flushes_everything_queued() -> None:
    sink = Sink()
    log = PredictionLog(store_of(sink), batch_size=64, interval_s=0.5)
    for number in range(1_000):
        assert log.offer(entry(number))
    started = time.monotonic()
    log.close()
    assert time.monotonic() - started < 3
    assert sorted(sink.ids, key=lambda i: int(i[1:])) == [f"p{n}" for n in range(1_000)]
    assert log.stats.written == 1_000
    assert log.pending == 0
    assert sum(sink.sizes) == 1_000


def test_entries_are_written_as_json_records() -> None:
    sink = Sink()
    log = PredictionLog(store_of(sink), interval_s=0.05)
    log.offer(entry(7))
    log.offer(entry(8, inputs=[list(range(MAX_LOGGED_CHARS))]))  # too long to keep
    log.close()
    first, second = sink.records
    assert first.tenant_id == "tenant-1"
    assert (first.model, first.version, first.route, first.rows) == (
        "churn",
        1,
        "primary",
        1,
    )
    assert json.loads(first.inputs) == [[7, 0.5]]
    assert json.loads(first.outputs) == {"predictions": [1], "probabilities": None}
    assert json.loads(second.inputs)["truncated"] is True


def test_the_drain_writes_without_being_closed() -> None:
    sink = Sink()
    log = PredictionLog(store_of(sink), interval_s=0.05)
    try:
        log.offer(entry(1))
        deadline = time.monotonic() + 5
        while not sink.records and time.monotonic() < deadline:
            time.sleep(0.01)
        assert sink.ids == ["p1"]
    finally:
        log.close()


@pytest.mark.parametrize("broken", ["append", "open"])
def test_a_store_failure_is_counted_as_failed_not_raised(broken: str) -> None:
    sink = BrokenSink()

    def unavailable() -> AnalyticsStore:
        msg = "the analytics store is not configured"
        raise Unavailable(msg)

    store = store_of(sink) if broken == "append" else unavailable
    log = PredictionLog(store, interval_s=0.05)
    for number in range(5):
        assert log.offer(entry(number))
    log.close()
    assert log.stats.failed == 5
    assert log.stats.written == 0
    assert log.flush([entry(9)]) == 0  # flushing by hand does not raise either
    assert log.stats.failed == 6


def test_inputs_are_scrubbed_per_tenant_on_the_drain_thread() -> None:
    sink = Sink()
    seen: list[tuple[str, str]] = []

    def scrub(tenant_id: str, inputs: Any) -> Any:
        seen.append((tenant_id, threading.current_thread().name))
        return [{"email": "<EMAIL>"}]

    log = PredictionLog(store_of(sink), interval_s=0.05, scrub=scrub)
    log.offer(entry(1, inputs=[{"email": "ada@example.com"}]))
    log.close()
    assert json.loads(sink.records[0].inputs) == [{"email": "<EMAIL>"}]
    assert seen[0][0] == "tenant-1"
    assert seen[0][1] != threading.main_thread().name


def test_a_failing_scrubber_withholds_the_inputs_and_counts_it() -> None:
    sink = Sink()

    def scrub(tenant_id: str, inputs: Any) -> Any:
        msg = "no policy store"
        raise RuntimeError(msg)

    log = PredictionLog(store_of(sink), interval_s=0.05, scrub=scrub)
    log.offer(entry(1, inputs=[{"email": "ada@example.com"}]))
    log.close()
    assert "ada@example.com" not in sink.records[0].inputs
    assert "unscrubbed" in json.loads(sink.records[0].inputs)
    assert log.stats.unscrubbed == 1
    assert sink.records[0].status == "ok"
