"""The model cache: one load per key however many ask, LRU under a byte budget."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import pytest

from phantom.serving.runtime.cache import CacheKey, ModelCache
from phantom.serving.runtime.model import ServedModel


@dataclass(frozen=True)
class ConstantModel:
    """The smallest servable model: predicts zeros, has no probabilities."""

    format: str = "skops"
    input_names: tuple[str, ...] = ()
    predict_proba: Callable[[npt.NDArray[Any]], npt.NDArray[Any]] | None = None
    classes: tuple[Any, ...] | None = None
    native: Any = None

    def predict(self, rows: npt.NDArray[Any]) -> npt.NDArray[Any]:
        return np.zeros(len(rows))


def served(tenant: str, digest: str, size: int = 10) -> ServedModel:
    return ServedModel(
        tenant_id=tenant,
        name="m",
        version=1,
        digest=digest,
        signature=None,
        model=ConstantModel(),
        classes=None,
        size_bytes=size,
    )


class CountingLoader:
    """A loader that takes a while and counts how often it ran."""

    def __init__(self, model: ServedModel, delay_s: float = 0.0) -> None:
        self.model = model
        self.delay_s = delay_s
        self.calls = 0
        self._lock = threading.Lock()

    def __call__(self) -> ServedModel:
        with self._lock:
            self.calls += 1
        time.sleep(self.delay_s)
        return self.model


def test_many_concurrent_misses_load_once() -> None:
    cache = ModelCache(1_000)
    loader = CountingLoader(served("t1", "d1"), delay_s=0.2)
    threads_count = 24
    start = threading.Barrier(threads_count)
    got: list[ServedModel] = []
    got_lock = threading.Lock()

    def ask() -> None:
        start.wait()
        found = cache.get(("t1", "d1"), loader)
        with got_lock:
            got.append(found)

    threads = [threading.Thread(target=ask) for _ in range(threads_count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert loader.calls == 1
    assert len(got) == threads_count
    assert all(found is loader.model for found in got)
    assert cache.stats.misses == 1
    assert cache.stats.loads == 1
    assert cache.stats.hits == threads_count - 1
    assert cache._loading == {}  # no gate left behind
    assert cache.get(("t1", "d1"), loader) is loader.model
    assert loader.calls == 1


def test_loads_of_different_keys_do_not_wait_for_each_other() -> None:
    cache = ModelCache(1_000)
    slow = CountingLoader(served("t1", "slow"), delay_s=1.0)
    fast = CountingLoader(served("t1", "fast"))
    thread = threading.Thread(target=cache.get, args=(("t1", "slow"), slow))
    thread.start()
    try:
        time.sleep(0.05)
        started = time.monotonic()
        assert cache.get(("t1", "fast"), fast) is fast.model
        assert time.monotonic() - started < 0.5
    finally:
        thread.join(5)


def test_least_recently_used_entries_are_evicted_past_the_budget() -> None:
    evicted: list[tuple[CacheKey, ServedModel]] = []
    cache = ModelCache(100, on_evict=lambda key, model: evicted.append((key, model)))
    a, b, c = served("t1", "a", 40), served("t1", "b", 40), served("t1", "c", 40)
    cache.get(("t1", "a"), lambda: a)
    cache.get(("t1", "b"), lambda: b)
    assert cache.used_bytes == 80
    assert cache.peek(("t1", "a")) is a  # a is now the most recently used
    cache.get(("t1", "c"), lambda: c)
    assert evicted == [(("t1", "b"), b)]
    assert cache.peek(("t1", "b")) is None
    assert cache.peek(("t1", "a")) is a
    assert cache.peek(("t1", "c")) is c
    assert (len(cache), cache.used_bytes) == (2, 80)
    assert cache.stats.evictions == 1


def test_an_entry_larger_than_the_budget_is_served_and_evicted_next() -> None:
    evicted: list[CacheKey] = []
    cache = ModelCache(100, on_evict=lambda key, _: evicted.append(key))
    small = served("t1", "small", 30)
    huge = served("t1", "huge", 500)
    cache.get(("t1", "small"), lambda: small)
    assert cache.get(("t1", "huge"), lambda: huge) is huge
    assert evicted == [("t1", "small")]
    assert (len(cache), cache.used_bytes) == (1, 500)
    cache.get(("t1", "small"), lambda: small)
    assert evicted == [("t1", "small"), ("t1", "huge")]
    assert cache.used_bytes == 30


def test_tenants_never_share_an_entry_even_for_the_same_bytes() -> None:
    cache = ModelCache(1_000)
    first = CountingLoader(served("tenant-a", "same-digest"))
    second = CountingLoader(served("tenant-b", "same-digest"))
    assert cache.get(("tenant-a", "same-digest"), first) is first.model
    assert cache.get(("tenant-b", "same-digest"), second) is second.model
    assert (first.calls, second.calls) == (1, 1)
    assert cache.peek(("tenant-a", "same-digest")) is first.model
    assert cache.peek(("tenant-b", "same-digest")) is second.model
    assert cache.peek(("tenant-c", "same-digest")) is None
    assert len(cache) == 2


def test_a_failed_load_is_not_cached_and_is_tried_again() -> None:
    cache = ModelCache(1_000)
    model = served("t1", "d1")
    attempts = 0

    def flaky() -> ServedModel:
        nonlocal attempts
        attempts += 1
        if attempts == 1:
            msg = "the artifact store is down"
            raise OSError(msg)
        return model

    with pytest.raises(OSError, match="store is down"):
        cache.get(("t1", "d1"), flaky)
    assert len(cache) == 0
    assert cache.used_bytes == 0
    assert cache.stats.load_failures == 1
    assert cache._loading == {}
    assert cache.get(("t1", "d1"), flaky) is model
    assert attempts == 2
    assert cache.stats.loads == 1


def test_waiters_of_a_failed_load_load_again_themselves() -> None:
    cache = ModelCache(1_000)
    model = served("t1", "d1")
    calls = 0
    calls_lock = threading.Lock()

    def first_fails() -> ServedModel:
        nonlocal calls
        with calls_lock:
            calls += 1
            number = calls
        time.sleep(0.1)
        if number == 1:
            msg = "first load fails"
            raise RuntimeError(msg)
        return model

    results: list[object] = []

    def ask() -> None:
        try:
            results.append(cache.get(("t1", "d1"), first_fails))
        except RuntimeError as exc:
            results.append(exc)

    threads = [threading.Thread(target=ask) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    failures = [r for r in results if isinstance(r, RuntimeError)]
    assert len(failures) == 1
    assert [r for r in results if r is model] == [model] * 3
    assert cache.peek(("t1", "d1")) is model


def test_evict_and_clear_tell_the_hook() -> None:
    evicted: list[CacheKey] = []
    cache = ModelCache(1_000, on_evict=lambda key, _: evicted.append(key))
    for digest in ("a", "b", "c"):
        model = served("t1", digest)
        cache.get(("t1", digest), lambda model=model: model)  # type: ignore[misc]
    assert cache.evict(("t1", "b"))
    assert not cache.evict(("t1", "b"))
    assert evicted == [("t1", "b")]
    cache.clear()
    assert sorted(evicted) == [("t1", "a"), ("t1", "b"), ("t1", "c")]
    assert (len(cache), cache.used_bytes) == (0, 0)


def test_the_budget_must_be_positive() -> None:
    with pytest.raises(ValueError, match="positive"):
        ModelCache(0)


def test_a_caller_arriving_just_as_a_load_ends_does_not_load_again(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    cache = ModelCache(1_000)
    loader = CountingLoader(served("t1", "d1"), delay_s=0.1)
    insert = cache._insert

    def slow_insert(key: CacheKey, model: ServedModel) -> None:
        time.sleep(0.3)  # widen the window between the load and the insert
        insert(key, model)

    monkeypatch.setattr(cache, "_insert", slow_insert)
    first = threading.Thread(target=cache.get, args=(("t1", "d1"), loader))
    first.start()
    try:
        time.sleep(0.2)  # the load is over; the insert has not happened yet
        cache.get(("t1", "d1"), loader)
    finally:
        first.join(5)
    assert loader.calls == 1
