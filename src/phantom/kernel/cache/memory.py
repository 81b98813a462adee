"""``memory://``: an in-process, bounded LRU cache with per-entry TTLs."""

from __future__ import annotations

import re
import threading
import time
from collections import OrderedDict
from typing import TYPE_CHECKING, Final

from phantom.kernel.cache.keys import check_tenant_id
from phantom.kernel.cache.port import (
    INT64_MAX,
    INT64_MIN,
    check_amount,
    check_bucket,
    check_ttl,
    check_value,
)
from phantom.kernel.errors import ConfigError, InvalidInput, Unavailable

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable

    from phantom.kernel.cache.keys import CacheKey

__all__ = ["DEFAULT_MAX_ENTRIES", "MemoryCache"]

DEFAULT_MAX_ENTRIES: Final = 10_000
_INT_RE: Final = re.compile(rb"-?(0|[1-9][0-9]{0,18})")
_BUCKET: Final = b"bucket"


class MemoryCache:
    """A thread-safe LRU cache of at most ``max_entries`` entries.

    ``get``/``set``/``delete``/``incr`` are O(1); ``clear_tenant`` is O(n). Expired
    entries are dropped when touched or evicted as least recently used.

    Args:
        max_entries: the most entries kept; the least recently used go first.
        time_fn: a monotonic clock in seconds (inject a fake one in tests).

    Raises:
        ConfigError: ``max_entries`` is smaller than 1.
    """

    def __init__(
        self,
        *,
        max_entries: int = DEFAULT_MAX_ENTRIES,
        time_fn: Callable[[], float] = time.monotonic,
    ) -> None:
        if max_entries < 1:
            msg = f"memory cache max_entries must be at least 1, got {max_entries}"
            raise ConfigError(msg)
        self._max_entries = max_entries
        self._time_fn = time_fn
        # key -> (value, deadline on time_fn's scale or None)
        self._entries: OrderedDict[CacheKey, tuple[bytes, float | None]] = OrderedDict()
        self._lock = threading.Lock()
        self._closed = False

    def __len__(self) -> int:
        """Return the number of entries held, expired ones not yet dropped included."""
        return len(self._entries)

    def get(self, key: CacheKey) -> bytes | None:
        """Return the live value under ``key`` or ``None`` (see :class:`Cache`)."""
        with self._lock:
            self._check_open()
            return self._live(key, self._time_fn())

    def set(self, key: CacheKey, value: bytes, *, ttl: float | None = None) -> None:
        """Store ``value`` under ``key`` with an optional ttl (see :class:`Cache`)."""
        data = check_value(value)
        seconds = check_ttl(ttl)
        with self._lock:
            self._check_open()
            self._store(key, data, self._deadline(seconds))

    def delete(self, key: CacheKey) -> bool:
        """Remove ``key``; return whether a live entry was removed."""
        with self._lock:
            self._check_open()
            live = self._live(key, self._time_fn()) is not None
            self._entries.pop(key, None)
            return live

    def get_many(self, keys: Iterable[CacheKey]) -> dict[CacheKey, bytes]:
        """Return the live entries among ``keys`` (see :class:`Cache`)."""
        wanted = list(keys)  # outside the lock: the iterable may be lazy
        with self._lock:
            self._check_open()
            now = self._time_fn()
            found: dict[CacheKey, bytes] = {}
            for key in wanted:
                value = self._live(key, now)
                if value is not None:
                    found[key] = value
            return found

    def incr(self, key: CacheKey, amount: int = 1, *, ttl: float | None = None) -> int:
        """Atomically add ``amount`` to the integer under ``key`` (see ``Cache``)."""
        step = check_amount(amount)
        seconds = check_ttl(ttl)
        with self._lock:
            self._check_open()
            now = self._time_fn()
            current = self._live(key, now)
            if current is None:
                total, deadline = step, self._deadline(seconds)
            else:
                total, deadline = _parse_int(current) + step, self._entries[key][1]
            if not INT64_MIN <= total <= INT64_MAX:
                msg = "cache increment would overflow a signed 64-bit integer"
                raise InvalidInput(msg)
            self._store(key, str(total).encode("ascii"), deadline)
            return total

    def take(self, key: CacheKey, *, rate: float, burst: int, cost: int = 1) -> float:
        """Take ``cost`` tokens from the bucket under ``key`` (see ``Cache``)."""
        per_second, size, taken = check_bucket(rate, burst, cost)
        with self._lock:
            self._check_open()
            now = self._time_fn()
            current = self._live(key, now)
            tokens = float(size)
            if current is not None:
                held, stamp = _parse_bucket(current)
                tokens = min(float(size), held + max(0.0, now - stamp) * per_second)
            wait = 0.0
            if tokens >= taken:
                tokens -= taken
            else:
                wait = (taken - tokens) / per_second
            state = f"bucket {tokens!r} {now!r}".encode("ascii")
            refill = max((size - tokens) / per_second, 1e-3)
            self._store(key, state, now + refill)
            return wait

    def clear_tenant(self, tenant_id: str) -> int:
        """Remove every entry of ``tenant_id``; return how many live ones went."""
        check_tenant_id(tenant_id)
        with self._lock:
            self._check_open()
            now = self._time_fn()
            doomed = [k for k in self._entries if k.tenant_id == tenant_id]
            removed = 0
            for key in doomed:
                _, deadline = self._entries.pop(key)
                if deadline is None or deadline > now:
                    removed += 1
            return removed

    def ping(self) -> None:
        """Return if the cache is open (see :class:`Cache`)."""
        with self._lock:
            self._check_open()

    def close(self) -> None:
        """Drop every entry; later calls raise :class:`Unavailable`."""
        with self._lock:
            self._closed = True
            self._entries.clear()

    def _check_open(self) -> None:
        if self._closed:
            msg = "memory cache is closed"
            raise Unavailable(msg)

    def _deadline(self, seconds: float | None) -> float | None:
        return None if seconds is None else self._time_fn() + seconds

    def _live(self, key: CacheKey, now: float) -> bytes | None:
        """Return the live value of ``key`` and mark it recently used. Lock held."""
        entry = self._entries.get(key)
        if entry is None:
            return None
        value, deadline = entry
        if deadline is not None and deadline <= now:
            del self._entries[key]
            return None
        self._entries.move_to_end(key)
        return value

    def _store(self, key: CacheKey, value: bytes, deadline: float | None) -> None:
        """Insert or replace ``key`` as most recently used and evict. Lock held."""
        self._entries[key] = (value, deadline)
        self._entries.move_to_end(key)
        while len(self._entries) > self._max_entries:
            self._entries.popitem(last=False)


def _parse_int(value: bytes) -> int:
    """Parse ``value`` the way Redis does: optional ``-`` and decimal digits."""
    if not _INT_RE.fullmatch(value):
        msg = "cache value is not an integer and cannot be incremented"
        raise InvalidInput(msg)
    return int(value)


def _parse_bucket(value: bytes) -> tuple[float, float]:
    """Parse a bucket entry ``b"bucket <tokens> <stamp>"``."""
    parts = value.split(b" ")
    if len(parts) == 3 and parts[0] == _BUCKET:
        try:
            return float(parts[1]), float(parts[2])
        except ValueError:
            pass
    msg = "cache value is not a token bucket"
    raise InvalidInput(msg)
