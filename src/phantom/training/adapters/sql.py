"""The training store on SQLite or PostgreSQL: reads, writes, the inline projector.

Writes open a kernel :class:`~phantom.kernel.db.uow.UnitOfWork` for the tenant
whose inline projector is :func:`project_training`, so events and read tables
commit together; reads are :func:`~phantom.kernel.db.tenant.tenant_transaction`
(deferred on SQLite, never waiting for writers). Every transaction is bound to one
tenant, so PostgreSQL row-level security confines it (ADR 0010).
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path
from typing import Any, Final

from sqlalchemy import Connection, Row, Select, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from phantom.kernel.db.engine import Database
from phantom.kernel.db.tenant import tenant_transaction
from phantom.kernel.db.uow import UnitOfWork
from phantom.kernel.errors import Conflict
from phantom.kernel.events.envelope import Envelope
from phantom.kernel.events.sql import SqlEventStore, from_us, to_us
from phantom.kernel.events.store import EventStore
from phantom.training.adapters.sql_tables import (
    dataset_versions,
    datasets,
    experiments,
    run_artifacts,
    runs,
)
from phantom.training.api import (
    ArtifactInfo,
    ColumnInfo,
    ColumnProfile,
    DatasetInfo,
    DatasetVersionInfo,
    ExperimentInfo,
)
from phantom.training.events import (
    DatasetRegistered,
    DatasetVersionAdded,
    ExperimentCreated,
    RunArtifactLogged,
    RunEnded,
    RunParamsLogged,
    RunStarted,
    RunTagsSet,
    TrainingEvent,
    parse_event,
)

__all__ = [
    "TRAINING_MIGRATIONS",
    "RunRecord",
    "SqlTrainingReader",
    "SqlTrainingStore",
    "SqlTrainingWriter",
    "project_training",
]

TRAINING_MIGRATIONS: Final = Path(str(files("phantom.training") / "migrations"))
"""The training context's Alembic script folder."""


@dataclass(frozen=True, slots=True)
class RunRecord:
    """A run as stored (metrics live in the analytics store)."""

    tenant_id: str
    run_id: str
    experiment_id: str
    name: str
    status: str
    params: dict[str, str]
    tags: dict[str, str]
    dataset_id: str | None
    dataset_version: int | None
    job_id: str | None
    created_by: str
    started_at_us: int
    ended_at_us: int | None


def _dataset(row: Row[Any]) -> DatasetInfo:
    return DatasetInfo(
        dataset_id=row.dataset_id,
        name=row.name,
        description=row.description,
        latest_version=row.latest_version,
        created_by=row.created_by,
        created_at=from_us(row.created_at_us),
        updated_at=from_us(row.updated_at_us),
    )


def _version(row: Row[Any], name: str, *, with_profile: bool) -> DatasetVersionInfo:
    profile = None
    if with_profile:
        profile = [ColumnProfile.model_validate(c) for c in json.loads(row.profile)]
    return DatasetVersionInfo(
        dataset_id=row.dataset_id,
        name=name,
        version=row.version,
        digest=row.digest,
        size_bytes=row.size_bytes,
        format=row.format,
        row_count=row.row_count,
        columns=[ColumnInfo.model_validate(c) for c in json.loads(row.columns)],
        profile=profile,
        source=row.source,
        created_by=row.created_by,
        created_at=from_us(row.created_at_us),
    )


def _experiment(row: Row[Any]) -> ExperimentInfo:
    return ExperimentInfo(
        experiment_id=row.experiment_id,
        name=row.name,
        description=row.description,
        created_by=row.created_by,
        created_at=from_us(row.created_at_us),
    )


def _run(row: Row[Any]) -> RunRecord:
    return RunRecord(
        tenant_id=row.tenant_id,
        run_id=row.run_id,
        experiment_id=row.experiment_id,
        name=row.name,
        status=row.status,
        params=json.loads(row.params),
        tags=json.loads(row.tags),
        dataset_id=row.dataset_id,
        dataset_version=row.dataset_version,
        job_id=row.job_id,
        created_by=row.created_by,
        started_at_us=row.started_at_us,
        ended_at_us=row.ended_at_us,
    )


