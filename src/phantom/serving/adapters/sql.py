"""The serving store on SQLite or PostgreSQL: reads, writes, the inline projector.

Writes open a kernel :class:`~phantom.kernel.db.uow.UnitOfWork` for the tenant
whose inline projector is :func:`project_serving`, so the saga's events and its
read tables commit together. Reads are tenant transactions (ADR 0010); only
:meth:`SqlServingStore.unfinished` looks across tenants, on the system engine,
to find sagas a crash interrupted.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from importlib.resources import files
from pathlib import Path
from typing import Any, Final

from sqlalchemy import Connection, Row, delete, insert, select, update
from sqlalchemy.exc import IntegrityError

from phantom.kernel.db.engine import Database
from phantom.kernel.db.tenant import tenant_transaction
from phantom.kernel.db.uow import UnitOfWork
from phantom.kernel.errors import Conflict
from phantom.kernel.events.envelope import Envelope
from phantom.kernel.events.sql import SqlEventStore, from_us, to_us
from phantom.kernel.events.store import EventStore
from phantom.serving.adapters.sql_tables import conversions, deployments, traffic
from phantom.serving.api import DeploymentInfo, DeploymentStep
from phantom.serving.events import (
    DeploymentEnded,
    DeploymentStarted,
    DeploymentStepRecorded,
    ModelConverted,
    ServingEvent,
    TrafficSet,
    parse_event,
)

__all__ = [
    "SERVING_MIGRATIONS",
    "Conversion",
    "SqlServingReader",
    "SqlServingStore",
    "SqlServingWriter",
    "project_serving",
]

SERVING_MIGRATIONS: Final = Path(str(files("phantom.serving") / "migrations"))
"""The serving context's Alembic script folder."""


def _dumps(value: object) -> str:
    return json.dumps(value, separators=(",", ":"), sort_keys=True)


def _deployment(row: Row[Any]) -> DeploymentInfo:
    return DeploymentInfo(
        deployment_id=row.deployment_id,
        model=row.model,
        version=row.version,
        alias=row.alias,
        kind=row.kind,
        canary_percent=row.canary_percent,
        state=row.state,
        steps=[DeploymentStep(**step) for step in json.loads(row.steps)],
        previous_version=row.previous_version,
        error=row.error,
        created_by=row.created_by,
        created_at=from_us(row.created_at_us),
        updated_at=from_us(row.updated_at_us),
    )


class Conversion:
    """A version's ONNX copy: its digest and the class labels of its columns."""

    __slots__ = ("classes", "onnx_digest", "source_digest")

    def __init__(
        self, source_digest: str, onnx_digest: str, classes: list[Any] | None
    ) -> None:
        self.source_digest = source_digest
        self.onnx_digest = onnx_digest
        self.classes = classes


class SqlServingReader:
    """Reads of one tenant's serving tables, on one open transaction."""

    def __init__(self, conn: Connection, tenant_id: str) -> None:
        self._conn = conn
        self.tenant_id = tenant_id

    def deployment(self, deployment_id: str) -> DeploymentInfo | None:
        """One deployment."""
        row = self._conn.execute(
            select(deployments).where(
                deployments.c.tenant_id == self.tenant_id,
                deployments.c.deployment_id == deployment_id,
            )
        ).first()
        return None if row is None else _deployment(row)

    def previous_traffic(self, deployment_id: str) -> dict[str, int | None] | None:
        """The traffic settings a deployment found in place (for compensation)."""
        row = self._conn.execute(
            select(deployments.c.previous_traffic).where(
                deployments.c.tenant_id == self.tenant_id,
                deployments.c.deployment_id == deployment_id,
            )
        ).first()
        if row is None or row.previous_traffic is None:
            return None
        found: dict[str, int | None] = json.loads(row.previous_traffic)
        return found

    def deployments(
        self, *, model: str | None, after: str | None, limit: int
    ) -> list[DeploymentInfo]:
        """A page of deployments, newest first (ids are time-ordered UUIDv7)."""
        statement = select(deployments).where(deployments.c.tenant_id == self.tenant_id)
        if model is not None:
            statement = statement.where(deployments.c.model == model)
        if after is not None:
            statement = statement.where(deployments.c.deployment_id < after)
        rows = self._conn.execute(
            statement.order_by(deployments.c.deployment_id.desc()).limit(limit)
        )
        return [_deployment(row) for row in rows]

    def running(self, model: str, alias: str) -> DeploymentInfo | None:
        """The deployment of ``model``'s ``alias`` still running, if any."""
        row = self._conn.execute(
            select(deployments).where(
                deployments.c.tenant_id == self.tenant_id,
                deployments.c.model == model,
                deployments.c.alias == alias,
                deployments.c.state == "running",
            )
        ).first()
        return None if row is None else _deployment(row)

    def traffic(self, model: str, alias: str) -> dict[str, int | None]:
        """The alias's canary/shadow settings (all ``None`` when unset)."""
        row = self._conn.execute(
            select(traffic).where(
                traffic.c.tenant_id == self.tenant_id,
                traffic.c.model == model,
                traffic.c.alias == alias,
            )
        ).first()
        if row is None:
            return {
                "canary_version": None,
                "canary_percent": None,
                "shadow_version": None,
            }
        return {
            "canary_version": row.canary_version,
            "canary_percent": row.canary_percent,
            "shadow_version": row.shadow_version,
        }

    def conversion(self, model: str, version: int) -> Conversion | None:
        """The version's ONNX copy, if one was made."""
        row = self._conn.execute(
            select(conversions).where(
                conversions.c.tenant_id == self.tenant_id,
                conversions.c.model == model,
                conversions.c.version == version,
            )
        ).first()
        if row is None:
            return None
        classes = None if row.classes is None else json.loads(row.classes)
        return Conversion(row.source_digest, row.onnx_digest, classes)


