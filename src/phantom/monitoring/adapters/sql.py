"""The monitoring store on SQLite or PostgreSQL: profiles, policies, reports.

Every change is an event written through a kernel
:class:`~phantom.kernel.db.uow.UnitOfWork` whose inline projector
(:func:`project_monitoring`) keeps the three tables in step. Reads are tenant
transactions (ADR 0010); only :meth:`SqlMonitoringStore.profiled` looks across
tenants, on the system engine, for the scheduled drift run.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from importlib.resources import files
from pathlib import Path
from typing import Any, Final

from sqlalchemy import Connection, delete, insert, select

from phantom.kernel.db.engine import Database
from phantom.kernel.db.tenant import tenant_transaction
from phantom.kernel.db.uow import UnitOfWork
from phantom.kernel.events.envelope import Envelope
from phantom.kernel.events.sql import SqlEventStore, from_us, to_us
from phantom.kernel.events.store import EventStore
from phantom.monitoring.adapters.alerts_sql import project_alert_rules
from phantom.monitoring.adapters.sql_tables import policies, profiles, reports
from phantom.monitoring.events import (
    DriftPolicySet,
    DriftReported,
    ReferenceProfiled,
    parse_event,
)

__all__ = [
    "MONITORING_MIGRATIONS",
    "ProfileRow",
    "ReportRow",
    "SqlMonitoringStore",
    "project_monitoring",
]

MONITORING_MIGRATIONS: Final = Path(str(files("phantom.monitoring") / "migrations"))
"""The monitoring context's Alembic script folder."""


@dataclass(frozen=True, slots=True)
class ProfileRow:
    """Where a version's reference profile is and what it covers."""

    model: str
    version: int
    digest: str
    source: str
    rows: int
    features: list[str]
    created_at: datetime


@dataclass(frozen=True, slots=True)
class ReportRow:
    """One drift report of the history."""

    report_id: str
    model: str
    version: int
    since_us: int
    until_us: int
    rows: int
    dataset_drifted: bool
    drift_share: float
    drifted: list[str]
    report: dict[str, Any]
    created_at: datetime


class SqlMonitoringStore:
    """The monitoring context's tables (see the module docstring)."""

    def __init__(self, db: Database, store: EventStore | None = None) -> None:
        self.db = db
        self.store: EventStore = store or SqlEventStore(db.dialect, db.schema)

    def append(self, tenant_id: str, events: Sequence[Envelope]) -> None:
        """Append monitoring events for ``tenant_id`` (projected inline)."""
        uow = UnitOfWork(
            self.db, self.store, (project_monitoring,), tenant_id=tenant_id
        )
        with uow:
            uow.append(events, expected_version=None)
            uow.commit()

    def profile(self, tenant_id: str, model: str, version: int) -> ProfileRow | None:
        """The version's reference profile, if one was built."""
        with tenant_transaction(self.db, tenant_id) as conn:
            row = conn.execute(
                select(profiles).where(
                    profiles.c.tenant_id == tenant_id,
                    profiles.c.model == model,
                    profiles.c.version == version,
                )
            ).first()
        if row is None:
            return None
        return ProfileRow(
            model=row.model,
            version=row.version,
            digest=row.digest,
            source=row.source,
            rows=row.rows,
            features=json.loads(row.features),
            created_at=from_us(row.created_at_us),
        )

    def profiled(self) -> list[tuple[str, str, int]]:
        """``(tenant_id, model, version)`` of every profiled version (system)."""
        with self.db.system_engine.connect() as conn, conn.begin():
            rows = conn.execute(
                select(profiles.c.tenant_id, profiles.c.model, profiles.c.version)
            )
            return [(str(r.tenant_id), str(r.model), int(r.version)) for r in rows]

    def policy(self, tenant_id: str, model: str) -> dict[str, Any] | None:
        """The model's drift policy document, if one was set."""
        with tenant_transaction(self.db, tenant_id) as conn:
            text = conn.execute(
                select(policies.c.policy).where(
                    policies.c.tenant_id == tenant_id, policies.c.model == model
                )
            ).scalar_one_or_none()
        if text is None:
            return None
        found: dict[str, Any] = json.loads(text)
        return found

    def reports(
        self, tenant_id: str, model: str, *, version: int | None, limit: int
    ) -> list[ReportRow]:
        """The model's latest drift reports, newest first."""
        statement = select(reports).where(
            reports.c.tenant_id == tenant_id, reports.c.model == model
        )
        if version is not None:
            statement = statement.where(reports.c.version == version)
        order = (reports.c.created_at_us.desc(), reports.c.report_id.desc())
        with tenant_transaction(self.db, tenant_id) as conn:
            rows = conn.execute(statement.order_by(*order).limit(limit)).all()
        return [
            ReportRow(
                report_id=row.report_id,
                model=row.model,
                version=row.version,
                since_us=row.since_us,
                until_us=row.until_us,
                rows=row.rows,
                dataset_drifted=row.dataset_drifted,
                drift_share=row.drift_share,
                drifted=json.loads(row.drifted),
                report=json.loads(row.report),
                created_at=from_us(row.created_at_us),
            )
            for row in rows
        ]


def project_monitoring(conn: Connection, envelopes: Sequence[Envelope]) -> None:
    """Apply monitoring events to the read tables, in the writer's transaction."""
    project_alert_rules(conn, envelopes)
    for envelope in envelopes:
        event = parse_event(envelope)
        tenant_id, at_us = envelope.tenant_id, to_us(envelope.occurred_at)
        match event:
            case ReferenceProfiled():
                conn.execute(
                    delete(profiles).where(
                        profiles.c.tenant_id == tenant_id,
                        profiles.c.model == event.model,
                        profiles.c.version == event.version,
                    )
                )
                conn.execute(
                    insert(profiles).values(
                        tenant_id=tenant_id,
                        model=event.model,
                        version=event.version,
                        digest=event.digest,
                        source=event.source,
                        rows=event.rows,
                        features=json.dumps(event.features),
                        created_at_us=at_us,
                    )
                )
            case DriftPolicySet():
                conn.execute(
                    delete(policies).where(
                        policies.c.tenant_id == tenant_id,
                        policies.c.model == event.model,
                    )
                )
                conn.execute(
                    insert(policies).values(
                        tenant_id=tenant_id,
                        model=event.model,
                        policy=json.dumps(event.policy, sort_keys=True),
                        updated_by=envelope.actor.id,
                        updated_at_us=at_us,
                    )
                )
            case DriftReported():
                conn.execute(
                    insert(reports).values(
                        tenant_id=tenant_id,
                        report_id=event.report_id,
                        model=event.model,
                        version=event.version,
                        since_us=event.since_us,
                        until_us=event.until_us,
                        rows=event.rows,
                        dataset_drifted=event.dataset_drifted,
                        drift_share=event.drift_share,
                        drifted=json.dumps(event.drifted),
                        report=json.dumps(event.report, allow_nan=False),
                        created_at_us=at_us,
                    )
                )
