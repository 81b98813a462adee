"""The gateway's side of the audit: decisions, usage counts and checkpoints.

:class:`SqlAuditRecorder` implements :class:`~phantom.audit.api.AuditRecorder` over
the audit database and adds the maintenance the background task runs
(:mod:`phantom.audit.tasks`): :meth:`~SqlAuditRecorder.flush` appends the usage
counts of closed minutes and :meth:`~SqlAuditRecorder.checkpoint_all` signs the
head of every chain that grew since its last checkpoint.

**Failure policy.** ``record`` sits on the request path of denials and control-plane
decisions, so it never raises: when the entry cannot be appended (the database is
down, a constraint fails, the decision cannot be encoded) it logs
``audit.record_failed`` at error level, counts the failure (:attr:`failures`) and
returns, and the caller's decision stands: a denial that cannot be audited is still
a denial, and no caller is refused because the audit trail is unavailable (state
changes are audited from their events, which the outbox keeps until they are).
Usage drafts whose flush failed are kept and appended by the next flush.

Every method is thread-safe and blocking: call them from a worker thread
(``asyncio.to_thread``) in asynchronous code.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any, Final

import structlog
from sqlalchemy import Connection

from phantom.audit.adapters.heads import ChainState, chain_states
from phantom.audit.adapters.keys import CheckpointKeys
from phantom.audit.adapters.sql import SqlAuditLog
from phantom.audit.api import PLATFORM_TENANT, AuditDecision
from phantom.audit.domain.checkpoints import Checkpoint
from phantom.audit.domain.entry import (
    ActorRef,
    EntryDraft,
    ResourceRef,
    Result,
    clip,
)
from phantom.audit.domain.usage import UsageCounter
from phantom.kernel.clock import Clock, SystemClock
from phantom.kernel.db.engine import Database
from phantom.kernel.db.tenant import tenant_transaction

__all__ = ["SqlAuditRecorder", "decision_draft"]

log = structlog.get_logger(__name__)


def decision_draft(
    decision: AuditDecision,
    at: datetime,
    details: Mapping[str, object] | None = None,
) -> EntryDraft:
    """The entry of ``decision`` at ``at``; outside strings are clipped to fit.

    ``details`` replaces the decision's own (scrubbed details, say).

    An empty actor kind or via (an anonymous caller) is recorded as ``anonymous``
    and ``none``.
    """
    actor, resource = decision.actor, decision.resource
    return EntryDraft(
        action=clip("action", decision.action),
        actor=ActorRef(
            kind=clip("actor kind", actor.kind or "anonymous"),
            id=clip("actor id", actor.id),
            via=clip("actor via", actor.via or "none"),
        ),
        occurred_at=at,
        result=decision.result,
        resource=None
        if resource is None
        else ResourceRef(
            clip("resource type", resource.type or "unknown"),
            None if resource.id is None else clip("resource id", resource.id),
        ),
        details=decision.details if details is None else details,
    )


_WITHHELD: Final = {"withheld": "details withheld: the privacy scrubber failed"}


def _reason(exc: BaseException) -> str:
    """The error's type and first line, without driver parameters."""
    original = getattr(exc, "orig", None) or exc
    lines = str(original).strip().splitlines()
    return f"{type(original).__name__}: {lines[0][:200] if lines else ''}"


