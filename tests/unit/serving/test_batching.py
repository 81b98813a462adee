"""Micro-batching: concurrent requests share a model call and get their own rows."""

from __future__ import annotations

import asyncio
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
import pytest
from sklearn.linear_model import LogisticRegression

from phantom.kernel.errors import InvalidInput
from phantom.serving.domain.signature import Signature
from phantom.serving.runtime.batching import (
    INLINE_CALL_US,
    INLINE_MAX_ROWS,
    MicroBatcher,
    score,
)
from phantom.serving.runtime.model import Outputs, ServedModel

FEATURES = [
    {"name": "f1", "type": "float"},
    {"name": "f2", "type": "float"},
    {"name": "f3", "type": "integer"},
]


def fitted() -> LogisticRegression:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(60, 3))
    y = (x[:, 0] + 0.3 * x[:, 1] > 0).astype(int)
    return LogisticRegression().fit(x, y)


@dataclass
class RecordingModel:
    """A ServableModel over a scikit-learn estimator that records each call's rows.

    The first ``slow_calls`` calls take ``delay_s``, so that requests queue
    behind them and batch.
    """

    estimator: LogisticRegression
    delay_s: float = 0.0
    slow_calls: int = 1_000_000
    batches: list[int] = field(default_factory=list)
    format: str = "skops"
    input_names: tuple[str, ...] = ()
    classes: tuple[Any, ...] | None = (0, 1)
    called: threading.Event = field(default_factory=threading.Event)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def native(self) -> LogisticRegression:
        return self.estimator

    def predict(self, rows: npt.NDArray[Any]) -> npt.NDArray[Any]:
        with self._lock:
            self.batches.append(len(rows))
            slow = len(self.batches) <= self.slow_calls
        self.called.set()
        if slow:
            time.sleep(self.delay_s)
        labels: npt.NDArray[Any] = self.estimator.predict(rows)
        return labels

    def predict_proba(self, rows: npt.NDArray[Any]) -> npt.NDArray[Any]:
        proba: npt.NDArray[Any] = self.estimator.predict_proba(rows)
        return proba


def served_model(model: RecordingModel) -> ServedModel:
    return ServedModel(
        tenant_id="t1",
        name="churn",
        version=1,
        digest="d1",
        signature=Signature.of(FEATURES),
        model=model,
        classes=model.classes,
        size_bytes=1_000,
    )


def requests(count: int, seed: int = 1) -> list[npt.NDArray[np.float64]]:
    """``count`` matrices of 1 to 5 rows each."""
    rng = np.random.default_rng(seed)
    return [rng.normal(size=(1 + i % 5, 3)) for i in range(count)]


async def started(model: RecordingModel) -> None:
    """Wait until the batching thread is inside the model's first call."""
    assert await asyncio.to_thread(model.called.wait, 5)


def assert_answers(
    estimator: LogisticRegression, matrix: npt.NDArray[Any], outputs: Outputs
) -> None:
    np.testing.assert_array_equal(outputs.predictions, estimator.predict(matrix))
    assert outputs.probabilities is not None
    np.testing.assert_allclose(outputs.probabilities, estimator.predict_proba(matrix))


def test_concurrent_requests_share_calls_and_each_gets_its_own_rows() -> None:
    model = RecordingModel(fitted(), delay_s=0.05)
    batcher = MicroBatcher(served_model(model))
    matrices = requests(20)

    async def go() -> list[Outputs]:
        together = asyncio.gather(*(batcher.submit(m) for m in matrices))
        return await asyncio.wait_for(together, 10)

    try:
        answers = asyncio.run(go())
    finally:
        batcher.close()
    for matrix, outputs in zip(matrices, answers, strict=True):
        assert len(outputs.predictions) == len(matrix)
        assert_answers(model.estimator, matrix, outputs)
    assert sum(model.batches) == sum(len(m) for m in matrices)
    assert len(model.batches) < len(matrices)  # some requests shared a call
    assert max(model.batches) > max(len(m) for m in matrices)
    assert batcher.batched_requests == len(matrices)
    assert batcher.batches == len(model.batches)


