"""The token-bucket part of the cache contract: :meth:`Cache.take`.

Mixed into :class:`~phantom.testing.contracts.cache.CacheContract`, so every cache
adapter runs it with the same ``cache`` and ``advance`` fixtures. Rates are chosen
so that a sleeping ``advance`` (a real server's clock) leaves 100+ ms of slack
between what a test expects and what a slow machine could do.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable

import pytest

from phantom.kernel.cache import Cache, cache_key
from phantom.kernel.errors import InvalidInput, Unavailable

__all__ = ["TokenBucketContract"]

Advance = Callable[[float], None]


class TokenBucketContract:
    """Behaviour of :meth:`Cache.take` every cache adapter must show."""

    def test_a_new_bucket_is_full_and_refuses_past_its_burst(
        self, cache: Cache
    ) -> None:
        key = cache_key("t1", "bucket", "a")
        assert [cache.take(key, rate=5, burst=3) for _ in range(3)] == [0.0] * 3
        wait = cache.take(key, rate=5, burst=3)
        assert 0 < wait <= 0.2 + 1e-9

    def test_a_refused_take_takes_nothing_and_tokens_come_back(
        self, cache: Cache, advance: Advance
    ) -> None:
        key = cache_key("t1", "bucket", "a")
        assert cache.take(key, rate=5, burst=1) == 0.0
        assert cache.take(key, rate=5, burst=1) > 0
        assert cache.take(key, rate=5, burst=1) > 0
        advance(0.25)
        assert cache.take(key, rate=5, burst=1) == 0.0
        assert cache.take(key, rate=5, burst=1) > 0

    def test_refill_stops_at_the_burst(self, cache: Cache, advance: Advance) -> None:
        key = cache_key("t1", "bucket", "a")
        assert cache.take(key, rate=5, burst=2) == 0.0
        advance(0.6)
        assert cache.take(key, rate=5, burst=2) == 0.0
        assert cache.take(key, rate=5, burst=2) == 0.0
        assert cache.take(key, rate=5, burst=2) > 0

    def test_a_cost_takes_several_tokens_and_the_wait_covers_them(
        self, cache: Cache
    ) -> None:
        key = cache_key("t1", "bucket", "a")
        assert cache.take(key, rate=10, burst=5, cost=5) == 0.0
        wait = cache.take(key, rate=10, burst=5, cost=2)
        assert 0.1 < wait <= 0.2 + 1e-9

    def test_buckets_of_other_keys_and_tenants_are_separate(self, cache: Cache) -> None:
        keys = [
            cache_key("t1", "bucket", "a"),
            cache_key("t1", "bucket", "b"),
            cache_key("t2", "bucket", "a"),
        ]
        for key in keys:
            assert cache.take(key, rate=1, burst=1) == 0.0
        for key in keys:
            assert cache.take(key, rate=1, burst=1) > 0

    def test_an_idle_bucket_expires_once_it_is_full_again(
        self, cache: Cache, advance: Advance
    ) -> None:
        key = cache_key("t1", "bucket", "a")
        assert cache.take(key, rate=10, burst=1) == 0.0
        assert cache.get(key) is not None
        advance(0.3)
        assert cache.get(key) is None

    @pytest.mark.parametrize(
        ("rate", "burst", "cost"),
        [
            (0, 1, 1),
            (-1, 1, 1),
            (math.inf, 1, 1),
            (math.nan, 1, 1),
            ("1", 1, 1),
            (True, 1, 1),
            (1, 0, 1),
            (1, 1.5, 1),
            (1, True, 1),
            (1, 1, 0),
            (1, 2, 3),
        ],
    )
    def test_take_rejects_a_bucket_that_cannot_work(
        self, cache: Cache, rate: object, burst: object, cost: object
    ) -> None:
        with pytest.raises(InvalidInput):
            cache.take(
                cache_key("t1", "bucket", "a"),
                rate=rate,  # type: ignore[arg-type]
                burst=burst,  # type: ignore[arg-type]
                cost=cost,  # type: ignore[arg-type]
            )

    def test_take_of_an_entry_that_is_not_a_bucket_is_invalid_input(
        self, cache: Cache
    ) -> None:
        key = cache_key("t1", "bucket", "a")
        cache.set(key, b"hello")
        with pytest.raises(InvalidInput):
            cache.take(key, rate=1, burst=1)

    def test_take_is_atomic_across_threads(self, cache: Cache) -> None:
        key = cache_key("t1", "bucket", "shared")
        threads, per_thread, burst = 8, 20, 50
        start = threading.Barrier(threads)
        taken: list[int] = []
        errors: list[BaseException] = []

        def work() -> None:
            try:
                start.wait()
                got = sum(
                    cache.take(key, rate=0.001, burst=burst) == 0.0
                    for _ in range(per_thread)
                )
                taken.append(got)
            except BaseException as exc:  # noqa: BLE001 - reported below
                errors.append(exc)

        workers = [threading.Thread(target=work) for _ in range(threads)]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join()
        assert errors == []
        assert sum(taken) == burst

    def test_take_on_a_closed_cache_is_unavailable(self, cache: Cache) -> None:
        cache.close()
        with pytest.raises(Unavailable):
            cache.take(cache_key("t1", "bucket", "a"), rate=1, burst=1)
