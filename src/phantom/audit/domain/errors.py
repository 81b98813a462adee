"""Errors of the audit context."""

from __future__ import annotations

from phantom.kernel.errors import Conflict, InvalidInput

__all__ = ["AuditAppendConflict", "InvalidAuditEntry"]


class InvalidAuditEntry(InvalidInput):
    """A draft cannot become an audit entry (bad result, naive time, not JSON...)."""

    code = "invalid-audit-entry"
    title = "Invalid audit entry"


class AuditAppendConflict(Conflict):
    """Another writer appended to the same tenant's chain at the same time."""

    code = "audit-append-conflict"
    title = "Concurrent audit append"
