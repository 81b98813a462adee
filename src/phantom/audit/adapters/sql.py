"""The audit chain on SQLite and PostgreSQL: append, stream, search, checkpoints.

Every method works in the caller's transaction (``conn``), which on PostgreSQL must
be scoped to the tenant (:func:`phantom.kernel.db.tenant.tenant_transaction`): the
app role only sees that tenant's rows. A transaction scoped to another tenant, or to
none under row-level security, is refused rather than allowed to read an empty chain
and call it intact.

Appends to one tenant's chain are serialised: on PostgreSQL by a transaction-scoped
advisory lock keyed on the schema and tenant, taken before the chain's head is read
(in its own statement, so the head is read with a snapshot taken after the lock);
on SQLite writers are serialised by ``BEGIN IMMEDIATE`` already. The primary key
``(tenant_id, seq)`` is the last line of defence against a forked chain.
"""

from __future__ import annotations

import hashlib
import sqlite3
import uuid
from collections.abc import Generator, Iterable, Sequence
from contextlib import closing
from datetime import datetime
from pathlib import Path
from typing import Any, Final

from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)
from sqlalchemy import (
    Connection,
    Row,
    insert,
    select,
    text,
)

from phantom.audit.adapters.search import search_statement
from phantom.audit.adapters.tables import (
    checkpoints,
    entries,
    from_us,
    metadata,
    to_us,
)
from phantom.audit.domain.chain import genesis_hash, seal
from phantom.audit.domain.checkpoints import Checkpoint, sign_checkpoint
from phantom.audit.domain.entry import (
    ActorRef,
    ChainHead,
    Entry,
    EntryDraft,
    ResourceRef,
)
from phantom.audit.domain.errors import AuditAppendConflict
from phantom.audit.domain.query import EntryQuery, Page
from phantom.audit.domain.verify import VerifyReport, verify
from phantom.kernel.db.engine import Dialect
from phantom.kernel.errors import PhantomError

__all__ = ["MIGRATIONS", "SqlAuditLog", "checkpoints", "entries", "metadata"]

MIGRATIONS: Final = Path(__file__).parent.parent / "migrations"
"""The audit context's Alembic folder (version table ``audit_alembic_version``)."""

