"""The cache port and its adapters, chosen by URL.

::

    open_cache("memory://")                                   # in-process LRU
    open_cache("redis://127.0.0.1:6379/0?prefix=phantom")     # Redis (extra: redis)

Keys are built only by :func:`cache_key` and are always tenant-scoped; values are
bytes. See :class:`Cache` for the contract every adapter honours.
"""

from __future__ import annotations

from phantom.kernel.adapters import SchemeRegistry
from phantom.kernel.cache.keys import CacheKey, cache_key
from phantom.kernel.cache.port import Cache

__all__ = ["Cache", "CacheKey", "cache_key", "cache_registry", "open_cache"]


def cache_registry(*, max_entries: int = 10_000) -> SchemeRegistry[Cache]:
    """Return a new registry of the built-in cache schemes.

    Args:
        max_entries: the size bound of ``memory://`` caches.

    Returns:
        A registry knowing ``memory`` and ``redis`` (``rediss`` is an alias), plus
        any plugin of the entry-point group ``phantom.adapters.cache``.
    """
    registry: SchemeRegistry[Cache] = SchemeRegistry("cache")

    def open_memory(url: str) -> Cache:
        del url  # memory:// takes no options
        from phantom.kernel.cache.memory import MemoryCache  # noqa: PLC0415 - lazy

        return MemoryCache(max_entries=max_entries)

    def open_redis(url: str) -> Cache:
        from phantom.kernel.cache.redis import RedisCache  # noqa: PLC0415 - lazy

        return RedisCache(url)

    registry.register("memory", open_memory)
    registry.register("redis", open_redis)
    return registry


def open_cache(url: str, *, max_entries: int = 10_000) -> Cache:
    """Open the cache that ``url`` names.

    Args:
        url: ``memory://`` or ``redis://host:port/db[?prefix=...]``.
        max_entries: the size bound of a ``memory://`` cache (ignored otherwise).

    Returns:
        A new cache; the caller closes it.

    Raises:
        ConfigError: the scheme is unknown (the message lists the known ones), the
            URL is invalid, or the adapter's driver is not installed.
    """
    return cache_registry(max_entries=max_entries).open(url)
