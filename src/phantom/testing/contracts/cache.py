"""The cache contract: behaviour every :class:`~phantom.kernel.cache.Cache` shows.

Subclass :class:`CacheContract` in a test module (its name must start with
``Test``) and provide two fixtures:

* ``cache``: a fresh, empty cache under test (closed by the fixture afterwards);
* ``advance``: a ``Callable[[float], None]`` that lets that many seconds pass for
  the cache's TTLs: move an injected clock (:class:`ManualTime`) for in-process
  adapters, or ``time.sleep`` for servers. TTLs here are 0.1-0.3 s, so a sleeping
  ``advance`` costs about a second for the whole suite.

Capacity-specific behaviour (LRU eviction) belongs to the adapter's own tests.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

import pytest

from phantom.kernel.cache import Cache, cache_key
from phantom.kernel.errors import InvalidInput, Unavailable
from phantom.testing.contracts.cache_buckets import TokenBucketContract

__all__ = ["HOSTILE_PARTS", "CacheContract", "ManualTime"]

Advance = Callable[[float], None]

HOSTILE_PARTS: tuple[str, ...] = (
    "",
    ":",
    "a:b",
    "a",
    "b",
    "*",
    "?",
    "[a-z]",
    "\\",
    "%",
    "%3A",
    "~",
    " ",
    "\n",
    "\r\n",
    "\x00",
    "ü",
    "%C3%BC",
    "名前",
    "🙂",
    "\ud800",
    "t:b:ns:x",
    "x" * 200,
    "x" * 201,
    "x" * 10_000,
    "x" * 9_999 + "y",
)
"""Key parts that must round-trip and never share an entry with one another."""


class ManualTime:
    """A monotonic time function that moves only when told to.

    Args:
        start: the first reading, in seconds.
    """

    def __init__(self, start: float = 1_000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        """Return the current reading."""
        return self.now

    def advance(self, seconds: float) -> None:
        """Move the reading forward by ``seconds``."""
        self.now += seconds


class CacheContract(TokenBucketContract):
    """Behaviour every cache adapter must show (see the module docstring).

    The token-bucket tests (:meth:`Cache.take`) come from
    :class:`~phantom.testing.contracts.cache_buckets.TokenBucketContract`.
    """

    @pytest.fixture
    def cache(self) -> Cache:
        """The cache under test; subclasses must override this fixture."""
        msg = f"{type(self).__name__} must provide a 'cache' fixture"
        raise NotImplementedError(msg)

    @pytest.fixture
    def advance(self) -> Advance:
        """Let seconds pass for the cache; subclasses must override this fixture."""
        msg = f"{type(self).__name__} must provide an 'advance' fixture"
        raise NotImplementedError(msg)

    # -- get / set / delete ------------------------------------------------------

    def test_get_returns_what_set_stored(self, cache: Cache) -> None:
        key = cache_key("t1", "models", "m1")
        cache.set(key, b"v1")
        assert cache.get(key) == b"v1"

    def test_get_returns_none_for_a_missing_key(self, cache: Cache) -> None:
        assert cache.get(cache_key("t1", "models", "missing")) is None

    def test_values_round_trip_byte_for_byte(self, cache: Cache) -> None:
        values = [b"", b"\x00\xff\x00", bytes(range(256)), b"x" * 100_000]
        keys = [cache_key("t1", "bin", str(i)) for i in range(len(values))]
        for key, value in zip(keys, values, strict=True):
            cache.set(key, value)
        assert [cache.get(key) for key in keys] == values

    def test_set_replaces_the_value(self, cache: Cache) -> None:
        key = cache_key("t1", "models", "m1")
        cache.set(key, b"old")
        cache.set(key, b"new")
        assert cache.get(key) == b"new"

    def test_delete_removes_the_entry_and_says_whether_it_existed(
        self, cache: Cache
    ) -> None:
        key = cache_key("t1", "models", "m1")
        cache.set(key, b"v")
        assert cache.delete(key) is True
        assert cache.get(key) is None
        assert cache.delete(key) is False

    @pytest.mark.parametrize("value", ["text", 1, None, bytearray(b"x")])
    def test_set_rejects_values_that_are_not_bytes(
        self, cache: Cache, value: object
    ) -> None:
        with pytest.raises(InvalidInput):
            cache.set(cache_key("t1", "ns", "k"), value)  # type: ignore[arg-type]

    @pytest.mark.parametrize("ttl", [0, -1.0, float("nan"), float("inf")])
    def test_set_and_incr_reject_ttls_that_are_not_positive(
        self, cache: Cache, ttl: float
    ) -> None:
        key = cache_key("t1", "ns", "k")
        with pytest.raises(InvalidInput):
            cache.set(key, b"v", ttl=ttl)
        with pytest.raises(InvalidInput):
            cache.incr(key, ttl=ttl)
        assert cache.get(key) is None

    # -- TTL ---------------------------------------------------------------------

    def test_entry_expires_after_its_ttl(self, cache: Cache, advance: Advance) -> None:
        key = cache_key("t1", "ns", "short")
        keep = cache_key("t1", "ns", "keep")
        cache.set(key, b"v", ttl=0.2)
        cache.set(keep, b"k")
        advance(0.05)
        assert cache.get(key) == b"v"
        advance(0.25)
        assert cache.get(key) is None
        assert cache.get_many([key, keep]) == {keep: b"k"}
        assert cache.delete(key) is False
        assert cache.clear_tenant("t1") == 1

    def test_set_without_ttl_removes_an_earlier_ttl(
        self, cache: Cache, advance: Advance
    ) -> None:
        key = cache_key("t1", "ns", "k")
        cache.set(key, b"short", ttl=0.1)
        cache.set(key, b"forever")
        advance(0.2)
        assert cache.get(key) == b"forever"

    # -- get_many ----------------------------------------------------------------

    def test_get_many_returns_only_present_keys(self, cache: Cache) -> None:
        a, b, c = (cache_key("t1", "ns", name) for name in "abc")
        cache.set(a, b"1")
        cache.set(c, b"3")
        assert cache.get_many([a, b, c, a]) == {a: b"1", c: b"3"}
        assert cache.get_many([]) == {}
        assert cache.get_many(iter([c])) == {c: b"3"}

    # -- incr --------------------------------------------------------------------

    def test_incr_starts_at_zero_and_adds_the_amount(self, cache: Cache) -> None:
        key = cache_key("t1", "rate", "req")
        assert cache.incr(key) == 1
        assert cache.incr(key, 5) == 6
        assert cache.incr(key, -2) == 4
        assert cache.get(key) == b"4"

    def test_incr_continues_from_a_value_that_set_stored(self, cache: Cache) -> None:
        key = cache_key("t1", "rate", "req")
        cache.set(key, b"41")
        assert cache.incr(key) == 42

    def test_incr_of_a_non_integer_value_is_invalid_input(self, cache: Cache) -> None:
        key = cache_key("t1", "rate", "req")
        cache.set(key, b"not a number")
        with pytest.raises(InvalidInput):
            cache.incr(key)
        with pytest.raises(InvalidInput):
            cache.incr(key, ttl=1.0)
        assert cache.get(key) == b"not a number"

    def test_incr_past_the_signed_64_bit_range_is_invalid_input(
        self, cache: Cache
    ) -> None:
        key = cache_key("t1", "rate", "req")
        cache.incr(key, 2**63 - 1)
        with pytest.raises(InvalidInput):
            cache.incr(key)
        with pytest.raises(InvalidInput):
            cache.incr(key, 2**63)

    def test_incr_is_atomic_across_threads(self, cache: Cache) -> None:
        key = cache_key("t1", "rate", "req")
        threads, per_thread = 8, 200
        start = threading.Barrier(threads)
        errors: list[BaseException] = []

        def work() -> None:
            try:
                start.wait()
                for _ in range(per_thread):
                    cache.incr(key, ttl=60.0)
            except BaseException as exc:  # noqa: BLE001 - reported below
                errors.append(exc)

        workers = [threading.Thread(target=work) for _ in range(threads)]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join()
        assert errors == []
        assert cache.get(key) == str(threads * per_thread).encode()

    def test_incr_ttl_applies_only_when_the_key_is_created(
        self, cache: Cache, advance: Advance
    ) -> None:
        key = cache_key("t1", "rate", "window")
        assert cache.incr(key, ttl=0.3) == 1
        advance(0.15)
        assert cache.incr(key, ttl=0.3) == 2  # must not push the expiry back
        advance(0.2)
        assert cache.get(key) is None
        assert cache.incr(key, ttl=0.3) == 1

    def test_incr_ttl_leaves_an_existing_key_without_expiry(
        self, cache: Cache, advance: Advance
    ) -> None:
        key = cache_key("t1", "rate", "forever")
        cache.set(key, b"5")
        assert cache.incr(key, ttl=0.1) == 6
        advance(0.2)
        assert cache.get(key) == b"6"

    # -- tenants -----------------------------------------------------------------

    def test_same_namespace_and_name_under_two_tenants_never_collide(
        self, cache: Cache
    ) -> None:
        a, b = cache_key("a", "ns", "k"), cache_key("b", "ns", "k")
        cache.set(a, b"A")
        cache.set(b, b"B")
        assert (cache.get(a), cache.get(b)) == (b"A", b"B")
        cache.delete(a)
        assert cache.get(b) == b"B"

    def test_clear_tenant_removes_only_that_tenants_keys(self, cache: Cache) -> None:
        others = ["b", "a*", "a:b", "a?", "[a]", "A", "a ", "*", "aa", "%61"]
        for name in ["one", "two", "three"]:
            cache.set(cache_key("a", "ns", name), b"a")
        for tenant in others:
            cache.set(cache_key(tenant, "ns", "one"), tenant.encode())
        assert cache.clear_tenant("a") == 3
        assert cache.get(cache_key("a", "ns", "one")) is None
        for tenant in others:
            assert cache.get(cache_key(tenant, "ns", "one")) == tenant.encode()
        assert cache.clear_tenant("a") == 0

    def test_clear_tenant_of_a_glob_like_tenant_id_is_literal(
        self, cache: Cache
    ) -> None:
        tenants = ["*", "?", "[ab]", "a", "b", "\\*"]
        for tenant in tenants:
            cache.set(cache_key(tenant, "ns", "k"), tenant.encode())
        for glob in ["*", "?", "[ab]", "\\*"]:
            assert cache.clear_tenant(glob) == 1
        assert cache.get(cache_key("a", "ns", "k")) == b"a"
        assert cache.get(cache_key("b", "ns", "k")) == b"b"

    def test_clear_tenant_removes_more_keys_than_one_batch(self, cache: Cache) -> None:
        for i in range(1_200):
            cache.set(cache_key("big", "ns", str(i)), b"x")
        cache.set(cache_key("small", "ns", "0"), b"y")
        assert cache.clear_tenant("big") == 1_200
        assert cache.get(cache_key("small", "ns", "0")) == b"y"

    def test_clear_tenant_with_an_empty_tenant_id_is_invalid_input(
        self, cache: Cache
    ) -> None:
        with pytest.raises(InvalidInput):
            cache.clear_tenant("")

    # -- hostile keys ------------------------------------------------------------

    def test_hostile_key_parts_round_trip_and_stay_separate(self, cache: Cache) -> None:
        keys = [cache_key("t1", "ns", part) for part in HOSTILE_PARTS]
        keys += [cache_key(part or "_", part or "_", "k") for part in HOSTILE_PARTS]
        keys += [cache_key("t1", "ns", "a", "b"), cache_key("t1", "ns:a", "b")]
        keys += [cache_key("t1", "ns"), cache_key("t1", "ns", "", "")]
        assert len(set(keys)) == len(keys)
        for i, key in enumerate(keys):
            cache.set(key, str(i).encode())
        found = cache.get_many(keys)
        assert found == {key: str(i).encode() for i, key in enumerate(keys)}

    # -- lifecycle ---------------------------------------------------------------

    def test_ping_succeeds_on_a_live_cache(self, cache: Cache) -> None:
        cache.ping()

    def test_close_is_idempotent_and_the_closed_cache_is_unavailable(
        self, cache: Cache
    ) -> None:
        cache.close()
        cache.close()
        with pytest.raises(Unavailable):
            cache.ping()
        with pytest.raises(Unavailable):
            cache.get(cache_key("t1", "ns", "k"))