class SqlServingWriter(SqlServingReader):
    """A tenant's write transaction: the reads, and appending events."""

    def __init__(self, uow: UnitOfWork, tenant_id: str) -> None:
        super().__init__(uow.connection, tenant_id)
        self._uow = uow

    def append(self, events: Sequence[Envelope]) -> None:
        """Append ``events`` (projected inline).

        Raises:
            Conflict: a concurrent write clashed (try again).
        """
        try:
            self._uow.append(events, expected_version=None)
        except IntegrityError as exc:
            msg = "the change conflicts with stored serving data; try again"
            raise Conflict(msg) from exc


class SqlServingStore:
    """Opens tenant-bound serving transactions on the context's database."""

    def __init__(self, db: Database, store: EventStore | None = None) -> None:
        self.db = db
        self.store: EventStore = store or SqlEventStore(db.dialect, db.schema)

    @contextmanager
    def read(self, tenant_id: str) -> Iterator[SqlServingReader]:
        """A read transaction for ``tenant_id``."""
        with tenant_transaction(self.db, tenant_id) as conn:
            yield SqlServingReader(conn, tenant_id)

    @contextmanager
    def write(self, tenant_id: str) -> Iterator[SqlServingWriter]:
        """A write transaction for ``tenant_id``; commits when the block ends."""
        uow = UnitOfWork(self.db, self.store, (project_serving,), tenant_id=tenant_id)
        with uow:
            yield SqlServingWriter(uow, tenant_id)
            uow.commit()

    def unfinished(self) -> list[tuple[str, str]]:
        """``(tenant_id, deployment_id)`` of every saga still marked running."""
        with self.db.system_engine.connect() as conn, conn.begin():
            rows = conn.execute(
                select(deployments.c.tenant_id, deployments.c.deployment_id)
                .where(deployments.c.state == "running")
                .order_by(deployments.c.deployment_id)
            )
            return [(str(r.tenant_id), str(r.deployment_id)) for r in rows]


def project_serving(conn: Connection, envelopes: Sequence[Envelope]) -> None:
    """Apply serving events to the read tables, in the writer's transaction."""
    for envelope in envelopes:
        event = parse_event(envelope)
        if event is not None:
            _apply(conn, envelope, event)


def _steps(
    conn: Connection, tenant_id: str, deployment_id: str
) -> list[dict[str, str]]:
    row = conn.execute(
        select(deployments.c.steps).where(
            deployments.c.tenant_id == tenant_id,
            deployments.c.deployment_id == deployment_id,
        )
    ).first()
    found: list[dict[str, str]] = [] if row is None else json.loads(row.steps)
    return found


def _apply(conn: Connection, envelope: Envelope, event: ServingEvent) -> None:
    tenant_id, at_us = envelope.tenant_id, to_us(envelope.occurred_at)
    match event:
        case DeploymentStarted():
            conn.execute(
                insert(deployments).values(
                    tenant_id=tenant_id,
                    deployment_id=event.deployment_id,
                    model=event.model,
                    version=event.version,
                    alias=event.alias,
                    kind=event.kind,
                    canary_percent=event.canary_percent,
                    state="running",
                    steps="[]",
                    previous_version=event.previous_version,
                    previous_traffic=None
                    if event.previous_traffic is None
                    else _dumps(event.previous_traffic),
                    error=None,
                    created_by=envelope.actor.id,
                    created_at_us=at_us,
                    updated_at_us=at_us,
                )
            )
        case DeploymentStepRecorded():
            steps = list(_steps(conn, tenant_id, event.deployment_id))
            entry = {"name": event.step, "state": event.state, "detail": event.detail}
            for index, step in enumerate(steps):
                if step["name"] == event.step:
                    steps[index] = entry
                    break
            else:
                steps.append(entry)
            _update_deployment(
                conn, tenant_id, event.deployment_id, at_us, steps=_dumps(steps)
            )
        case DeploymentEnded():
            _update_deployment(
                conn,
                tenant_id,
                event.deployment_id,
                at_us,
                state=event.state,
                error=event.error,
            )
        case TrafficSet():
            _set_traffic(conn, tenant_id, at_us, event)
        case ModelConverted():
            conn.execute(
                delete(conversions).where(
                    conversions.c.tenant_id == tenant_id,
                    conversions.c.model == event.model,
                    conversions.c.version == event.version,
                )
            )
            conn.execute(
                insert(conversions).values(
                    tenant_id=tenant_id,
                    model=event.model,
                    version=event.version,
                    source_digest=event.source_digest,
                    onnx_digest=event.onnx_digest,
                    classes=None if event.classes is None else _dumps(event.classes),
                    created_at_us=at_us,
                )
            )


def _update_deployment(
    conn: Connection, tenant_id: str, deployment_id: str, at_us: int, **values: object
) -> None:
    conn.execute(
        update(deployments)
        .where(
            deployments.c.tenant_id == tenant_id,
            deployments.c.deployment_id == deployment_id,
        )
        .values(updated_at_us=at_us, **values)
    )


def _set_traffic(
    conn: Connection, tenant_id: str, at_us: int, event: TrafficSet
) -> None:
    conn.execute(
        delete(traffic).where(
            traffic.c.tenant_id == tenant_id,
            traffic.c.model == event.model,
            traffic.c.alias == event.alias,
        )
    )
    if event.canary_version is None and event.shadow_version is None:
        return
    conn.execute(
        insert(traffic).values(
            tenant_id=tenant_id,
            model=event.model,
            alias=event.alias,
            canary_version=event.canary_version,
            canary_percent=event.canary_percent,
            shadow_version=event.shadow_version,
            updated_at_us=at_us,
        )
    )
