"""The SQL event store for SQLite and PostgreSQL.

The hot path talks to the DB-API driver directly (one statement to check the stream,
one ``executemany`` to insert — psycopg pipelines it on PostgreSQL), inside the
SQLAlchemy transaction of the caller's unit of work: SQLAlchemy Core adds ~30% per
event here for nothing (ADR 0003). ``COPY FROM`` is not used: PostgreSQL refuses it
on tables with row-level security (ADR 0010), and one ``INSERT ... SELECT FROM
unnest(arrays)`` measured a third slower than the pipelined ``executemany``.

On PostgreSQL, appends take a transaction-scoped advisory lock before their events get
positions, so positions are assigned in commit order and a reader never skips an event
committed late (the outbox relay reads by position).
"""

from __future__ import annotations

import re
import sqlite3
import uuid
import zlib
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Any

from pydantic_core import from_json, to_json
from sqlalchemy import Connection

from phantom.kernel.context import Actor
from phantom.kernel.db.engine import Dialect
from phantom.kernel.errors import Conflict, InvalidInput, VersionConflict
from phantom.kernel.events.envelope import Envelope
from phantom.kernel.events.store import AppendResult, Snapshot

__all__ = ["SqlEventStore", "from_us", "to_us"]

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

_COLUMNS = (
    "position, event_id, tenant_id, stream_id, stream_version, type, schema_version,"
    " occurred_at_us, actor, correlation_id, causation_id, data"
)
_INSERT = (
    "INSERT INTO kernel_events (event_id, tenant_id, stream_id, stream_version, type,"
    " schema_version, occurred_at_us, actor, correlation_id, causation_id, data)"
    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
_HEAD = (
    "SELECT (SELECT max(stream_version) FROM kernel_events"
    " WHERE tenant_id = ? AND stream_id = ?),"
    " EXISTS (SELECT 1 FROM kernel_events WHERE tenant_id = ? AND stream_id = ?"
    " AND event_id IN ({marks}))"
)
_HEAD_LOCKED = (
    "SELECT pg_advisory_xact_lock(?)::text, (SELECT max(stream_version) FROM"
    " kernel_events WHERE tenant_id = ? AND stream_id = ?),"
    " EXISTS (SELECT 1 FROM kernel_events WHERE tenant_id = ? AND stream_id = ?"
    " AND event_id IN ({marks}))"
)
_STORED_IDS = (
    "SELECT count(*) FROM kernel_events WHERE tenant_id = ? AND stream_id = ?"
    " AND event_id IN ({marks})"
)
_UPSERT_SNAPSHOT = (
    "INSERT INTO kernel_snapshots (tenant_id, stream_id, stream_version, type, state,"
    " taken_at_us) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (tenant_id, stream_id)"
    " DO UPDATE SET stream_version = excluded.stream_version, type = excluded.type,"
    " state = excluded.state, taken_at_us = excluded.taken_at_us"
    " WHERE kernel_snapshots.stream_version <= excluded.stream_version"
)
_STREAM_KEY = re.compile(r"stream_version|uq_kernel_events_stream")


def to_us(when: datetime) -> int:
    """Microseconds since the Unix epoch of an aware datetime."""
    delta = when - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def from_us(value: int) -> datetime:
    """The aware UTC datetime of ``value`` microseconds since the epoch."""
    return _EPOCH + timedelta(microseconds=value)


class SqlEventStore:
    """The :class:`~phantom.kernel.events.store.EventStore` on SQLite or PostgreSQL."""

    def __init__(self, dialect: Dialect, schema: str | None = None) -> None:
        self.dialect = dialect
        self._pg = dialect == "postgresql"
        self._lock_key = zlib.crc32(f"phantom.events.{schema}".encode()) - 2**31
        self._id: Callable[[uuid.UUID], Any] = (lambda u: u) if self._pg else _bytes
        self._sql_insert = self._sql(_INSERT)
        self._head_template = _HEAD_LOCKED if self._pg else _HEAD
        self._sql_heads: dict[int, str] = {}

    def _sql_head(self, count: int) -> str:
        statement = self._sql_heads.get(count)
        if statement is None:
            marks = ", ".join("?" for _ in range(count))
            statement = self._sql(self._head_template.format(marks=marks))
            if len(self._sql_heads) < 256:
                self._sql_heads[count] = statement
        return statement

    def _sql(self, statement: str) -> str:
        return statement.replace("?", "%s") if self._pg else statement

    def append(
        self,
        conn: Connection,
        events: Sequence[Envelope],
        *,
        expected_version: int | None,
    ) -> AppendResult:
        """Append ``events`` to their stream; see the port for the contract."""
        ids = self._checked_ids(events)
        tenant_id, stream_id = events[0].tenant_id, events[0].stream_id
        raw = conn.connection.driver_connection
        assert raw is not None  # noqa: S101 - an open connection has a driver connection
        cur = raw.cursor()
        try:
            head_args: tuple[Any, ...] = (tenant_id, stream_id, tenant_id, stream_id)
            if self._pg:
                head_args = (self._lock_key, *head_args)
            cur.execute(self._sql_head(len(ids)), (*head_args, *ids))
            row = cur.fetchone()
            current = int(row[-2] or 0)
            if row[-1]:
                return self._retried(cur, events, current)
            if expected_version is not None and expected_version != current:
                msg = (
                    f"stream {stream_id!r} is at version {current}, "
                    f"not the expected {expected_version}"
                )
                raise VersionConflict(msg, current_version=current)
            rows = [
                self._row(event, event_id, current + i)
                for i, (event, event_id) in enumerate(zip(events, ids, strict=True), 1)
            ]
            try:
                self._insert(cur, rows)
            except Exception as exc:
                raise self._translate(exc, stream_id) from exc
        finally:
            cur.close()
        return AppendResult(current + len(events), appended=True)

    def _checked_ids(self, events: Sequence[Envelope]) -> list[Any]:
        if not events:
            msg = "append needs at least one event"
            raise InvalidInput(msg)
        tenant_id, stream_id = events[0].tenant_id, events[0].stream_id
        for event in events:
            if event.tenant_id != tenant_id or event.stream_id != stream_id:
                msg = "one append writes to one stream of one tenant"
                raise InvalidInput(msg)
        ids = [self._id(event.id) for event in events]
        if len(set(ids)) != len(ids):
            msg = "an append carries the same event id twice"
            raise InvalidInput(msg)
        return ids

    def _insert(self, cur: Any, rows: list[tuple[Any, ...]]) -> None:  # noqa: ANN401
        cur.executemany(self._sql_insert, rows)

    def _retried(
        self,
        cur: Any,  # noqa: ANN401 - a DB-API cursor
        events: Sequence[Envelope],
        current: int,
    ) -> AppendResult:
        first = events[0]
        marks = ", ".join("?" for _ in events)
        cur.execute(
            self._sql(_STORED_IDS.format(marks=marks)),
            (first.tenant_id, first.stream_id, *(self._id(e.id) for e in events)),
        )
        if int(cur.fetchone()[0]) != len(events):
            msg = "some of these event ids are already stored in this stream"
            raise Conflict(msg)
        return AppendResult(current, appended=False)

    def _row(self, event: Envelope, event_id: Any, version: int) -> tuple[Any, ...]:  # noqa: ANN401
        return (
            event_id,
            event.tenant_id,
            event.stream_id,
            version,
            event.type,
            event.schema_version,
            to_us(event.occurred_at),
            _actor_json(event.actor),
            event.correlation_id,
            event.causation_id,
            to_json(event.data).decode(),
        )

    def _translate(self, exc: Exception, stream_id: str) -> Exception:
        message = str(exc)
        constraint = getattr(getattr(exc, "diag", None), "constraint_name", None) or ""
        unique = isinstance(exc, sqlite3.IntegrityError) or (
            getattr(exc, "sqlstate", None) == "23505"
        )
        if not unique:
            return exc
        if _STREAM_KEY.search(constraint or message):
            msg = f"stream {stream_id!r} was appended to concurrently"
            return VersionConflict(msg)
        return exc

    def stream_version(self, conn: Connection, tenant_id: str, stream_id: str) -> int:
        """Return the stream's current version (0 when empty)."""
        rows = self._fetch(
            conn,
            "SELECT max(stream_version) FROM kernel_events"
            " WHERE tenant_id = ? AND stream_id = ?",
            (tenant_id, stream_id),
        )
        return int(rows[0][0] or 0)

    def read_stream(
        self,
        conn: Connection,
        tenant_id: str,
        stream_id: str,
        *,
        after_version: int = 0,
        up_to: datetime | None = None,
    ) -> list[Envelope]:
        """Return the stream's events after ``after_version``, oldest first."""
        sql = (
            f"SELECT {_COLUMNS} FROM kernel_events WHERE tenant_id = ?"  # noqa: S608
            " AND stream_id = ? AND stream_version > ?"
        )
        args: list[Any] = [tenant_id, stream_id, after_version]
        if up_to is not None:
            sql += " AND occurred_at_us <= ?"
            args.append(to_us(up_to))
        rows = self._fetch(conn, sql + " ORDER BY stream_version", tuple(args))
        return [self._envelope(row) for row in rows]

    def read_all(
        self,
        conn: Connection,
        *,
        after_position: int = 0,
        limit: int = 1000,
        up_to: datetime | None = None,
    ) -> list[Envelope]:
        """Return up to ``limit`` events after ``after_position`` in position order."""
        sql = f"SELECT {_COLUMNS} FROM kernel_events WHERE position > ?"  # noqa: S608
        args: list[Any] = [after_position]
        if up_to is not None:
            sql += " AND occurred_at_us <= ?"
            args.append(to_us(up_to))
        sql += " ORDER BY position LIMIT ?"
        args.append(limit)
        return [self._envelope(row) for row in self._fetch(conn, sql, tuple(args))]

    def head_position(self, conn: Connection) -> int:
        """Return the highest stored position (0 when empty)."""
        rows = self._fetch(conn, "SELECT max(position) FROM kernel_events", ())
        return int(rows[0][0] or 0)

    def save_snapshot(self, conn: Connection, snapshot: Snapshot) -> None:
        """Store ``snapshot`` unless a newer one of the same stream exists."""
        self._fetch(
            conn,
            _UPSERT_SNAPSHOT,
            (
                snapshot.tenant_id,
                snapshot.stream_id,
                snapshot.stream_version,
                snapshot.type,
                to_json(snapshot.state).decode(),
                to_us(snapshot.taken_at),
            ),
            fetch=False,
        )

    def find_snapshot(
        self, conn: Connection, tenant_id: str, stream_id: str
    ) -> Snapshot | None:
        """Return the stream's latest snapshot, if any."""
        rows = self._fetch(
            conn,
            "SELECT stream_version, type, state, taken_at_us FROM kernel_snapshots"
            " WHERE tenant_id = ? AND stream_id = ?",
            (tenant_id, stream_id),
        )
        if not rows:
            return None
        version, type_, state, taken = rows[0]
        return Snapshot(
            tenant_id=tenant_id,
            stream_id=stream_id,
            stream_version=int(version),
            type=type_,
            state=from_json(state),
            taken_at=from_us(int(taken)),
        )

    def _fetch(
        self,
        conn: Connection,
        sql: str,
        args: tuple[Any, ...],
        *,
        fetch: bool = True,
    ) -> list[tuple[Any, ...]]:
        raw = conn.connection.driver_connection
        assert raw is not None  # noqa: S101
        cur = raw.cursor()
        try:
            cur.execute(self._sql(sql), args)
            return list(cur.fetchall()) if fetch else []
        finally:
            cur.close()

    def _envelope(self, row: tuple[Any, ...]) -> Envelope:
        (position, event_id, tenant_id, stream_id, version, type_, schema_version,
         occurred_us, actor, correlation_id, causation_id, data) = row  # fmt: skip
        return Envelope(
            id=event_id
            if isinstance(event_id, uuid.UUID)
            else uuid.UUID(bytes=event_id),
            type=type_,
            tenant_id=tenant_id,
            stream_id=stream_id,
            stream_version=int(version),
            schema_version=int(schema_version),
            occurred_at=from_us(int(occurred_us)),
            actor=Actor.from_dict(from_json(actor)),
            correlation_id=correlation_id,
            causation_id=causation_id,
            data=from_json(data),
            position=int(position),
        )


def _bytes(value: uuid.UUID) -> bytes:
    return value.bytes


@lru_cache(maxsize=4096)
def _actor_json(actor: Actor) -> str:
    return to_json(actor.to_dict()).decode()
