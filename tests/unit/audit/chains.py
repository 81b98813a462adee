"""Chains and tampering for the audit unit tests (no I/O)."""

from __future__ import annotations

import dataclasses
import uuid
from datetime import UTC, datetime, timedelta

from phantom.audit.domain import (
    ActorRef,
    ChainHead,
    Entry,
    EntryDraft,
    ResourceRef,
    genesis_hash,
    seal,
)
from phantom.audit.domain.chain import intrinsic_hash

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
ACTIONS = ("registry.ModelVersionRegistered", "auth.login", "auth.denied", "x.y")
RESULTS = ("success", "denied", "error", "allowed")


def draft(i: int) -> EntryDraft:
    """A deterministic draft; ``i`` varies every field."""
    return EntryDraft(
        action=ACTIONS[i % len(ACTIONS)],
        actor=ActorRef(kind="user", id=f"u{i % 3}", via="api_key"),
        occurred_at=T0 + timedelta(seconds=i, microseconds=i),
        result=RESULTS[i % len(RESULTS)],  # type: ignore[arg-type]
        resource=ResourceRef("model", f"m{i}") if i % 2 else None,
        details={"i": i, "note": f"entry {i}"},
        id=uuid.UUID(int=i + 1),
    )


def chain(n: int, tenant_id: str = "t1", start: int = 0) -> list[Entry]:
    """A valid chain of ``n`` entries."""
    return seal(
        tenant_id,
        ChainHead(0, genesis_hash(tenant_id)),
        [draft(start + i) for i in range(n)],
    )


def rehash(entry: Entry) -> Entry:
    """``entry`` with its hash recomputed from its (possibly changed) fields."""
    digest = intrinsic_hash(entry)
    assert digest is not None
    return dataclasses.replace(entry, hash=digest)


def forged(tenant_id: str, seq: int, prev_hash: str, *, linked: bool) -> Entry:
    """A forged entry at ``seq``; with ``linked`` its hash is computed honestly."""
    base = seal(tenant_id, ChainHead(seq - 1, prev_hash), [draft(10_000 + seq)])[0]
    if linked:
        return base
    return dataclasses.replace(base, prev_hash="f" * 64, hash="e" * 64)
