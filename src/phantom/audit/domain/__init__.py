"""The audit domain: entries, the hash chain, checkpoints, verification, usage.

Pure: no I/O, no SQLAlchemy, no pydantic. The chain format is specified in
:mod:`phantom.audit.domain.chain`, checkpoints in
:mod:`phantom.audit.domain.checkpoints`.
"""

from phantom.audit.domain.chain import canonical, genesis_hash, link, seal
from phantom.audit.domain.checkpoints import Checkpoint, key_id, sign_checkpoint
from phantom.audit.domain.entry import (
    RESULTS,
    ActorRef,
    ChainHead,
    Entry,
    EntryDraft,
    ResourceRef,
    Result,
    clip,
)
from phantom.audit.domain.errors import AuditAppendConflict, InvalidAuditEntry
from phantom.audit.domain.query import MAX_PAGE, EntryQuery, Page
from phantom.audit.domain.usage import UsageCounter
from phantom.audit.domain.verify import Problem, ProblemKind, VerifyReport, verify

__all__ = [
    "MAX_PAGE",
    "RESULTS",
    "ActorRef",
    "AuditAppendConflict",
    "ChainHead",
    "Checkpoint",
    "Entry",
    "EntryDraft",
    "EntryQuery",
    "InvalidAuditEntry",
    "Page",
    "Problem",
    "ProblemKind",
    "ResourceRef",
    "Result",
    "UsageCounter",
    "VerifyReport",
    "canonical",
    "clip",
    "genesis_hash",
    "key_id",
    "link",
    "seal",
    "sign_checkpoint",
    "verify",
]
