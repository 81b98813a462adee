"""The privacy store on SQLite or PostgreSQL: policy, wrapped keys, the vault.

Policy changes and reveals are events, written through a kernel
:class:`~phantom.kernel.db.uow.UnitOfWork` whose inline projector
(:func:`project_privacy`) keeps ``privacy_policies`` in step. Wrapped keys and
sealed pseudonyms are personal-data plumbing, not domain history: they are
written directly, never as events (an event is published and kept forever). Every
statement runs in a tenant transaction (ADR 0010).
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from importlib.resources import files
from pathlib import Path
from typing import Any, Final

from sqlalchemy import Connection, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError

from phantom.kernel.clock import Clock, SystemClock
from phantom.kernel.db.engine import Database
from phantom.kernel.db.tenant import tenant_transaction
from phantom.kernel.db.uow import UnitOfWork
from phantom.kernel.errors import Conflict
from phantom.kernel.events.envelope import Envelope
from phantom.kernel.events.sql import SqlEventStore, from_us, to_us
from phantom.kernel.events.store import EventStore
from phantom.privacy.adapters.sql_tables import keys, policies, pseudonyms
from phantom.privacy.events import PolicySet, parse_event
from phantom.privacy.ports import SealedPseudonym

__all__ = [
    "PRIVACY_MIGRATIONS",
    "SqlPrivacyStore",
    "StoredPolicy",
    "project_privacy",
]

PRIVACY_MIGRATIONS: Final = Path(str(files("phantom.privacy") / "migrations"))
"""The privacy context's Alembic script folder."""


@dataclass(frozen=True, slots=True)
class StoredPolicy:
    """A tenant's stored policy document and who set it when."""

    document: dict[str, Any]
    revision: int
    updated_by: str
    updated_at: datetime


class SqlPrivacyStore:
    """The privacy context's tables (see the module docstring).

    Args:
        db: the privacy database.
        store: the event store (default: the database's own).
        clock: stamps key and vault rows.
    """

    def __init__(
        self, db: Database, store: EventStore | None = None, clock: Clock | None = None
    ) -> None:
        self.db = db
        self.store: EventStore = store or SqlEventStore(db.dialect, db.schema)
        self.clock = clock or SystemClock()
        self._insert = (postgresql if db.dialect == "postgresql" else sqlite).insert

    # -- policy --------------------------------------------------------------

    def policy(self, tenant_id: str) -> StoredPolicy | None:
        """The tenant's stored policy, if it ever set one."""
        with tenant_transaction(self.db, tenant_id) as conn:
            row = conn.execute(
                select(policies).where(policies.c.tenant_id == tenant_id)
            ).first()
        if row is None:
            return None
        return StoredPolicy(
            document=json.loads(row.document),
            revision=row.revision,
            updated_by=row.updated_by,
            updated_at=from_us(row.updated_at_us),
        )

    def append(self, tenant_id: str, events: Sequence[Envelope]) -> None:
        """Append privacy events for ``tenant_id`` (projected inline).

        Raises:
            Conflict: a concurrent write clashed (try again).
        """
        uow = UnitOfWork(self.db, self.store, (project_privacy,), tenant_id=tenant_id)
        with uow:
            try:
                uow.append(events, expected_version=None)
            except IntegrityError as exc:
                msg = "the change conflicts with stored privacy data; try again"
                raise Conflict(msg) from exc
            uow.commit()

    # -- wrapped keys (the KeyRing's WrappedKeys) ----------------------------

    def find_wrapped(self, tenant_id: str) -> bytes | None:
        """The tenant's wrapped data key, if it has one."""
        with tenant_transaction(self.db, tenant_id) as conn:
            return _wrapped(conn, tenant_id)

    def add_wrapped(self, tenant_id: str, wrapped: bytes) -> bytes:
        """Store ``wrapped`` unless the tenant has a key; the stored one."""
        text = base64.urlsafe_b64encode(wrapped).decode("ascii")
        with tenant_transaction(self.db, tenant_id, write=True) as conn:
            conn.execute(
                self._insert(keys)
                .values(
                    tenant_id=tenant_id,
                    wrapped=text,
                    created_at_us=to_us(self.clock.now()),
                )
                .on_conflict_do_nothing()
            )
            stored = _wrapped(conn, tenant_id)
        if stored is None:  # pragma: no cover - just inserted or already there
            msg = "the tenant's privacy key vanished while it was stored"
            raise Conflict(msg)
        return stored

    # -- the vault -----------------------------------------------------------

    def find_pseudonyms(
        self, tenant_id: str, tokens: Iterable[str]
    ) -> dict[str, SealedPseudonym]:
        """The vault rows of ``tokens`` that exist, by token."""
        wanted = sorted(set(tokens))
        if not wanted:
            return {}
        with tenant_transaction(self.db, tenant_id) as conn:
            return _pseudonyms(conn, tenant_id, wanted)

    def add_pseudonyms(
        self, tenant_id: str, rows: Sequence[SealedPseudonym]
    ) -> dict[str, SealedPseudonym]:
        """Insert the rows whose token is new; return every row of those tokens.

        A token already stored keeps its row: the caller compares the values to
        tell a repeat from a collision.
        """
        if not rows:
            return {}
        at_us = to_us(self.clock.now())
        with tenant_transaction(self.db, tenant_id, write=True) as conn:
            conn.execute(
                self._insert(pseudonyms).on_conflict_do_nothing(),
                [
                    {
                        "tenant_id": tenant_id,
                        "token": row.token,
                        "entity": row.entity,
                        "sealed": row.sealed,
                        "created_at_us": at_us,
                    }
                    for row in rows
                ],
            )
            return _pseudonyms(conn, tenant_id, sorted({row.token for row in rows}))


def _wrapped(conn: Connection, tenant_id: str) -> bytes | None:
    text = conn.execute(
        select(keys.c.wrapped).where(keys.c.tenant_id == tenant_id)
    ).scalar_one_or_none()
    return None if text is None else base64.urlsafe_b64decode(text.encode("ascii"))


def _pseudonyms(
    conn: Connection, tenant_id: str, tokens: list[str]
) -> dict[str, SealedPseudonym]:
    found: dict[str, SealedPseudonym] = {}
    for start in range(0, len(tokens), _IN_CHUNK):
        rows = conn.execute(
            select(pseudonyms.c.token, pseudonyms.c.entity, pseudonyms.c.sealed).where(
                pseudonyms.c.tenant_id == tenant_id,
                pseudonyms.c.token.in_(tokens[start : start + _IN_CHUNK]),
            )
        )
        for row in rows:
            found[row.token] = SealedPseudonym(row.token, row.entity, row.sealed)
    return found


_IN_CHUNK: Final = 500


def project_privacy(conn: Connection, envelopes: Sequence[Envelope]) -> None:
    """Apply privacy events to the policy table, in the writer's transaction."""
    for envelope in envelopes:
        event = parse_event(envelope)
        if not isinstance(event, PolicySet):
            continue
        tenant_id = envelope.tenant_id
        current = conn.execute(
            select(policies.c.revision).where(policies.c.tenant_id == tenant_id)
        ).scalar_one_or_none()
        values = {
            "document": json.dumps(event.document, sort_keys=True),
            "revision": 1 if current is None else current + 1,
            "updated_by": envelope.actor.id,
            "updated_at_us": to_us(envelope.occurred_at),
        }
        if current is None:
            conn.execute(policies.insert().values(tenant_id=tenant_id, **values))
        else:
            conn.execute(
                policies.update()
                .where(policies.c.tenant_id == tenant_id)
                .values(**values)
            )
