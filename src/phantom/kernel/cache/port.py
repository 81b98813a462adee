"""The cache port: a tenant-scoped, bytes-valued key/value cache with TTLs.

Besides the :class:`Cache` protocol this module holds the argument checks every
adapter applies, so all adapters reject the same inputs with the same errors.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final, Protocol

from phantom.kernel.errors import InvalidInput

if TYPE_CHECKING:
    from collections.abc import Iterable

    from phantom.kernel.cache.keys import CacheKey

__all__ = [
    "INT64_MAX",
    "INT64_MIN",
    "Cache",
    "check_amount",
    "check_bucket",
    "check_ttl",
    "check_value",
]


class Cache(Protocol):
    """A synchronous, thread-safe cache of bytes keyed by :class:`CacheKey`.

    Contract (every adapter passes ``phantom.testing.contracts.cache``):

    * Keys are always tenant-scoped :class:`CacheKey` values; two distinct keys
      never share an entry, whatever characters their components hold.
    * Values are ``bytes``; anything else is :class:`InvalidInput`.
    * ``ttl`` is in seconds and must be positive (else :class:`InvalidInput`);
      ``None`` means no expiry. An expired entry is never returned, counted or
      incremented: it behaves exactly like a missing one.
    * :meth:`set` replaces both the value and the ttl of an existing entry.
    * A cache may evict entries before their ttl (the memory adapter is an LRU),
      so a cache is never the only copy of anything.
    * :meth:`incr` and :meth:`take` are atomic across threads and processes
      sharing the backend.
    * Every method is safe to call from several threads at once.
    * A backend that cannot be reached raises :class:`Unavailable`; after
      :meth:`close` every method except :meth:`close` raises :class:`Unavailable`.
    """

    def get(self, key: CacheKey) -> bytes | None:
        """Return the value stored under ``key``, or ``None`` if missing or expired.

        Raises:
            Unavailable: the backend cannot be reached.
        """
        ...

    def set(self, key: CacheKey, value: bytes, *, ttl: float | None = None) -> None:
        """Store ``value`` under ``key``, replacing any value and ttl it had.

        Args:
            key: where to store it.
            value: the bytes to store.
            ttl: seconds until the entry expires; ``None`` for never.

        Raises:
            InvalidInput: ``value`` is not bytes or ``ttl`` is not positive.
            Unavailable: the backend cannot be reached.
        """
        ...

    def delete(self, key: CacheKey) -> bool:
        """Remove ``key``; return whether a live entry was removed.

        Raises:
            Unavailable: the backend cannot be reached.
        """
        ...

    def get_many(self, keys: Iterable[CacheKey]) -> dict[CacheKey, bytes]:
        """Return the live entries among ``keys``; missing ones are left out.

        Raises:
            Unavailable: the backend cannot be reached.
        """
        ...

    def incr(self, key: CacheKey, amount: int = 1, *, ttl: float | None = None) -> int:
        """Atomically add ``amount`` to the integer under ``key`` and return it.

        A missing (or expired) key starts at 0 and, if ``ttl`` is given, expires
        ``ttl`` seconds after this call; an existing key keeps its expiry (a fixed
        window, as rate limiting needs). The value is stored as ASCII digits, so
        :meth:`get` returns e.g. ``b"3"``.

        Raises:
            InvalidInput: the stored value is not an integer, the result leaves
                the signed 64-bit range, or ``ttl`` is not positive.
            Unavailable: the backend cannot be reached.
        """
        ...

    def take(self, key: CacheKey, *, rate: float, burst: int, cost: int = 1) -> float:
        """Atomically take ``cost`` tokens from the token bucket under ``key``.

        The bucket holds at most ``burst`` tokens and refills at ``rate`` tokens
        per second; a missing (or expired) bucket starts full. When it holds at
        least ``cost`` tokens they are taken and ``0.0`` is returned; otherwise
        nothing is taken and the answer is the seconds until ``cost`` tokens
        will be there. The entry expires once the bucket would be full again, so
        idle buckets cost nothing. Its stored value is the adapter's own: use the
        key for nothing else.

        Raises:
            InvalidInput: ``rate`` is not positive and finite, ``burst`` or
                ``cost`` is not a positive int, ``cost`` exceeds ``burst``, or the
                entry holds something else than a bucket.
            Unavailable: the backend cannot be reached.
        """
        ...

    def clear_tenant(self, tenant_id: str) -> int:
        """Remove every entry of ``tenant_id`` and return how many were removed.

        Entries of other tenants are untouched, whatever their ids look like
        (``"a*"``, ``"a:b"``, ...). Entries written concurrently with the call may
        survive it.

        Raises:
            InvalidInput: ``tenant_id`` is empty.
            Unavailable: the backend cannot be reached.
        """
        ...

    def ping(self) -> None:
        """Check that the backend answers.

        Raises:
            Unavailable: the backend cannot be reached or the cache is closed.
        """
        ...

    def close(self) -> None:
        """Release connections; idempotent. The cache is unusable afterwards."""
        ...


INT64_MIN: Final = -(2**63)
INT64_MAX: Final = 2**63 - 1


def check_ttl(ttl: float | None) -> float | None:
    """Return ``ttl`` if it is ``None`` or a positive number of seconds.

    Raises:
        InvalidInput: ``ttl`` is zero, negative, not finite or not a number.
    """
    if ttl is None:
        return None
    if isinstance(ttl, bool) or not isinstance(ttl, int | float):
        msg = f"cache ttl must be a number of seconds, got {type(ttl).__name__}"
        raise InvalidInput(msg)
    if not 0 < ttl < float("inf"):
        msg = f"cache ttl must be positive and finite, got {ttl!r}"
        raise InvalidInput(msg)
    return float(ttl)


def check_value(value: object) -> bytes:
    """Return ``value`` if it is ``bytes``.

    Raises:
        InvalidInput: ``value`` is not ``bytes``.
    """
    if not isinstance(value, bytes):
        msg = f"cache values must be bytes, got {type(value).__name__}"
        raise InvalidInput(msg)
    return value


def check_amount(amount: object) -> int:
    """Return ``amount`` if it is an ``int`` (not ``bool``) in the signed 64-bit range.

    Raises:
        InvalidInput: ``amount`` is not such an integer.
    """
    if isinstance(amount, bool) or not isinstance(amount, int):
        msg = f"cache increments must be int, got {type(amount).__name__}"
        raise InvalidInput(msg)
    if not INT64_MIN <= amount <= INT64_MAX:
        msg = "cache increments must fit in a signed 64-bit integer"
        raise InvalidInput(msg)
    return amount


def _positive_int(name: str, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        msg = f"bucket {name} must be a positive int, got {value!r}"
        raise InvalidInput(msg)
    return value


def check_bucket(rate: object, burst: object, cost: object) -> tuple[float, int, int]:
    """Return the arguments of :meth:`Cache.take` if they describe a usable bucket.

    Raises:
        InvalidInput: ``rate`` is not a positive finite number, ``burst`` or
            ``cost`` is not a positive ``int``, or ``cost`` exceeds ``burst``.
    """
    if isinstance(rate, bool) or not isinstance(rate, int | float):
        msg = f"bucket rate must be a number, got {type(rate).__name__}"
        raise InvalidInput(msg)
    if not 0 < rate < float("inf"):
        msg = f"bucket rate must be positive and finite, got {rate!r}"
        raise InvalidInput(msg)
    size, taken = _positive_int("burst", burst), _positive_int("cost", cost)
    if taken > size or size > INT64_MAX:
        msg = f"bucket cost {taken} can never be taken from a burst of {size}"
        raise InvalidInput(msg)
    return float(rate), size, taken