def _artifact(row: Row[Any]) -> ArtifactInfo:
    return ArtifactInfo(
        name=row.name,
        digest=row.digest,
        size_bytes=row.size_bytes,
        media_type=row.media_type,
        created_at=from_us(row.created_at_us),
    )


class SqlTrainingReader:
    """Reads of one tenant's training tables, on one open transaction."""

    def __init__(self, conn: Connection, tenant_id: str) -> None:
        self._conn = conn
        self.tenant_id = tenant_id

    @property
    def connection(self) -> Connection:
        """The transaction's connection (for the job queue's statements)."""
        return self._conn

    def _first(self, statement: Select[Any]) -> Row[Any] | None:
        return self._conn.execute(statement).first()

    # datasets
    def dataset_by_name(self, name: str) -> DatasetInfo | None:
        """The dataset called ``name``."""
        row = self._first(
            select(datasets).where(
                datasets.c.tenant_id == self.tenant_id, datasets.c.name == name
            )
        )
        return None if row is None else _dataset(row)

    def dataset(self, dataset_id: str) -> DatasetInfo | None:
        """The dataset with ``dataset_id``."""
        row = self._first(
            select(datasets).where(
                datasets.c.tenant_id == self.tenant_id,
                datasets.c.dataset_id == dataset_id,
            )
        )
        return None if row is None else _dataset(row)

    def datasets(self, *, after: str | None, limit: int) -> list[DatasetInfo]:
        """A page of datasets by name."""
        statement = select(datasets).where(datasets.c.tenant_id == self.tenant_id)
        if after is not None:
            statement = statement.where(datasets.c.name > after)
        rows = self._conn.execute(statement.order_by(datasets.c.name).limit(limit))
        return [_dataset(row) for row in rows]

    def version(
        self, dataset: DatasetInfo, version: int, *, with_profile: bool = True
    ) -> DatasetVersionInfo | None:
        """One version of ``dataset``."""
        row = self._first(
            select(dataset_versions).where(
                dataset_versions.c.tenant_id == self.tenant_id,
                dataset_versions.c.dataset_id == dataset.dataset_id,
                dataset_versions.c.version == version,
            )
        )
        if row is None:
            return None
        return _version(row, dataset.name, with_profile=with_profile)

    def versions(self, dataset: DatasetInfo) -> list[DatasetVersionInfo]:
        """Every version of ``dataset``, newest first, without profiles."""
        rows = self._conn.execute(
            select(dataset_versions)
            .where(
                dataset_versions.c.tenant_id == self.tenant_id,
                dataset_versions.c.dataset_id == dataset.dataset_id,
            )
            .order_by(dataset_versions.c.version.desc())
        )
        return [_version(row, dataset.name, with_profile=False) for row in rows]

    def version_with_digest(
        self, dataset: DatasetInfo, digest: str
    ) -> DatasetVersionInfo | None:
        """The newest version of ``dataset`` whose bytes have ``digest``."""
        row = self._first(
            select(dataset_versions)
            .where(
                dataset_versions.c.tenant_id == self.tenant_id,
                dataset_versions.c.dataset_id == dataset.dataset_id,
                dataset_versions.c.digest == digest,
            )
            .order_by(dataset_versions.c.version.desc())
        )
        return None if row is None else _version(row, dataset.name, with_profile=False)

    # experiments
    def experiment(self, experiment_id: str) -> ExperimentInfo | None:
        """The experiment with ``experiment_id``."""
        row = self._first(
            select(experiments).where(
                experiments.c.tenant_id == self.tenant_id,
                experiments.c.experiment_id == experiment_id,
            )
        )
        return None if row is None else _experiment(row)

    def experiment_by_name(self, name: str) -> ExperimentInfo | None:
        """The experiment called ``name``."""
        row = self._first(
            select(experiments).where(
                experiments.c.tenant_id == self.tenant_id,
                experiments.c.name == name,
            )
        )
        return None if row is None else _experiment(row)

    def experiments(self, *, after: str | None, limit: int) -> list[ExperimentInfo]:
        """A page of experiments by name."""
        statement = select(experiments).where(experiments.c.tenant_id == self.tenant_id)
        if after is not None:
            statement = statement.where(experiments.c.name > after)
        rows = self._conn.execute(statement.order_by(experiments.c.name).limit(limit))
        return [_experiment(row) for row in rows]

    # runs
    def run(self, run_id: str) -> RunRecord | None:
        """The run with ``run_id``."""
        row = self._first(
            select(runs).where(
                runs.c.tenant_id == self.tenant_id, runs.c.run_id == run_id
            )
        )
        return None if row is None else _run(row)

    def runs(
        self,
        *,
        experiment_id: str | None,
        status: str | None,
        after: str | None,
        limit: int,
    ) -> list[RunRecord]:
        """Runs by id (oldest first: ids are UUIDv7), optionally narrowed."""
        statement = select(runs).where(runs.c.tenant_id == self.tenant_id)
        if experiment_id is not None:
            statement = statement.where(runs.c.experiment_id == experiment_id)
        if status is not None:
            statement = statement.where(runs.c.status == status)
        if after is not None:
            statement = statement.where(runs.c.run_id > after)
        rows = self._conn.execute(statement.order_by(runs.c.run_id).limit(limit))
        return [_run(row) for row in rows]

    def artifacts(self, run_ids: Sequence[str]) -> dict[str, list[ArtifactInfo]]:
        """The artifacts of each run, by name."""
        found: dict[str, list[ArtifactInfo]] = {run_id: [] for run_id in run_ids}
        if not run_ids:
            return found
        rows = self._conn.execute(
            select(run_artifacts)
            .where(
                run_artifacts.c.tenant_id == self.tenant_id,
                run_artifacts.c.run_id.in_(list(run_ids)),
            )
            .order_by(run_artifacts.c.run_id, run_artifacts.c.name)
        )
        for row in rows:
            found[row.run_id].append(_artifact(row))
        return found

    def count_runs(self, experiment_id: str) -> int:
        """How many runs ``experiment_id`` holds."""
        statement = (
            select(func.count())
            .select_from(runs)
            .where(
                runs.c.tenant_id == self.tenant_id,
                runs.c.experiment_id == experiment_id,
            )
        )
        return int(self._conn.execute(statement).scalar_one())