_COLUMNS: Final = tuple(entries.c)
_Row = tuple[Any, ...]
_INSERT: Final = (
    "INSERT INTO audit_entries (tenant_id, seq, id, occurred_at_us, actor_kind,"
    " actor_id, actor_via, action, resource_type, resource_id, result, details,"
    " prev_hash, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
_INSERT_ARRAYS: Final = (
    "INSERT INTO audit_entries (tenant_id, seq, id, occurred_at_us, actor_kind,"
    " actor_id, actor_via, action, resource_type, resource_id, result, details,"
    " prev_hash, hash) SELECT * FROM unnest(%b::text[], %b::bigint[], %b::uuid[],"
    " %b::bigint[], %b::text[], %b::text[], %b::text[], %b::text[], %b::text[],"
    " %b::text[], %b::text[], %b::text[], %b::text[], %b::text[])"
)
_SCOPE: Final = text(
    "SELECT current_setting('app.tenant_id', true), row_security_active(:table)"
)
_LOCK: Final = text(
    "SELECT pg_advisory_xact_lock(:key), current_setting('app.tenant_id', true),"
    " row_security_active(:table)"
)


class SqlAuditLog:
    """The tenants' audit chains in one context database.

    Args:
        dialect: ``sqlite`` or ``postgresql``.
        schema: the PostgreSQL schema (part of the advisory lock key).
        page_size: how many rows verification fetches at a time.
    """

    def __init__(
        self, dialect: Dialect, schema: str | None = None, *, page_size: int = 2000
    ) -> None:
        self.dialect = dialect
        self._pg = dialect == "postgresql"
        self._schema = schema or ""
        self._page_size = page_size

    def append(
        self, conn: Connection, tenant_id: str, drafts: Sequence[EntryDraft]
    ) -> list[Entry]:
        """Append ``drafts`` to ``tenant_id``'s chain, in order, in ``conn``'s tx.

        Returns:
            The stored entries, with their ``seq`` and hashes.

        Raises:
            InvalidAuditEntry: a draft cannot be encoded.
            AuditAppendConflict: another writer took the same ``seq`` (only when
                appends bypass this class's lock).
        """
        if not drafts:
            return []
        if self._pg:
            found = conn.execute(
                _LOCK, {"key": self._lock_key(tenant_id), "table": entries.name}
            ).one()
            self._check_scope(tenant_id, found[1], confined=found[2])
        sealed = seal(tenant_id, self._head(conn, tenant_id), drafts)
        self._insert(conn, tenant_id, [self.to_row(entry) for entry in sealed])
        return sealed

    def head(self, conn: Connection, tenant_id: str) -> ChainHead:
        """The last entry's seq and hash (seq 0 and the genesis hash when empty)."""
        self._require_scope(conn, tenant_id)
        return self._head(conn, tenant_id)

    def stream(
        self, conn: Connection, tenant_id: str, *, after_seq: int = 0
    ) -> Generator[Entry, None, None]:
        """Every entry of ``tenant_id`` past ``after_seq``, in ``seq`` order.

        Rows are fetched ``page_size`` at a time (a server-side cursor on
        PostgreSQL), so memory stays flat however long the chain is. Close the
        iterator (or exhaust it) before using ``conn`` for anything else.
        """
        self._require_scope(conn, tenant_id)
        statement = (
            select(*_COLUMNS)
            .where(entries.c.tenant_id == tenant_id, entries.c.seq > after_seq)
            .order_by(entries.c.seq)
        )
        result = conn.execute(
            statement, execution_options={"yield_per": self._page_size}
        )
        try:
            for row in result:
                yield self._from_row(row)
        finally:
            result.close()

    def verify(
        self,
        conn: Connection,
        tenant_id: str,
        public_keys: Iterable[Ed25519PublicKey],
    ) -> VerifyReport:
        """Verify ``tenant_id``'s chain against its checkpoints (one pass, streamed).

        The checkpoints are read before the entries: every checkpoint seen pins an
        entry that was committed before the entries are read, even under READ
        COMMITTED, and the entries come from one statement (one snapshot).
        """
        pins = self.list_checkpoints(conn, tenant_id)
        with closing(self.stream(conn, tenant_id)) as chain:
            return verify(chain, tenant_id, pins, public_keys)

    def search(self, conn: Connection, tenant_id: str, query: EntryQuery) -> Page:
        """One page of ``tenant_id``'s entries matching ``query``, in ``seq`` order."""
        self._require_scope(conn, tenant_id)
        statement = search_statement(tenant_id, query, postgres=self._pg)
        rows = conn.execute(statement).all()
        found = [self._from_row(row) for row in rows[: query.limit]]
        more = len(rows) > query.limit
        return Page(entries=found, next_cursor=found[-1].seq if more else None)

    def checkpoint(
        self,
        conn: Connection,
        tenant_id: str,
        private_key: Ed25519PrivateKey,
        now: datetime,
    ) -> Checkpoint | None:
        """Sign and store ``tenant_id``'s current head.

        Returns:
            The new checkpoint; ``None`` when the chain is empty or this key already
            signed its head.
        """
        head = self.head(conn, tenant_id)
        if head.seq == 0:
            return None
        signed = sign_checkpoint(tenant_id, head.seq, head.hash, now, private_key)
        exists = conn.execute(
            select(checkpoints.c.seq).where(
                checkpoints.c.tenant_id == tenant_id,
                checkpoints.c.seq == head.seq,
                checkpoints.c.key_id == signed.key_id,
            )
        ).first()
        if exists is not None:
            return None
        self.add_checkpoint(conn, signed)
        return signed

    def add_checkpoint(self, conn: Connection, checkpoint: Checkpoint) -> None:
        """Store a checkpoint signed elsewhere."""
        conn.execute(
            insert(checkpoints),
            {
                "tenant_id": checkpoint.tenant_id,
                "seq": checkpoint.seq,
                "key_id": checkpoint.key_id,
                "hash": checkpoint.hash,
                "signed_at_us": to_us(checkpoint.signed_at),
                "signature": checkpoint.signature,
            },
        )

    def list_checkpoints(self, conn: Connection, tenant_id: str) -> list[Checkpoint]:
        """``tenant_id``'s checkpoints, oldest ``seq`` first."""
        self._require_scope(conn, tenant_id)
        rows = conn.execute(
            select(checkpoints)
            .where(checkpoints.c.tenant_id == tenant_id)
            .order_by(checkpoints.c.seq, checkpoints.c.signed_at_us)
        ).all()
        return [
            Checkpoint(
                tenant_id=row.tenant_id,
                seq=row.seq,
                hash=row.hash,
                signed_at=from_us(row.signed_at_us),
                key_id=row.key_id,
                signature=bytes(row.signature),
            )
            for row in rows
        ]

    def list_tenants(self, conn: Connection) -> list[str]:
        """Every tenant with a chain (on PostgreSQL, as the system role)."""
        found = conn.execute(
            select(entries.c.tenant_id).distinct().order_by(entries.c.tenant_id)
        )
        return list(found.scalars())

    # -- internals ---------------------------------------------------------------

    def _lock_key(self, tenant_id: str) -> int:
        name = f"phantom.audit:{self._schema}:{tenant_id}".encode()
        return int.from_bytes(hashlib.sha256(name).digest()[:8], "big", signed=True)

    def _require_scope(self, conn: Connection, tenant_id: str) -> None:
        if self._pg:
            found = conn.execute(_SCOPE, {"table": entries.name}).one()
            self._check_scope(tenant_id, found[0], confined=found[1])

    @staticmethod
    def _check_scope(tenant_id: str, current: str | None, *, confined: bool) -> None:
        if current == tenant_id or (not current and not confined):
            return
        scope = f"tenant {current!r}" if current else "no tenant"
        msg = (
            f"this transaction is scoped to {scope}, not {tenant_id!r}: open it "
            "with tenant_transaction(db, tenant_id) to read or append that chain"
        )
        raise PhantomError(msg)

    def _head(self, conn: Connection, tenant_id: str) -> ChainHead:
        row = conn.execute(
            select(entries.c.seq, entries.c.hash)
            .where(entries.c.tenant_id == tenant_id)
            .order_by(entries.c.seq.desc())
            .limit(1)
        ).first()
        if row is None:
            return ChainHead(0, genesis_hash(tenant_id))
        return ChainHead(int(row[0]), str(row[1]))

    def _insert(self, conn: Connection, tenant_id: str, rows: list[_Row]) -> None:
        # Straight to the driver, as the event store does (ADR 0003): Core's
        # per-row parameter processing cost as much as SQLite's insert itself.
        raw = conn.connection.driver_connection
        assert raw is not None  # noqa: S101 - an open connection has a driver connection
        cur = raw.cursor()
        try:
            if self._pg:  # one row of binary arrays; COPY is refused under RLS
                cur.execute(_INSERT_ARRAYS, [list(c) for c in zip(*rows, strict=True)])
            else:
                cur.executemany(_INSERT, rows)
        except Exception as exc:
            if isinstance(exc, sqlite3.IntegrityError) or (
                getattr(exc, "sqlstate", None) == "23505"
            ):
                msg = f"another writer appended to tenant {tenant_id!r}'s audit chain"
                raise AuditAppendConflict(msg) from exc
            raise
        finally:
            cur.close()

    def to_row(self, entry: Entry) -> _Row:
        """The row of ``entry``, in :data:`_COLUMNS` order, as the driver takes it."""
        resource = entry.resource
        return (
            entry.tenant_id,
            entry.seq,
            entry.id if self._pg else entry.id.bytes,
            to_us(entry.occurred_at),
            entry.actor.kind,
            entry.actor.id,
            entry.actor.via,
            entry.action,
            None if resource is None else resource.type,
            None if resource is None else resource.id,
            entry.result,
            entry.details_json,
            entry.prev_hash,
            entry.hash,
        )

    def _from_row(self, row: Row[Any]) -> Entry:
        values = tuple(row)
        (tenant_id, seq, id_, at_us, kind, actor_id, via, action) = values[:8]
        (resource_type, resource_id, result, details, prev_hash, hash_) = values[8:]
        return Entry(
            tenant_id=tenant_id,
            seq=seq,
            id=id_ if self._pg else _uuid(id_),
            occurred_at=from_us(at_us),
            actor=ActorRef(kind, actor_id, via),
            action=action,
            resource=None
            if resource_type is None
            else ResourceRef(resource_type, resource_id),
            result=result,
            details_json=details,
            prev_hash=prev_hash,
            hash=hash_,
        )


def _uuid(raw: bytes) -> uuid.UUID:
    """The UUID of 16 stored bytes, or the nil UUID for anything else.

    A tampered id then fails verification instead of crashing it.
    """
    return uuid.UUID(bytes=raw) if len(raw) == 16 else uuid.UUID(int=0)