class SqlAuditRecorder:
    """Appends decisions and usage counts to the tenants' chains; signs checkpoints.

    Args:
        db: the audit context's database.
        keys: the checkpoint signing key.
        clock: the time source of entries and checkpoints.
        counter: the usage counter (a new one by default).
        scrub: ``scrub(tenant_id, details)`` → the details with personal data
            anonymized (the privacy context's scrubber); when it fails, the
            entry is kept with its details withheld.
    """

    def __init__(
        self,
        db: Database,
        keys: CheckpointKeys,
        *,
        clock: Clock | None = None,
        counter: UsageCounter | None = None,
        scrub: Callable[[str, Any], Any] | None = None,
    ) -> None:
        self.db = db
        self.scrub = scrub
        self.keys = keys
        self.log = SqlAuditLog(db.dialect, db.schema)
        self.counter = counter or UsageCounter()
        self._clock = clock or SystemClock()
        self._lock = threading.Lock()
        self._maintenance = threading.Lock()
        self._failures = 0
        self._carried: dict[str, list[EntryDraft]] = {}

    # -- AuditRecorder --------------------------------------------------------------

    def record(self, tenant_id: str, decision: AuditDecision) -> None:
        """Append ``decision`` to ``tenant_id``'s chain (``PLATFORM_TENANT`` if empty).

        Never raises: a failure is logged as ``audit.record_failed`` (see the
        module docstring) and counted in :attr:`failures`.
        """
        tenant = tenant_id or PLATFORM_TENANT
        try:
            draft = decision_draft(
                decision, self._clock.now(), self._scrubbed(tenant, decision)
            )
            with tenant_transaction(self.db, tenant, write=True) as conn:
                self.log.append(conn, tenant, [draft])
        except Exception as exc:  # noqa: BLE001 - the documented policy: log, go on
            with self._lock:
                self._failures += 1
            log.error(  # noqa: TRY400 - driver tracebacks may quote the row's values
                "audit.record_failed",
                tenant_id=tenant,
                action=decision.action,
                result=decision.result,
                error=_reason(exc),
            )

    def _scrubbed(
        self, tenant: str, decision: AuditDecision
    ) -> Mapping[str, object] | None:
        """The decision's details after the scrubber (``None``: unchanged)."""
        if self.scrub is None or not decision.details:
            return None
        try:
            scrubbed = self.scrub(tenant, dict(decision.details))
        except Exception:  # noqa: BLE001 - fail closed: keep the entry, not the text
            log.warning("audit.scrub_failed", tenant_id=tenant, action=decision.action)
            return _WITHHELD
        return scrubbed if isinstance(scrubbed, dict) else _WITHHELD

    def count(
        self, tenant_id: str, key_id: str, action: str, result: Result = "allowed"
    ) -> None:
        """Count one call of ``key_id`` (memory only; flushed per minute).

        Args:
            tenant_id: the chain (``PLATFORM_TENANT`` if empty).
            key_id: the credential's id (clipped to the actor id's limit).
            action: what was called (clipped to the action's limit).
            result: ``allowed`` for data-plane calls; ``denied`` for denials
                counted beyond the gateway's per-second budget.
        """
        tenant = tenant_id or PLATFORM_TENANT
        self.counter.hit(
            tenant,
            clip("actor id", key_id),
            clip("action", action) or "unknown",
            self._clock.now(),
            result,
        )

    # -- maintenance ----------------------------------------------------------------

    @property
    def failures(self) -> int:
        """How many ``record`` calls could not append their entry so far."""
        with self._lock:
            return self._failures

    @property
    def unflushed(self) -> int:
        """Usage drafts drained but not yet appended (their flush failed)."""
        with self._lock:
            return sum(len(drafts) for drafts in self._carried.values())

    def flush(self, now: datetime | None = None, *, include_open: bool = False) -> int:
        """Append the usage counts of the closed minutes, one transaction per tenant.

        Args:
            now: the current time (the clock's by default).
            include_open: flush the open minute too (at shutdown).

        Returns:
            How many usage entries were appended. Drafts of a tenant whose append
            failed are logged (``audit.flush_failed``) and kept for the next flush.
        """
        when = now or self._clock.now()
        with self._maintenance:
            with self._lock:
                pending, self._carried = self._carried, {}
            for tenant, drafts in self.counter.drain(
                when, include_open=include_open
            ).items():
                pending.setdefault(tenant, []).extend(drafts)
            appended = 0
            for tenant, drafts in pending.items():
                try:
                    with tenant_transaction(self.db, tenant, write=True) as conn:
                        self.log.append(conn, tenant, drafts)
                except Exception as exc:  # noqa: BLE001 - kept and retried
                    with self._lock:
                        self._carried.setdefault(tenant, []).extend(drafts)
                    log.error(  # noqa: TRY400 - see record()
                        "audit.flush_failed",
                        tenant_id=tenant,
                        entries=len(drafts),
                        error=_reason(exc),
                    )
                    continue
                appended += len(drafts)
        if appended:
            log.debug("audit.usage.flushed", entries=appended)
        return appended

    def chain_states(self, key_id: str | None = None) -> list[ChainState]:
        """Every tenant's chain head and newest checkpoint by a key.

        Args:
            key_id: whose checkpoints count; the current signing key's when
                ``None`` (which loads, or creates, the key). Pass ``""`` to list
                the chains without touching the key.
        """
        wanted = self.keys.key_id() if key_id is None else key_id
        with self._system() as conn:
            return chain_states(conn, wanted)

    def checkpoint(
        self, tenant_id: str, now: datetime | None = None
    ) -> Checkpoint | None:
        """Sign ``tenant_id``'s head now (``None``: empty, or already signed)."""
        key = self.keys.private_key()
        with tenant_transaction(self.db, tenant_id, write=True) as conn:
            return self.log.checkpoint(conn, tenant_id, key, now or self._clock.now())

    def checkpoint_all(self, now: datetime | None = None) -> list[Checkpoint]:
        """Sign the head of every chain that grew since its newest checkpoint.

        The chains are listed on the system engine (across tenants); each is
        signed in a transaction scoped to its tenant. A tenant that fails is logged
        (``audit.checkpoint_failed``) and retried at the next call.

        Returns:
            The checkpoints stored, ordered by tenant.
        """
        when = now or self._clock.now()
        signed: list[Checkpoint] = []
        with self._maintenance:
            for state in self.chain_states():
                if not state.changed:
                    continue
                try:
                    made = self.checkpoint(state.tenant_id, when)
                except Exception as exc:  # noqa: BLE001 - the next round retries
                    log.error(  # noqa: TRY400 - see record()
                        "audit.checkpoint_failed",
                        tenant_id=state.tenant_id,
                        error=_reason(exc),
                    )
                    continue
                if made is not None:
                    signed.append(made)
        if signed:
            log.info("audit.checkpoints.signed", count=len(signed))
        return signed

    def _system(self) -> Connection:
        return self.db.system_engine.connect().execution_options(
            sqlite_begin="DEFERRED"
        )