def test_a_bad_request_in_a_batch_does_not_fail_the_others() -> None:
    model = RecordingModel(fitted(), delay_s=0.1, slow_calls=1)
    batcher = MicroBatcher(served_model(model))
    matrices = requests(8)
    bad = 5
    matrices[bad] = matrices[bad].copy()
    matrices[bad][0, 1] = np.nan  # the estimator refuses NaN: the whole call fails

    async def go() -> list[Outputs | BaseException]:
        first = asyncio.ensure_future(batcher.submit(matrices[0]))
        await started(model)  # the thread is busy with the first request
        rest = await asyncio.gather(
            *(batcher.submit(m) for m in matrices[1:]), return_exceptions=True
        )
        return [await first, *rest]

    try:
        answers = asyncio.run(go())
    finally:
        batcher.close()
    shared = sum(len(m) for m in matrices[1:])
    assert shared in model.batches  # they were stacked into one call, which failed
    for index, (matrix, outputs) in enumerate(zip(matrices, answers, strict=True)):
        if index == bad:
            assert isinstance(outputs, InvalidInput)
            assert "could not score these instances" in outputs.detail
        else:
            assert isinstance(outputs, Outputs), outputs
            assert_answers(model.estimator, matrix, outputs)


def test_requests_of_another_width_are_scored_on_their_own() -> None:
    model = RecordingModel(fitted(), delay_s=0.1, slow_calls=1)
    batcher = MicroBatcher(served_model(model))
    good = requests(4)
    narrow = np.zeros((7, 2))  # 7 rows: no other request, nor sum of them, has 7

    async def go() -> list[Outputs | BaseException]:
        first = asyncio.ensure_future(batcher.submit(good[0]))
        await started(model)
        rest = await asyncio.gather(
            batcher.submit(good[1]),
            batcher.submit(narrow),
            batcher.submit(good[2]),
            batcher.submit(good[3]),
            return_exceptions=True,
        )
        return [await first, *rest]

    try:
        answers = asyncio.run(go())
    finally:
        batcher.close()
    assert isinstance(answers[2], InvalidInput)
    for matrix, outputs in zip(
        good, [answers[0], answers[1], answers[3], answers[4]], strict=True
    ):
        assert isinstance(outputs, Outputs), outputs
        assert_answers(model.estimator, matrix, outputs)
    assert model.batches.count(7) == 1  # the narrow request ran alone, once
    assert sum(len(m) for m in good[1:]) in model.batches  # the others together


def test_a_fast_model_runs_inline_and_a_slow_one_through_the_batcher() -> None:
    model = RecordingModel(fitted())
    served = served_model(model)
    batcher = MicroBatcher(served)
    matrix = requests(1)[0]
    try:
        served.calibrated, served.base_us = True, INLINE_CALL_US / 10
        assert_answers(
            model.estimator, matrix, asyncio.run(score(served, batcher, matrix))
        )
        assert batcher.batches == 0  # inline

        big = np.zeros((INLINE_MAX_ROWS + 1, 3))
        asyncio.run(score(served, batcher, big))
        assert batcher.batches == 1  # too many rows to run inline

        served.base_us = INLINE_CALL_US * 10
        assert_answers(
            model.estimator, matrix, asyncio.run(score(served, batcher, matrix))
        )
        assert batcher.batches == 2

        served.calibrated = False  # never measured: not known to be fast
        served.base_us = 0.0
        asyncio.run(score(served, batcher, matrix))
        assert batcher.batches == 3
    finally:
        batcher.close()
    asyncio.run(score(served, None, matrix))  # no batcher: inline
    assert batcher.batches == 3


def test_run_counts_calls_and_reports_refusals_as_invalid_input() -> None:
    model = RecordingModel(fitted())
    served = served_model(model)
    matrix = requests(1)[0]
    outputs = served.run(matrix)
    assert_answers(model.estimator, matrix, outputs)
    assert served.calls == 1
    with pytest.raises(InvalidInput, match="could not score"):
        served.run(np.zeros((1, 5)))
    assert served.calls == 1  # a refused call is not counted
    assert outputs.rows(0, 1).predictions.tolist() == outputs.predictions[:1].tolist()


def test_calibration_measures_one_row_and_each_further_row() -> None:
    served = served_model(RecordingModel(fitted()))
    before = served.calibrated
    served.calibrate(repeats=2)
    assert (before, served.calibrated) == (False, True)
    assert served.base_us > 0
    assert served.row_us >= 0
    assert served.estimate_us(101) == served.base_us + 100 * served.row_us


def test_close_stops_the_thread_after_the_queued_work() -> None:
    model = RecordingModel(fitted(), delay_s=0.05)
    batcher = MicroBatcher(served_model(model))
    matrices = requests(3)

    async def go() -> list[Outputs]:
        pending = [asyncio.ensure_future(batcher.submit(m)) for m in matrices]
        await asyncio.sleep(0)
        batcher.close()
        return list(await asyncio.wait_for(asyncio.gather(*pending), 10))

    answers = asyncio.run(go())
    for matrix, outputs in zip(matrices, answers, strict=True):
        assert_answers(model.estimator, matrix, outputs)
    batcher._thread.join(2)
    assert not batcher._thread.is_alive()
