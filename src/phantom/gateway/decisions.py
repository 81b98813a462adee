"""How the gateway records its access decisions in the audit trail.

Every denial (401, 403, 404 on a tenant's route, 429) becomes an
:class:`~phantom.audit.api.AuditDecision` recorded one by one in the chain of the
tenant concerned: the caller's, the tenant of a key whose secret was wrong, or
``PLATFORM_TENANT`` when no tenant is known. So that a flood of bad requests
cannot turn into a flood of chain appends, at most ``per_second`` denials per
tenant and second are recorded; the rest of that second are *counted*
(:meth:`AuditRecorder.count`, per key and minute), as allowed data-plane calls
are. A failure of the recorder is logged and never changes the answer.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Final

import structlog
from pydantic import JsonValue

from phantom.audit.api import (
    PLATFORM_TENANT,
    AuditActor,
    AuditDecision,
    AuditRecorder,
    AuditResource,
)
from phantom.kernel.cache import Cache, cache_key
from phantom.kernel.errors import PhantomError
from phantom.tenancy.api import Principal

__all__ = ["ANONYMOUS", "Decisions", "actor_of"]

log = structlog.get_logger(__name__)

ANONYMOUS: Final = "anonymous"
_NAMESPACE: Final = "audit-denials"


def actor_of(principal: Principal | None, via: str = "none") -> AuditActor:
    """The audit actor of ``principal`` (anonymous when there is none)."""
    if principal is None:
        return AuditActor(kind=ANONYMOUS, id=ANONYMOUS, via=via)
    actor = principal.actor()
    return AuditActor(kind=actor.kind, id=actor.id, via=actor.via)


@dataclass(frozen=True, slots=True)
class Decisions:
    """Records denials, throttled per tenant and second.

    Attributes:
        recorder: the audit recorder.
        cache: where the per-second counters live.
        per_second: denials recorded one by one per tenant and second.
        time_fn: wall-clock seconds (tests inject their own).
    """

    recorder: AuditRecorder
    cache: Cache
    per_second: int
    time_fn: Callable[[], float] = field(default=time.time)

    def deny(  # noqa: PLR0913 - what one audit entry says, all keyword-only
        self,
        *,
        tenant_id: str | None,
        action: str,
        actor: AuditActor,
        key_id: str | None = None,
        resource: AuditResource | None = None,
        details: Mapping[str, JsonValue] | None = None,
    ) -> None:
        """Record one denial (blocking: the recorder may write to a database)."""
        chain = tenant_id or PLATFORM_TENANT
        decision = AuditDecision(
            action=action,
            actor=actor,
            result="denied",
            resource=resource,
            details=dict(details or {}),
        )
        try:
            if self._within_budget(chain):
                self.recorder.record(chain, decision)
            else:
                self.recorder.count(chain, key_id or actor.id, action, "denied")
        except Exception:  # an audit failure must not change the answer
            log.exception("gateway.audit_failed", action=action, audit_tenant_id=chain)

    def allow(self, *, tenant_id: str, key_id: str, action: str) -> None:
        """Count one allowed call (memory only: no chain write on the request path).

        The recorder flushes these per key and minute into the tenant's chain, so
        every allowed decision is in the trail as a count, and every denial as an
        entry of its own (:meth:`deny`).
        """
        try:
            self.recorder.count(tenant_id, key_id, action, "allowed")
        except Exception:  # an audit failure must not change the answer
            log.exception(
                "gateway.audit_failed", action=action, audit_tenant_id=tenant_id
            )

    def _within_budget(self, chain: str) -> bool:
        second = str(int(self.time_fn()))
        try:
            seen = self.cache.incr(cache_key(chain, _NAMESPACE, second), ttl=2.0)
        except PhantomError:
            return True  # without counters, record everything
        return seen <= self.per_second
