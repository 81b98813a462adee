"""Usage counting: allowed data-plane calls become per-key, per-minute entries.

Predictions and metric writes are too frequent to each be a link of the chain, and
the chain must never sit on their path (DESIGN §5). The gateway calls
:meth:`UsageCounter.hit` (a dictionary increment under a lock) and a background task
periodically appends what :meth:`UsageCounter.drain` returns.
"""

from __future__ import annotations

import math
import threading
from datetime import UTC, datetime, timedelta
from typing import Final

from phantom.audit.domain.entry import ActorRef, EntryDraft, Result

__all__ = ["USAGE_ACTOR_KIND", "UsageCounter"]

USAGE_ACTOR_KIND: Final = "api_key"
"""The actor kind of usage entries: their actor id is the credential's id."""

_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)

_Bucket = tuple[str, str, str, int, Result]
"""(tenant id, key id, action, minute since the epoch, result)"""


class UsageCounter:
    """Counts calls per (tenant, key, action, minute, result); safe across threads.

    The result is ``allowed`` (data-plane calls) unless told otherwise: the
    gateway also counts the denials beyond its per-second budget here, as
    ``denied``, so the chain never calls them allowed.

    A count for a minute that was already drained (a late hit) starts a new bucket
    and is drained as a second entry for that minute, so no call is lost.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts: dict[_Bucket, int] = {}

    def hit(
        self,
        tenant_id: str,
        key_id: str,
        action: str,
        at: datetime,
        result: Result = "allowed",
    ) -> None:
        """Count one call.

        Args:
            tenant_id: the caller's tenant.
            key_id: the credential's id (the API key id; for a bearer token, its
                subject).
            action: what was called, e.g. ``usage.predict``.
            at: when (timezone-aware).
            result: how it ended (``allowed`` for data-plane calls).
        """
        minute = math.floor(at.timestamp()) // 60
        bucket = (tenant_id, key_id, action, minute, result)
        with self._lock:
            self._counts[bucket] = self._counts.get(bucket, 0) + 1

    def pending(self) -> int:
        """How many calls are counted and not yet drained."""
        with self._lock:
            return sum(self._counts.values())

    def drain(
        self, now: datetime, *, include_open: bool = False
    ) -> dict[str, list[EntryDraft]]:
        """Take the counts of the minutes that have closed, as drafts per tenant.

        Args:
            now: the current time; the minute containing it is still open.
            include_open: drain the open minute too (at shutdown).

        Returns:
            Per tenant, one draft per (key, action, minute, result), ordered by
            minute, key, action and result, with details
            ``{"count": n, "minute": iso}``.
        """
        open_minute = math.floor(now.timestamp()) // 60
        with self._lock:
            closed = [
                bucket
                for bucket in self._counts
                if include_open or bucket[3] < open_minute
            ]
            taken = {bucket: self._counts.pop(bucket) for bucket in closed}
        drafts: dict[str, list[EntryDraft]] = {}
        for bucket in sorted(taken, key=lambda b: (b[0], b[3], b[1], b[2], b[4])):
            tenant_id, key_id, action, minute, result = bucket
            drafts.setdefault(tenant_id, []).append(
                _draft(key_id, action, minute, taken[bucket], result)
            )
        return drafts


def _draft(
    key_id: str, action: str, minute: int, count: int, result: Result
) -> EntryDraft:
    start = _EPOCH + timedelta(minutes=minute)
    return EntryDraft(
        action=action,
        actor=ActorRef(kind=USAGE_ACTOR_KIND, id=key_id, via="api_key"),
        occurred_at=start,
        result=result,
        details={"count": count, "minute": start.strftime("%Y-%m-%dT%H:%MZ")},
    )
