"""The registry store on SQLite or PostgreSQL: reads, writes, the inline projector.

Writes open a kernel :class:`~phantom.kernel.db.uow.UnitOfWork` for the tenant
whose inline projector is :func:`project_registry`, so events and read tables
commit together; reads are :func:`~phantom.kernel.db.tenant.tenant_transaction`.
Every transaction is bound to one tenant, so PostgreSQL row-level security
confines it (ADR 0010).
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from importlib.resources import files
from pathlib import Path
from typing import Any, Final

from sqlalchemy import Connection, Row, Select, delete, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from phantom.kernel.db.engine import Database
from phantom.kernel.db.tenant import tenant_transaction
from phantom.kernel.db.uow import UnitOfWork
from phantom.kernel.errors import Conflict
from phantom.kernel.events.envelope import Envelope
from phantom.kernel.events.sql import SqlEventStore, from_us, to_us
from phantom.kernel.events.store import EventStore
from phantom.registry.adapters.sql_tables import (
    alias_history,
    aliases,
    model_versions,
    models,
)
from phantom.registry.api import AliasAssignment, ModelInfo, ModelVersionInfo
from phantom.registry.events import (
    AliasMoved,
    AliasRemoved,
    ModelRegistered,
    ModelVersionArchived,
    ModelVersionRegistered,
    RegistryEvent,
    parse_event,
)

__all__ = [
    "REGISTRY_MIGRATIONS",
    "SqlRegistryReader",
    "SqlRegistryStore",
    "SqlRegistryWriter",
    "project_registry",
]

REGISTRY_MIGRATIONS: Final = Path(str(files("phantom.registry") / "migrations"))
"""The registry context's Alembic script folder."""


def _model(row: Row[Any]) -> ModelInfo:
    return ModelInfo(
        model_id=row.model_id,
        name=row.name,
        description=row.description,
        latest_version=row.latest_version,
        archived=bool(row.archived),
        created_by=row.created_by,
        created_at=from_us(row.created_at_us),
        updated_at=from_us(row.updated_at_us),
    )


def _version(row: Row[Any], name: str) -> ModelVersionInfo:
    return ModelVersionInfo(
        model_id=row.model_id,
        name=name,
        version=row.version,
        digest=row.digest,
        size_bytes=row.size_bytes,
        format=row.format,
        signature=json.loads(row.signature),
        metrics=json.loads(row.metrics),
        params=json.loads(row.params),
        description=row.description,
        source=row.source,
        dataset_id=row.dataset_id,
        dataset_version=row.dataset_version,
        run_id=row.run_id,
        job_id=row.job_id,
        parent_version=row.parent_version,
        status=row.status,
        created_by=row.created_by,
        created_at=from_us(row.created_at_us),
    )


def _span(row: Row[Any]) -> AliasAssignment:
    return AliasAssignment(
        alias=row.alias,
        version=row.version,
        valid_from=from_us(row.valid_from_us),
        valid_to=None if row.valid_to_us is None else from_us(row.valid_to_us),
        set_by=row.set_by,
    )


