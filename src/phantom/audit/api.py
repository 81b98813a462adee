"""What other contexts and the gateway may use of the audit context.

The query side only: :class:`AuditQueries` (search a tenant's trail, verify its
chain) and the DTOs it answers with. ``GET /v1/audit`` takes an :class:`AuditSearch`
as its query parameters and answers an :class:`AuditPage`; ``GET /v1/audit/verify``
answers an :class:`AuditVerification`. Every call is for one tenant: the caller's.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal, Protocol

from pydantic import BaseModel, ConfigDict, Field, JsonValue

__all__ = [
    "PLATFORM_TENANT",
    "AuditActor",
    "AuditDecision",
    "AuditEntry",
    "AuditPage",
    "AuditProblem",
    "AuditQueries",
    "AuditRecorder",
    "AuditResource",
    "AuditSearch",
    "AuditVerification",
]

_FROZEN = ConfigDict(frozen=True, extra="forbid")


class AuditActor(BaseModel):
    """Who acted, and how they authenticated."""

    model_config = _FROZEN

    kind: str
    id: str
    via: str


class AuditResource(BaseModel):
    """What was acted on."""

    model_config = _FROZEN

    type: str
    id: str | None = None


class AuditEntry(BaseModel):
    """One entry of a tenant's audit chain, with its link hashes."""

    model_config = _FROZEN

    seq: int
    id: uuid.UUID
    occurred_at: datetime
    actor: AuditActor
    action: str
    resource: AuditResource | None
    result: str
    details: dict[str, JsonValue]
    prev_hash: str
    hash: str


class AuditPage(BaseModel):
    """A page of entries; pass ``next_cursor`` as ``after_seq`` for the next one."""

    model_config = _FROZEN

    entries: list[AuditEntry]
    next_cursor: int | None


class AuditSearch(BaseModel):
    """Filters of ``GET /v1/audit`` (all optional) and the page wanted.

    ``since`` is inclusive and ``until`` exclusive; ``action`` matches a prefix;
    ``text`` is a case-insensitive substring of the details' JSON text.
    """

    model_config = _FROZEN

    since: datetime | None = None
    until: datetime | None = None
    actor_id: str | None = Field(default=None, max_length=200)
    action: str | None = Field(default=None, min_length=1, max_length=200)
    resource_type: str | None = Field(default=None, max_length=100)
    resource_id: str | None = Field(default=None, max_length=200)
    result: Literal["success", "denied", "error", "allowed"] | None = None
    text: str | None = Field(default=None, min_length=1, max_length=200)
    after_seq: int | None = Field(default=None, ge=0)
    limit: int = Field(default=100, ge=1, le=500)
    newest_first: bool = False


class AuditProblem(BaseModel):
    """The first break verification found."""

    model_config = _FROZEN

    kind: Literal[
        "modified",
        "deleted",
        "inserted",
        "reordered",
        "truncated",
        "bad_signature",
        "unknown_key",
    ]
    seq: int
    detail: str


class AuditVerification(BaseModel):
    """The outcome of verifying a tenant's chain.

    ``intact`` is true only when every entry links and the chain reaches every
    signed checkpoint with the signed hash.
    """

    model_config = _FROZEN

    intact: bool
    checked: int
    last_seq: int
    checkpoint_seq: int
    problem: AuditProblem | None = None


class AuditQueries(Protocol):
    """Reads of the audit trail, for one tenant at a time.

    Implementations scope every read to ``tenant_id`` (on PostgreSQL through
    row-level security too), never show another tenant's entries, and raise
    :class:`~phantom.kernel.errors.InvalidInput` for an impossible search
    (``until`` before ``since``, a naive time).
    """

    def search(self, tenant_id: str, query: AuditSearch) -> AuditPage:
        """One page of ``tenant_id``'s entries matching ``query``, in ``seq`` order."""
        ...

    def verify(self, tenant_id: str) -> AuditVerification:
        """Verify ``tenant_id``'s whole chain against its signed checkpoints."""
        ...


PLATFORM_TENANT = "platform"
"""The chain that records decisions about callers with no tenant (a bad key)."""


class AuditDecision(BaseModel):
    """An authentication or authorization decision, or another recorded action.

    Attributes:
        action: what was attempted, e.g. ``auth.denied``, ``auth.allowed``,
            ``http.GET /v1/users``, ``quota.refused``.
        actor: who attempted it (``anonymous`` when no credential was valid).
        result: ``allowed``, ``denied``, ``success`` or ``error``.
        resource: what it was about, if anything.
        details: free-form JSON (no secrets: never a key, token or password).
    """

    model_config = _FROZEN

    action: str = Field(min_length=1, max_length=200)
    actor: AuditActor
    result: Literal["allowed", "denied", "success", "error"]
    resource: AuditResource | None = None
    details: dict[str, JsonValue] = Field(default_factory=dict)


class AuditRecorder(Protocol):
    """Records decisions in a tenant's chain (the gateway's side of the audit).

    ``record`` appends one entry in its own transaction and returns once it is
    durable: denials and control-plane decisions go through it, one by one.
    ``count`` only bumps an in-memory per-key, per-minute counter, flushed into the
    chain once the minute closes: allowed data-plane calls (predictions, metric
    writes) go through it, so no chain write sits on their path.
    """

    def record(self, tenant_id: str, decision: AuditDecision) -> None:
        """Append ``decision`` to ``tenant_id``'s chain (or ``PLATFORM_TENANT``'s)."""
        ...

    def count(
        self,
        tenant_id: str,
        key_id: str,
        action: str,
        result: Literal["allowed", "denied"] = "allowed",
    ) -> None:
        """Count one call of ``key_id`` in memory, flushed per minute.

        An allowed data-plane call, or (``result="denied"``) a denial beyond the
        gateway's per-second budget of one-by-one records.
        """
        ...
