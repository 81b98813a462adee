"""The cache contract over ``memory://`` and ``redis://``, plus adapter specifics."""

from __future__ import annotations

import sys
import time
import uuid
from typing import TYPE_CHECKING

import pytest

from phantom.kernel.cache import Cache, cache_key, open_cache
from phantom.kernel.cache.memory import MemoryCache
from phantom.kernel.cache.redis import RedisCache, split_prefix
from phantom.kernel.errors import ConfigError, Unavailable
from phantom.testing.contracts.cache import CacheContract, ManualTime
from phantom.testing.services import service_url, services_required

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

UNREACHABLE_REDIS = "redis://127.0.0.1:1/0"


class TestMemoryCache(CacheContract):
    @pytest.fixture
    def clock(self) -> ManualTime:
        return ManualTime()

    @pytest.fixture
    def cache(self, clock: ManualTime) -> Iterator[Cache]:
        cache = MemoryCache(time_fn=clock)
        yield cache
        cache.close()

    @pytest.fixture
    def advance(self, clock: ManualTime) -> Callable[[float], None]:
        return clock.advance

    def test_least_recently_used_entry_is_evicted_past_max_entries(
        self, clock: ManualTime
    ) -> None:
        cache = MemoryCache(max_entries=3, time_fn=clock)
        a, b, c, d = (cache_key("t1", "ns", name) for name in "abcd")
        for key in (a, b, c):
            cache.set(key, b"v")
        assert cache.get(a) == b"v"  # a is now the most recently used
        cache.set(d, b"v")
        assert cache.get(b) is None
        assert cache.get_many([a, c, d]) == {a: b"v", c: b"v", d: b"v"}
        assert len(cache) == 3

    def test_incr_and_set_refresh_recency(self, clock: ManualTime) -> None:
        cache = MemoryCache(max_entries=2, time_fn=clock)
        a, b, c = (cache_key("t1", "ns", name) for name in "abc")
        cache.incr(a)
        cache.set(b, b"v")
        cache.incr(a)
        cache.set(c, b"v")
        assert cache.get(a) == b"2"
        assert cache.get(b) is None

    def test_expired_entries_are_dropped_when_touched(self, clock: ManualTime) -> None:
        cache = MemoryCache(time_fn=clock)
        key = cache_key("t1", "ns", "k")
        cache.set(key, b"v", ttl=1.0)
        clock.advance(1.0)
        assert cache.get(key) is None
        assert len(cache) == 0

    @pytest.mark.parametrize("max_entries", [0, -1])
    def test_max_entries_below_one_is_a_config_error(self, max_entries: int) -> None:
        with pytest.raises(ConfigError):
            MemoryCache(max_entries=max_entries)

    def test_open_cache_memory_honours_max_entries(self) -> None:
        cache = open_cache("memory://", max_entries=1)
        assert isinstance(cache, MemoryCache)
        cache.set(cache_key("t1", "ns", "a"), b"a")
        cache.set(cache_key("t1", "ns", "b"), b"b")
        assert cache.get(cache_key("t1", "ns", "a")) is None


def _redis_base_url() -> str:
    return service_url("redis")


def _with_prefix(url: str, prefix: str) -> str:
    return f"{url}{'&' if '?' in url else '?'}prefix={prefix}"


def _delete_prefix(url: str, prefix: str) -> None:
    import redis

    client = redis.Redis.from_url(split_prefix(url)[0], socket_timeout=2.0)
    try:
        names = list(client.scan_iter(match=f"{prefix}:*", count=1000))
        for start in range(0, len(names), 500):
            client.delete(*names[start : start + 500])
    finally:
        client.close()


@pytest.mark.redis
class TestRedisCache(CacheContract):
    @pytest.fixture
    def prefix(self) -> str:
        return f"phantom_test_{uuid.uuid4().hex}"

    @pytest.fixture
    def cache(self, prefix: str) -> Iterator[Cache]:
        base = _redis_base_url()
        cache = open_cache(_with_prefix(base, prefix))
        try:
            cache.ping()
        except Unavailable as exc:
            cache.close()
            reason = f"Redis unreachable at {base}: {exc.__cause__ or exc}"
            if services_required():
                pytest.fail(f"{reason} (PHANTOM_TEST_SERVICES=required)")
            pytest.skip(reason)
        try:
            yield cache
        finally:
            cache.close()
            _delete_prefix(base, prefix)

    @pytest.fixture
    def advance(self) -> Callable[[float], None]:
        return time.sleep

    def test_keys_are_stored_under_the_url_prefix(
        self, cache: Cache, prefix: str
    ) -> None:
        import redis

        cache.set(cache_key("t1", "ns", "a:b"), b"v")
        client = redis.Redis.from_url(_redis_base_url())
        try:
            names = list(client.scan_iter(match=f"{prefix}:*"))
        finally:
            client.close()
        assert names == [f"{prefix}:t:t1:ns:a%3Ab".encode()]

    def test_a_second_prefix_sees_none_of_the_first(
        self, cache: Cache, prefix: str
    ) -> None:
        other_prefix = f"{prefix}_other"
        other = open_cache(_with_prefix(_redis_base_url(), other_prefix))
        try:
            key = cache_key("t1", "ns", "k")
            cache.set(key, b"v")
            assert other.get(key) is None
            assert other.clear_tenant("t1") == 0
            assert cache.get(key) == b"v"
        finally:
            other.close()
            _delete_prefix(_redis_base_url(), other_prefix)


def test_unknown_scheme_is_a_config_error_naming_the_known_ones() -> None:
    with pytest.raises(ConfigError) as caught:
        open_cache("foo://somewhere")
    assert "memory://" in str(caught.value)
    assert "redis://" in str(caught.value)


def test_unreachable_redis_raises_unavailable_quickly() -> None:
    started = time.monotonic()
    cache = open_cache(UNREACHABLE_REDIS)
    try:
        with pytest.raises(Unavailable) as caught:
            cache.ping()
        assert caught.value.__cause__ is not None
        with pytest.raises(Unavailable):
            cache.get(cache_key("t1", "ns", "k"))
        with pytest.raises(Unavailable):
            cache.incr(cache_key("t1", "ns", "k"), ttl=1.0)
    finally:
        cache.close()
    assert "127.0.0.1:1" in str(caught.value)
    assert time.monotonic() - started < 5.0


def test_redis_url_prefix_is_split_off_and_other_options_kept() -> None:
    url, prefix = split_prefix("redis://u:p@127.0.0.1:6379/2?prefix=app_1&db=3")
    assert (url, prefix) == ("redis://u:p@127.0.0.1:6379/2?db=3", "app_1")
    assert split_prefix("redis://127.0.0.1:6379/0") == (
        "redis://127.0.0.1:6379/0",
        "phantom",
    )


@pytest.mark.parametrize("prefix", ["", "a*b", "a:b", "a%20b", "x" * 65])
def test_redis_url_with_an_unsafe_prefix_is_a_config_error(prefix: str) -> None:
    with pytest.raises(ConfigError):
        open_cache(f"{UNREACHABLE_REDIS}?prefix={prefix}")


def test_redis_url_asking_for_decoded_responses_is_a_config_error() -> None:
    with pytest.raises(ConfigError):
        RedisCache(f"{UNREACHABLE_REDIS}?decode_responses=true")


def test_missing_redis_py_is_a_config_error_naming_the_extra(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "redis", None)
    with pytest.raises(ConfigError, match=r"phantom-ml\[redis\]"):
        open_cache("redis://127.0.0.1:6379/0")