class SqlRegistryReader:
    """Reads of one tenant's registry tables, on one open transaction."""

    def __init__(self, conn: Connection, tenant_id: str) -> None:
        self._conn = conn
        self.tenant_id = tenant_id

    def _first(self, statement: Select[Any]) -> Row[Any] | None:
        return self._conn.execute(statement).first()

    def model_by_name(self, name: str) -> ModelInfo | None:
        """The model called ``name``."""
        row = self._first(
            select(models).where(
                models.c.tenant_id == self.tenant_id, models.c.name == name
            )
        )
        return None if row is None else _model(row)

    def models(self, *, after: str | None, limit: int) -> list[ModelInfo]:
        """A page of models by name."""
        statement = select(models).where(models.c.tenant_id == self.tenant_id)
        if after is not None:
            statement = statement.where(models.c.name > after)
        rows = self._conn.execute(statement.order_by(models.c.name).limit(limit))
        return [_model(row) for row in rows]

    def version(self, model: ModelInfo, version: int) -> ModelVersionInfo | None:
        """One version of ``model``."""
        row = self._first(
            select(model_versions).where(
                model_versions.c.tenant_id == self.tenant_id,
                model_versions.c.model_id == model.model_id,
                model_versions.c.version == version,
            )
        )
        return None if row is None else _version(row, model.name)

    def versions(self, model: ModelInfo) -> list[ModelVersionInfo]:
        """Every version of ``model``, newest first."""
        rows = self._conn.execute(
            select(model_versions)
            .where(
                model_versions.c.tenant_id == self.tenant_id,
                model_versions.c.model_id == model.model_id,
            )
            .order_by(model_versions.c.version.desc())
        )
        return [_version(row, model.name) for row in rows]

    def current_aliases(self, model: ModelInfo) -> list[AliasAssignment]:
        """The model's aliases as they stand, by name."""
        rows = self._conn.execute(
            select(alias_history)
            .join(
                aliases,
                (aliases.c.tenant_id == alias_history.c.tenant_id)
                & (aliases.c.model_id == alias_history.c.model_id)
                & (aliases.c.alias == alias_history.c.alias)
                & (aliases.c.seq == alias_history.c.seq),
            )
            .where(
                alias_history.c.tenant_id == self.tenant_id,
                alias_history.c.model_id == model.model_id,
            )
            .order_by(alias_history.c.alias)
        )
        return [_span(row) for row in rows]

    def alias_version(self, model: ModelInfo, alias: str) -> int | None:
        """The version ``alias`` points at now, or ``None``."""
        row = self._first(
            select(aliases.c.version).where(
                aliases.c.tenant_id == self.tenant_id,
                aliases.c.model_id == model.model_id,
                aliases.c.alias == alias,
            )
        )
        return None if row is None else int(row.version)

    def aliases_of_version(self, model: ModelInfo, version: int) -> list[str]:
        """The aliases pointing at ``version`` now."""
        rows = self._conn.execute(
            select(aliases.c.alias)
            .where(
                aliases.c.tenant_id == self.tenant_id,
                aliases.c.model_id == model.model_id,
                aliases.c.version == version,
            )
            .order_by(aliases.c.alias)
        )
        return [str(row.alias) for row in rows]

    def alias_history(self, model: ModelInfo, alias: str) -> list[AliasAssignment]:
        """Every assignment of ``alias``, oldest first."""
        rows = self._conn.execute(
            select(alias_history)
            .where(
                alias_history.c.tenant_id == self.tenant_id,
                alias_history.c.model_id == model.model_id,
                alias_history.c.alias == alias,
            )
            .order_by(alias_history.c.seq)
        )
        return [_span(row) for row in rows]

    def alias_at(
        self, model: ModelInfo, alias: str, at_us: int
    ) -> AliasAssignment | None:
        """The assignment of ``alias`` in force at ``at_us`` (one query)."""
        h = alias_history.c
        row = self._first(
            select(alias_history)
            .where(
                h.tenant_id == self.tenant_id,
                h.model_id == model.model_id,
                h.alias == alias,
                h.valid_from_us <= at_us,
                (h.valid_to_us.is_(None)) | (h.valid_to_us > at_us),
            )
            .order_by(h.seq.desc())
            .limit(1)
        )
        return None if row is None else _span(row)


class SqlRegistryWriter(SqlRegistryReader):
    """A tenant's write transaction: the reads, and appending events."""

    def __init__(self, uow: UnitOfWork, tenant_id: str) -> None:
        super().__init__(uow.connection, tenant_id)
        self._uow = uow

    def append(self, events: Sequence[Envelope]) -> None:
        """Append ``events`` (projected inline); unique clashes are a ``Conflict``.

        Raises:
            Conflict: a name or version number is taken (a concurrent write).
        """
        try:
            self._uow.append(events, expected_version=None)
        except IntegrityError as exc:
            msg = "the change conflicts with stored registry data; try again"
            raise Conflict(msg) from exc


