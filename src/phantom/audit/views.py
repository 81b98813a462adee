"""The in-process :class:`~phantom.audit.api.AuditQueries` over the SQL audit log."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from pydantic import JsonValue

from phantom.audit.adapters.sql import SqlAuditLog
from phantom.audit.api import (
    AuditActor,
    AuditEntry,
    AuditPage,
    AuditProblem,
    AuditResource,
    AuditSearch,
    AuditVerification,
)
from phantom.audit.domain.entry import Entry
from phantom.audit.domain.query import EntryQuery
from phantom.audit.domain.verify import VerifyReport
from phantom.kernel.db.engine import Database
from phantom.kernel.db.tenant import tenant_transaction

__all__ = ["SqlAuditQueries", "entry_view", "verification_view"]


class SqlAuditQueries:
    """Answers :class:`~phantom.audit.api.AuditQueries` from the audit database.

    Args:
        db: the audit context's database.
        log: the SQL audit log on it.
        public_keys: the checkpoint keys verification trusts (called per verify,
            so a rotated key is picked up).
    """

    def __init__(
        self,
        db: Database,
        log: SqlAuditLog,
        public_keys: Callable[[], Sequence[Ed25519PublicKey]],
    ) -> None:
        self._db = db
        self._log = log
        self._public_keys = public_keys

    def search(self, tenant_id: str, query: AuditSearch) -> AuditPage:
        """One page of ``tenant_id``'s entries matching ``query``."""
        wanted = EntryQuery(**query.model_dump())
        with tenant_transaction(self._db, tenant_id) as conn:
            page = self._log.search(conn, tenant_id, wanted)
        return AuditPage(
            entries=[entry_view(e) for e in page.entries],
            next_cursor=page.next_cursor,
        )

    def verify(self, tenant_id: str) -> AuditVerification:
        """Verify ``tenant_id``'s chain in one read transaction."""
        keys = self._public_keys()
        with tenant_transaction(self._db, tenant_id) as conn:
            report = self._log.verify(conn, tenant_id, keys)
        return verification_view(report)


def entry_view(entry: Entry) -> AuditEntry:
    """The DTO of ``entry``; details that are not a JSON object come back raw."""
    try:
        details: dict[str, JsonValue] = entry.details  # type: ignore[assignment]
    except ValueError:
        details = {"unparsed": entry.details_json}
    resource = entry.resource
    return AuditEntry(
        seq=entry.seq,
        id=entry.id,
        occurred_at=entry.occurred_at,
        actor=AuditActor(kind=entry.actor.kind, id=entry.actor.id, via=entry.actor.via),
        action=entry.action,
        resource=None
        if resource is None
        else AuditResource(type=resource.type, id=resource.id),
        result=entry.result,
        details=details,
        prev_hash=entry.prev_hash,
        hash=entry.hash,
    )


def verification_view(report: VerifyReport) -> AuditVerification:
    """The DTO of a verification report."""
    problem = report.problem
    return AuditVerification(
        intact=report.intact,
        checked=report.checked,
        last_seq=report.last_seq,
        checkpoint_seq=report.checkpoint_seq,
        problem=None
        if problem is None
        else AuditProblem(kind=problem.kind, seq=problem.seq, detail=problem.detail),
    )
