"""Which version answers a request: the alias's, a canary's share, or a pinned one.

A canary takes ``percent`` of an alias's traffic. A request that carries a routing
key (``key`` in the body, e.g. a user id) always lands on the same side: the key's
SHA-256 picks one of 10,000 buckets, and the first ``percent * 100`` buckets go to
the canary, so raising the percentage only moves keys towards the canary. A
request without a key is routed at random, with the same odds.
"""

from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass
from typing import Final, Literal

__all__ = ["BUCKETS", "Route", "Traffic", "bucket_of", "choose"]

BUCKETS: Final = 10_000
Route = Literal["primary", "canary"]


@dataclass(frozen=True, slots=True)
class Traffic:
    """How an alias's requests are served.

    Attributes:
        version: the version the alias points at.
        canary_version: the version taking a share, if a canary runs.
        canary_percent: its share, 1 to 99 (0 when no canary runs).
        shadow_version: a version scored on every request and logged, never
            returned, if one is set.
    """

    version: int
    canary_version: int | None = None
    canary_percent: int = 0
    shadow_version: int | None = None


def bucket_of(key: str) -> int:
    """The key's bucket in ``[0, BUCKETS)``: stable across processes and restarts."""
    digest = hashlib.sha256(key.encode("utf-8", "surrogatepass")).digest()
    return int.from_bytes(digest[:8], "big") % BUCKETS


def choose(traffic: Traffic, key: str | None) -> tuple[int, Route]:
    """The version that answers a request routed by ``key`` (random without one)."""
    if traffic.canary_version is None or traffic.canary_percent <= 0:
        return traffic.version, "primary"
    bucket = random.randrange(BUCKETS) if key is None else bucket_of(key)  # noqa: S311 - routing, not security
    if bucket < traffic.canary_percent * (BUCKETS // 100):
        return traffic.canary_version, "canary"
    return traffic.version, "primary"