class SqlRegistryStore:
    """Opens tenant-bound registry transactions on the context's database."""

    def __init__(self, db: Database, store: EventStore | None = None) -> None:
        self.db = db
        self.store: EventStore = store or SqlEventStore(db.dialect, db.schema)

    @contextmanager
    def read(self, tenant_id: str) -> Iterator[SqlRegistryReader]:
        """A read transaction for ``tenant_id``."""
        with tenant_transaction(self.db, tenant_id) as conn:
            yield SqlRegistryReader(conn, tenant_id)

    @contextmanager
    def write(self, tenant_id: str) -> Iterator[SqlRegistryWriter]:
        """A write transaction for ``tenant_id``; commits when the block ends."""
        uow = UnitOfWork(self.db, self.store, (project_registry,), tenant_id=tenant_id)
        with uow:
            yield SqlRegistryWriter(uow, tenant_id)
            uow.commit()


def project_registry(conn: Connection, envelopes: Sequence[Envelope]) -> None:
    """Apply registry events to the read tables, in the writer's transaction."""
    for envelope in envelopes:
        event = parse_event(envelope)
        if event is not None:
            _apply(conn, envelope, event)


def _dumps(value: object) -> str:
    return json.dumps(value, separators=(",", ":"), sort_keys=True)


def _close_alias(
    conn: Connection, tenant_id: str, model_id: str, alias: str, at_us: int
) -> int:
    """End the alias's current span and drop it; answer the next ``seq``."""
    h = alias_history.c
    where = (h.tenant_id == tenant_id) & (h.model_id == model_id) & (h.alias == alias)
    conn.execute(
        update(alias_history)
        .where(where, h.valid_to_us.is_(None))
        .values(valid_to_us=at_us)
    )
    conn.execute(
        delete(aliases).where(
            aliases.c.tenant_id == tenant_id,
            aliases.c.model_id == model_id,
            aliases.c.alias == alias,
        )
    )
    last = conn.execute(select(func.max(h.seq)).where(where)).scalar_one()
    return int(last or 0) + 1


def _apply(conn: Connection, envelope: Envelope, event: RegistryEvent) -> None:
    tenant_id, at_us = envelope.tenant_id, to_us(envelope.occurred_at)
    who = envelope.actor.id
    match event:
        case ModelRegistered():
            conn.execute(
                insert(models).values(
                    tenant_id=tenant_id,
                    model_id=event.model_id,
                    name=event.name,
                    description=event.description,
                    latest_version=0,
                    archived=0,
                    created_by=who,
                    created_at_us=at_us,
                    updated_at_us=at_us,
                )
            )
        case ModelVersionRegistered():
            _insert_version(conn, tenant_id, who, at_us, event)
        case AliasMoved():
            seq = _close_alias(conn, tenant_id, event.model_id, event.alias, at_us)
            key = {
                "tenant_id": tenant_id,
                "model_id": event.model_id,
                "alias": event.alias,
                "version": event.version,
                "seq": seq,
            }
            conn.execute(insert(aliases).values(key))
            conn.execute(
                insert(alias_history).values(
                    {**key, "valid_from_us": at_us, "valid_to_us": None, "set_by": who}
                )
            )
        case AliasRemoved():
            _close_alias(conn, tenant_id, event.model_id, event.alias, at_us)
        case ModelVersionArchived():
            conn.execute(
                update(model_versions)
                .where(
                    model_versions.c.tenant_id == tenant_id,
                    model_versions.c.model_id == event.model_id,
                    model_versions.c.version == event.version,
                )
                .values(status="archived")
            )


def _insert_version(
    conn: Connection,
    tenant_id: str,
    who: str,
    at_us: int,
    event: ModelVersionRegistered,
) -> None:
    conn.execute(
        insert(model_versions).values(
            tenant_id=tenant_id,
            model_id=event.model_id,
            version=event.version,
            digest=event.digest,
            size_bytes=event.size_bytes,
            format=event.format,
            signature=_dumps(event.signature),
            metrics=_dumps(event.metrics),
            params=_dumps(event.params),
            description=event.description,
            source=event.source,
            dataset_id=event.dataset_id,
            dataset_version=event.dataset_version,
            run_id=event.run_id,
            job_id=event.job_id,
            parent_version=event.parent_version,
            status="ready",
            created_by=who,
            created_at_us=at_us,
        )
    )
    conn.execute(
        update(models)
        .where(models.c.tenant_id == tenant_id, models.c.model_id == event.model_id)
        .values(latest_version=event.version, updated_at_us=at_us)
    )
