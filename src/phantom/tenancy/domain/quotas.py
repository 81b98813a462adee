"""Count quotas: the decision, kept apart from how it is enforced.

Handlers check a quota inside the same transaction as the change, after locking
the tenant (ADR 0009), so two concurrent changes cannot both take the last slot.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, Literal

from phantom.tenancy.domain.errors import QuotaReached

__all__ = ["MAX_API_KEYS", "MAX_USERS", "QuotaName", "QuotaRefusal", "check_quota"]

QuotaName = Literal["max_users", "max_api_keys"]
MAX_USERS: Final[QuotaName] = "max_users"
MAX_API_KEYS: Final[QuotaName] = "max_api_keys"


@dataclass(frozen=True, slots=True)
class QuotaRefusal:
    """A change refused by a quota: what the audit records.

    Attributes:
        quota: the quota's name.
        limit: the tenant's value of the quota.
        current: how much of it was in use.
        requested: how much more the change asked for.
    """

    quota: QuotaName
    limit: int
    current: int
    requested: int = 1

    def error(self) -> QuotaReached:
        """The error the caller sees (403, naming the quota and its limit)."""
        return QuotaReached(self.quota, self.limit)


def check_quota(
    quota: QuotaName, *, limit: int, current: int, requested: int = 1
) -> QuotaRefusal | None:
    """Return a refusal when ``current + requested`` would exceed ``limit``."""
    if current + requested > limit:
        return QuotaRefusal(
            quota=quota, limit=limit, current=current, requested=requested
        )
    return None
