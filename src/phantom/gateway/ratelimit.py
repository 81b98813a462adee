"""Per-tenant rate limiting at the gateway: one token bucket per tenant.

Each tenant's bucket holds ``burst`` requests and refills at ``rate`` per second
(``PHANTOM_RATE_LIMIT_PER_SECOND``, ``PHANTOM_RATE_LIMIT_BURST``). It lives in the
cache port (:meth:`~phantom.kernel.cache.Cache.take`), so on ``redis://`` every
gateway process shares it, and on ``memory://`` each process has its own. A
refused request is a 429 problem with ``Retry-After`` (ADR 0011).

When the cache cannot be reached the limiter lets requests through and logs a
warning: an outage of the cache should not become an outage of the API.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache
from typing import Final

import structlog

from phantom.kernel.cache import Cache, CacheKey, cache_key
from phantom.kernel.errors import QuotaExceeded, Unavailable

__all__ = ["RateLimited", "RateLimiter", "retry_after"]

log = structlog.get_logger(__name__)

_NAMESPACE: Final = "ratelimit"


class RateLimited(QuotaExceeded):
    """The tenant sent more requests than its rate limit allows (429)."""

    code = "rate-limited"
    title = "Too many requests"


def retry_after(wait: float) -> str:
    """The ``Retry-After`` header value for a wait of ``wait`` seconds (≥ 1)."""
    return str(max(1, math.ceil(wait)))


@dataclass(frozen=True, slots=True)
class RateLimiter:
    """Takes one token per request from the caller's tenant bucket.

    Attributes:
        cache: where the buckets live.
        rate: tokens per second (``0`` disables the limiter).
        burst: the bucket size.
    """

    cache: Cache
    rate: float
    burst: int

    @property
    def enabled(self) -> bool:
        """Whether requests are limited at all."""
        return self.rate > 0

    def wait(self, tenant_id: str) -> float:
        """Take a token for ``tenant_id``: ``0.0`` when allowed, else seconds to wait.

        Blocking on ``redis://`` (one round trip).
        """
        if not self.enabled:
            return 0.0
        key = _bucket_key(tenant_id)
        try:
            return self.cache.take(key, rate=self.rate, burst=self.burst)
        except Unavailable as exc:
            log.warning("gateway.rate_limit_unavailable", reason=exc.detail)
            return 0.0


@lru_cache(maxsize=4096)
def _bucket_key(tenant_id: str) -> CacheKey:
    """The tenant's bucket key, escaped once rather than on every request."""
    return cache_key(tenant_id, _NAMESPACE, "requests")