class SqlTrainingWriter(SqlTrainingReader):
    """A tenant's write transaction: the reads, and appending events."""

    def __init__(self, uow: UnitOfWork, tenant_id: str) -> None:
        super().__init__(uow.connection, tenant_id)
        self._uow = uow

    def append(
        self, events: Sequence[Envelope], *, expected_version: int | None
    ) -> None:
        """Append ``events`` (projected inline); unique clashes are a ``Conflict``.

        Raises:
            Conflict: a name is taken, or the stream moved on.
        """
        try:
            self._uow.append(events, expected_version=expected_version)
        except IntegrityError as exc:
            msg = "the change conflicts with stored training data (a name is taken)"
            raise Conflict(msg) from exc


class SqlTrainingStore:
    """Opens tenant-bound training transactions on the context's database."""

    def __init__(self, db: Database, store: EventStore | None = None) -> None:
        self.db = db
        self.store: EventStore = store or SqlEventStore(db.dialect, db.schema)

    @contextmanager
    def read(self, tenant_id: str) -> Iterator[SqlTrainingReader]:
        """A read transaction for ``tenant_id``."""
        with tenant_transaction(self.db, tenant_id) as conn:
            yield SqlTrainingReader(conn, tenant_id)

    @contextmanager
    def write(self, tenant_id: str) -> Iterator[SqlTrainingWriter]:
        """A write transaction for ``tenant_id``; commits when the block ends."""
        uow = UnitOfWork(self.db, self.store, (project_training,), tenant_id=tenant_id)
        with uow:
            yield SqlTrainingWriter(uow, tenant_id)
            uow.commit()


def project_training(conn: Connection, envelopes: Sequence[Envelope]) -> None:
    """Apply training events to the read tables, in the writer's transaction."""
    for envelope in envelopes:
        event = parse_event(envelope)
        if event is not None:
            _apply(conn, envelope, event)


def _dumps(value: object) -> str:
    return json.dumps(value, separators=(",", ":"), sort_keys=True)


def _merge(
    conn: Connection, tenant_id: str, run_id: str, column: str, new: dict[str, str]
) -> None:
    where = (runs.c.tenant_id == tenant_id) & (runs.c.run_id == run_id)
    current = conn.execute(select(runs.c[column]).where(where)).scalar_one()
    merged = json.loads(current) | new
    conn.execute(update(runs).where(where).values({column: _dumps(merged)}))


def _apply(conn: Connection, envelope: Envelope, event: TrainingEvent) -> None:
    tenant_id, at_us = envelope.tenant_id, to_us(envelope.occurred_at)
    who = envelope.actor.id
    match event:
        case DatasetRegistered():
            conn.execute(
                insert(datasets).values(
                    tenant_id=tenant_id,
                    dataset_id=event.dataset_id,
                    name=event.name,
                    description=event.description,
                    latest_version=0,
                    created_by=who,
                    created_at_us=at_us,
                    updated_at_us=at_us,
                )
            )
        case DatasetVersionAdded():
            conn.execute(
                insert(dataset_versions).values(
                    tenant_id=tenant_id,
                    dataset_id=event.dataset_id,
                    version=event.version,
                    digest=event.digest,
                    size_bytes=event.size_bytes,
                    format=event.format,
                    row_count=event.row_count,
                    columns=_dumps(event.columns),
                    profile=_dumps(event.profile["columns"]),
                    source=event.source,
                    created_by=who,
                    created_at_us=at_us,
                )
            )
            conn.execute(
                update(datasets)
                .where(
                    datasets.c.tenant_id == tenant_id,
                    datasets.c.dataset_id == event.dataset_id,
                )
                .values(latest_version=event.version, updated_at_us=at_us)
            )
        case ExperimentCreated():
            conn.execute(
                insert(experiments).values(
                    tenant_id=tenant_id,
                    experiment_id=event.experiment_id,
                    name=event.name,
                    description=event.description,
                    created_by=who,
                    created_at_us=at_us,
                )
            )
        case RunStarted():
            conn.execute(
                insert(runs).values(
                    tenant_id=tenant_id,
                    run_id=event.run_id,
                    experiment_id=event.experiment_id,
                    name=event.name,
                    status="running",
                    params=_dumps(event.params),
                    tags=_dumps(event.tags),
                    dataset_id=event.dataset_id,
                    dataset_version=event.dataset_version,
                    job_id=event.job_id,
                    created_by=who,
                    started_at_us=at_us,
                )
            )
        case RunParamsLogged():
            _merge(conn, tenant_id, event.run_id, "params", event.params)
        case RunTagsSet():
            _merge(conn, tenant_id, event.run_id, "tags", event.tags)
        case RunEnded():
            conn.execute(
                update(runs)
                .where(runs.c.tenant_id == tenant_id, runs.c.run_id == event.run_id)
                .values(status=event.status, ended_at_us=at_us)
            )
        case RunArtifactLogged():
            where = (
                (run_artifacts.c.tenant_id == tenant_id)
                & (run_artifacts.c.run_id == event.run_id)
                & (run_artifacts.c.name == event.name)
            )
            values = {
                "digest": event.digest,
                "size_bytes": event.size_bytes,
                "media_type": event.media_type,
                "created_at_us": at_us,
            }
            if (
                conn.execute(update(run_artifacts).where(where).values(values)).rowcount
                == 0
            ):
                conn.execute(
                    insert(run_artifacts).values(
                        tenant_id=tenant_id,
                        run_id=event.run_id,
                        name=event.name,
                        **values,
                    )
                )
