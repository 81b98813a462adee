"""The training context's operations, with their dependencies bound.

One :class:`TrainingService` is built by the composition root and serves the
HTTP routes (and, through them, the SDK and the CLI). Every operation acts as a
:class:`~phantom.tenancy.api.Principal` and touches that principal's tenant only:
another tenant's ids are simply not found.

Where the data goes:

* names, versions, params, tags, statuses → events in the training database,
  projected inline into its read tables;
* dataset files and run artifacts → the artifact store, under their sha256;
* metric points → the analytics store, in batches (never the event log).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import IO, Final

from phantom.kernel.analytics import AnalyticsStore, MetricPoint
from phantom.kernel.artifacts import ArtifactRef, ArtifactStore
from phantom.kernel.clock import Clock
from phantom.kernel.errors import (
    Conflict,
    Forbidden,
    InvalidField,
    NotFound,
)
from phantom.kernel.events.envelope import Envelope, new_envelope
from phantom.kernel.events.sql import from_us, to_us
from phantom.kernel.ids import uuid7
from phantom.kernel.text import clean_label
from phantom.tenancy.api import Page, Permission, Principal, require_permission
from phantom.training.adapters.profiler import detect_format, profile_file
from phantom.training.adapters.sql import (
    RunRecord,
    SqlTrainingReader,
    SqlTrainingStore,
    SqlTrainingWriter,
)
from phantom.training.api import (
    ArtifactInfo,
    DatasetInfo,
    DatasetVersionInfo,
    ExperimentInfo,
    MetricSummary,
    RunComparison,
    RunInfo,
)
from phantom.training.domain.rules import (
    check_artifact_name,
    check_end,
    check_name,
    check_params,
    check_tags,
    merge_params,
)
from phantom.training.domain.search import RunFacts, parse_filter, parse_order
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
)

__all__ = ["MetricInput", "TrainingLimits", "TrainingService"]

_KNOWN_RUNS: Final = 10_000
"""How many (tenant, run) pairs the metric path remembers as existing."""
_SEARCH_SCAN: Final = 5_000
"""Most runs a filtered search examines (the newest first)."""
_TAIL: Final = 8


@dataclass(frozen=True, slots=True)
class TrainingLimits:
    """Sizes the service enforces (from settings).

    Attributes:
        max_upload_bytes: largest dataset or artifact upload.
        storage_quota_bytes: each tenant's artifact storage quota.
        import_roots: server directories administrators may register datasets
            from by path; empty means registering by path is off.
    """

    max_upload_bytes: int = 5 * 1024**3
    storage_quota_bytes: int = 10 * 1024**3
    import_roots: tuple[Path, ...] = ()


@dataclass(frozen=True, slots=True)
class MetricInput:
    """One metric point as a caller sends it (``timestamp`` defaults to now)."""

    key: str
    value: float
    step: int = 0
    timestamp: datetime | None = None


def _not_found(what: str, ident: str) -> NotFound:
    return NotFound(f"no {what} {ident[:100]!r} in this tenant")


@dataclass
class TrainingService:
    """The training operations (see the module docstring).

    Attributes:
        store: the training database.
        artifacts: where dataset files and run artifacts go.
        analytics: where metric points go (opened on first use: the analytics
            store has one writer process, the server, and a CLI process that
            builds the container must not take its lock).
        clock: the time source.
        limits: upload sizes, storage quota, import roots.
        metrics_readable: whether this process reads metric points back (the
            API server); a standalone worker only hands them over, so answers
            it builds carry no metric values.
    """

    store: SqlTrainingStore
    artifacts: ArtifactStore
    analytics: Callable[[], AnalyticsStore]
    clock: Clock
    limits: TrainingLimits = field(default_factory=TrainingLimits)
    metrics_readable: bool = True
    _known_runs: OrderedDict[tuple[str, str], None] = field(
        default_factory=OrderedDict, repr=False
    )
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    # -- helpers -----------------------------------------------------------

    def _envelopes(
        self, principal: Principal, stream: str, events: Sequence[TrainingEvent]
    ) -> list[Envelope]:
        now, who = self.clock.now(), principal.actor()
        return [
            new_envelope(
                event.event_type(),
                tenant_id=principal.tenant_id,
                stream_id=stream,
                data=event.to_data(),
                actor=who,
                schema_version=event.SCHEMA_VERSION,
                occurred_at=now,
            )
            for event in events
        ]

    def _store_bytes(
        self, principal: Principal, data: IO[bytes] | bytes
    ) -> ArtifactRef:
        return self.artifacts.put(
            principal.tenant_id,
            data,
            quota_bytes=self.limits.storage_quota_bytes,
            max_bytes=self.limits.max_upload_bytes,
        )

    # -- datasets ----------------------------------------------------------

    def upload_dataset(
        self,
        principal: Principal,
        name: str,
        data: IO[bytes] | bytes,
        *,
        declared_format: str | None = None,
        description: str | None = None,
    ) -> DatasetVersionInfo:
        """Register ``data`` (CSV or Parquet) as the next version of ``name``.

        The dataset is created on its first upload. Uploading the bytes of the
        latest version again adds nothing and answers that version.

        Raises:
            Forbidden: the caller lacks ``datasets:write``.
            InvalidInput: the bytes are not a readable CSV or Parquet file, or the
                name, format or description is invalid.
            QuotaExceeded: the tenant's storage quota would be exceeded.
            PayloadTooLarge: the file is larger than the upload limit.
        """
        require_permission(principal, Permission.DATASETS_WRITE)
        name = check_name("name", name)
        text = (
            ""
            if description is None
            else clean_label("description", description, max_length=2000)
        )
        ref = self._store_bytes(principal, data)
        return self._add_version(
            principal,
            name,
            ref,
            declared_format=declared_format,
            description=text,
            source="upload",
        )

    def import_dataset(
        self,
        principal: Principal,
        name: str,
        path: str,
        *,
        declared_format: str | None = None,
        description: str | None = None,
    ) -> DatasetVersionInfo:
        """Register a file on the server (platform administrators, import roots only).

        Raises:
            Forbidden: the caller is not a platform administrator, or registering
                by path is off (no import roots configured).
            InvalidField: the path is not a file inside an import root.
        """
        require_permission(principal, Permission.DATASETS_WRITE)
        if not principal.has(Permission.PLATFORM_ADMIN):
            msg = "registering a dataset by server path is for platform administrators"
            raise Forbidden(msg)
        if not self.limits.import_roots:
            msg = "registering by path is off: set PHANTOM_DATASET_IMPORT_ROOTS"
            raise Forbidden(msg)
        if "\x00" in path or len(path) > 4096:
            raise InvalidField("path", "is not a usable path")
        resolved = Path(path).resolve()
        roots = [root.resolve() for root in self.limits.import_roots]
        if (
            not any(resolved.is_relative_to(root) for root in roots)
            or not resolved.is_file()
        ):
            raise InvalidField("path", "must be a file inside an import root")
        with resolved.open("rb") as handle:
            ref = self._store_bytes(principal, handle)
        text = (
            ""
            if description is None
            else clean_label("description", description, max_length=2000)
        )
        return self._add_version(
            principal,
            check_name("name", name),
            ref,
            declared_format=declared_format,
            description=text,
            source="path",
        )

    def _add_version(  # noqa: PLR0913 - one registration's facts
        self,
        principal: Principal,
        name: str,
        ref: ArtifactRef,
        *,
        declared_format: str | None,
        description: str,
        source: str,
    ) -> DatasetVersionInfo:
        tenant = principal.tenant_id
        with self.artifacts.materialize(tenant, ref.digest) as path:
            with path.open("rb") as handle:
                head = handle.read(_TAIL)
                handle.seek(max(ref.size - _TAIL, 0))
                tail = handle.read(_TAIL)
            fmt = detect_format(head, tail, declared_format)
            profiled = profile_file(path, fmt)
        with self.store.write(tenant) as tx:
            dataset = tx.dataset_by_name(name)
            events: list[TrainingEvent] = []
            if dataset is None:
                dataset_id = str(uuid7())
                events.append(
                    DatasetRegistered(
                        dataset_id=dataset_id, name=name, description=description
                    )
                )
                latest = 0
            else:
                dataset_id, latest = dataset.dataset_id, dataset.latest_version
                same = tx.version_with_digest(dataset, ref.digest)
                if same is not None and same.version == latest:
                    return same
            events.append(
                DatasetVersionAdded(
                    dataset_id=dataset_id,
                    version=latest + 1,
                    digest=ref.digest,
                    size_bytes=ref.size,
                    format=fmt,
                    row_count=profiled.row_count,
                    columns=[c.model_dump() for c in profiled.columns],
                    profile={
                        "columns": [c.model_dump(mode="json") for c in profiled.profile]
                    },
                    source=source,
                )
            )
            tx.append(
                self._envelopes(principal, f"dataset-{dataset_id}", events),
                expected_version=None,
            )
            created = tx.dataset(dataset_id)
            assert created is not None  # noqa: S101 - projected just now
            version = tx.version(created, latest + 1, with_profile=False)
            assert version is not None  # noqa: S101 - projected just now
            return version

    def _dataset(self, tx: SqlTrainingReader, name: str) -> DatasetInfo:
        dataset = tx.dataset_by_name(name) or tx.dataset(name)
        if dataset is None:
            raise _not_found("dataset", name)
        return dataset

    def list_datasets(
        self, principal: Principal, *, after: str | None = None, limit: int = 50
    ) -> Page[DatasetInfo]:
        """A page of the tenant's datasets, by name."""
        require_permission(principal, Permission.DATASETS_READ)
        with self.store.read(principal.tenant_id) as tx:
            items = tx.datasets(after=after, limit=limit + 1)
        more = len(items) > limit
        items = items[:limit]
        return Page(items=items, next_after=items[-1].name if more else None)

    def get_dataset(self, principal: Principal, name: str) -> DatasetInfo:
        """The dataset called (or with the id) ``name``."""
        require_permission(principal, Permission.DATASETS_READ)
        with self.store.read(principal.tenant_id) as tx:
            return self._dataset(tx, name)

    def list_versions(
        self, principal: Principal, name: str
    ) -> list[DatasetVersionInfo]:
        """Every version of a dataset, newest first (profiles left out)."""
        require_permission(principal, Permission.DATASETS_READ)
        with self.store.read(principal.tenant_id) as tx:
            return tx.versions(self._dataset(tx, name))

    def get_version(
        self, principal: Principal, name: str, version: int | None = None
    ) -> DatasetVersionInfo:
        """One version (the latest when ``version`` is ``None``) with its profile."""
        require_permission(principal, Permission.DATASETS_READ)
        with self.store.read(principal.tenant_id) as tx:
            dataset = self._dataset(tx, name)
            found = tx.version(dataset, version or dataset.latest_version)
        if found is None:
            raise _not_found("version of dataset", f"{name}@{version}")
        return found

    @contextmanager
    def open_version(
        self, principal: Principal, name: str, version: int | None = None
    ) -> Iterator[tuple[DatasetVersionInfo, IO[bytes]]]:
        """The version's facts and its bytes as a stream."""
        info = self.get_version(principal, name, version)
        with self.artifacts.open(principal.tenant_id, info.digest) as stream:
            yield info, stream

    # -- experiments -------------------------------------------------------

    def create_experiment(
        self, principal: Principal, name: str, description: str | None = None
    ) -> ExperimentInfo:
        """Create an experiment.

        Raises:
            Conflict: the tenant has an experiment with that name.
        """
        require_permission(principal, Permission.RUNS_WRITE)
        name = check_name("name", name)
        text = (
            ""
            if description is None
            else clean_label("description", description, max_length=2000)
        )
        with self.store.write(principal.tenant_id) as tx:
            if tx.experiment_by_name(name) is not None:
                msg = f"an experiment called {name!r} exists"
                raise Conflict(msg)
            return self._new_experiment(principal, tx, name, text)

    def _new_experiment(
        self, principal: Principal, tx: SqlTrainingWriter, name: str, description: str
    ) -> ExperimentInfo:
        experiment_id = str(uuid7())
        event = ExperimentCreated(
            experiment_id=experiment_id, name=name, description=description
        )
        tx.append(
            self._envelopes(principal, f"experiment-{experiment_id}", [event]),
            expected_version=0,
        )
        created = tx.experiment(experiment_id)
        assert created is not None  # noqa: S101 - projected just now
        return created

    def list_experiments(
        self, principal: Principal, *, after: str | None = None, limit: int = 50
    ) -> Page[ExperimentInfo]:
        """A page of experiments, by name."""
        require_permission(principal, Permission.RUNS_READ)
        with self.store.read(principal.tenant_id) as tx:
            items = tx.experiments(after=after, limit=limit + 1)
        more = len(items) > limit
        items = items[:limit]
        return Page(items=items, next_after=items[-1].name if more else None)

    def get_experiment(self, principal: Principal, ident: str) -> ExperimentInfo:
        """The experiment with the id (or called) ``ident``."""
        require_permission(principal, Permission.RUNS_READ)
        with self.store.read(principal.tenant_id) as tx:
            found = tx.experiment(ident) or tx.experiment_by_name(ident)
        if found is None:
            raise _not_found("experiment", ident)
        return found

    # -- runs --------------------------------------------------------------

    def start_run(  # noqa: PLR0913 - a run's starting facts, keyword-only
        self,
        principal: Principal,
        *,
        experiment: str,
        name: str | None = None,
        params: Mapping[str, object] | None = None,
        tags: Mapping[str, object] | None = None,
        dataset: str | None = None,
        dataset_version: int | None = None,
        job_id: str | None = None,
    ) -> RunInfo:
        """Start a run in ``experiment`` (an id or a name; a new name creates it).

        Raises:
            NotFound: the dataset (or its version) does not exist.
            InvalidField: a param, tag or name is invalid.
        """
        require_permission(principal, Permission.RUNS_WRITE)
        checked_params = check_params(params or {})
        checked_tags = check_tags(tags or {})
        run_id = str(uuid7())
        run_name = check_name("name", name) if name else f"run-{run_id[-12:]}"
        with self.store.write(principal.tenant_id) as tx:
            found = tx.experiment(experiment) or tx.experiment_by_name(experiment)
            if found is None:
                found = self._new_experiment(
                    principal, tx, check_name("experiment", experiment), ""
                )
            lineage: tuple[str | None, int | None] = (None, None)
            if dataset is not None:
                info = self._dataset(tx, dataset)
                version = dataset_version or info.latest_version
                if tx.version(info, version, with_profile=False) is None:
                    raise _not_found("version of dataset", f"{dataset}@{version}")
                lineage = (info.dataset_id, version)
            event = RunStarted(
                run_id=run_id,
                experiment_id=found.experiment_id,
                name=run_name,
                params=checked_params,
                tags=checked_tags,
                dataset_id=lineage[0],
                dataset_version=lineage[1],
                job_id=job_id,
            )
            tx.append(
                self._envelopes(principal, f"run-{run_id}", [event]), expected_version=0
            )
            record = tx.run(run_id)
        assert record is not None  # noqa: S101 - projected just now
        self._remember(principal.tenant_id, run_id)
        return self._info(record, {}, [])

    def _latest(
        self, tenant_id: str, run_ids: Sequence[str]
    ) -> dict[str, dict[str, float]]:
        if not run_ids or not self.metrics_readable:
            return {}
        return self.analytics().latest_metrics(tenant_id, run_ids)

    def _remember(self, tenant_id: str, run_id: str) -> None:
        with self._lock:
            self._known_runs[(tenant_id, run_id)] = None
            self._known_runs.move_to_end((tenant_id, run_id))
            if len(self._known_runs) > _KNOWN_RUNS:
                self._known_runs.popitem(last=False)

    def _record(self, tx: SqlTrainingReader, run_id: str) -> RunRecord:
        record = tx.run(run_id)
        if record is None:
            raise _not_found("run", run_id)
        return record

    def _info(
        self,
        record: RunRecord,
        metrics: Mapping[str, float],
        artifacts: list[ArtifactInfo],
    ) -> RunInfo:
        return RunInfo(
            run_id=record.run_id,
            experiment_id=record.experiment_id,
            name=record.name,
            status=record.status,  # type: ignore[arg-type]
            params=record.params,
            tags=record.tags,
            metrics=dict(metrics),
            artifacts=artifacts,
            dataset_id=record.dataset_id,
            dataset_version=record.dataset_version,
            job_id=record.job_id,
            created_by=record.created_by,
            started_at=from_us(record.started_at_us),
            ended_at=None
            if record.ended_at_us is None
            else from_us(record.ended_at_us),
        )

    def _change_run(
        self,
        principal: Principal,
        run_id: str,
        change: type[TrainingEvent],
        **data: object,
    ) -> RunInfo:
        require_permission(principal, Permission.RUNS_WRITE)
        with self.store.write(principal.tenant_id) as tx:
            record = self._record(tx, run_id)
            event: TrainingEvent | None = None
            if change is RunParamsLogged:
                added = merge_params(record.params, check_params(data["params"]))  # type: ignore[arg-type]
                event = RunParamsLogged(run_id=run_id, params=added) if added else None
            elif change is RunTagsSet:
                tags = check_tags(data["tags"])  # type: ignore[arg-type]
                event = RunTagsSet(run_id=run_id, tags=tags) if tags else None
            elif change is RunEnded:
                status = str(data["status"])
                event = (
                    RunEnded(run_id=run_id, status=status)
                    if check_end(record.status, status)
                    else None
                )
            if event is not None:
                tx.append(
                    self._envelopes(principal, f"run-{run_id}", [event]),
                    expected_version=None,
                )
                record = self._record(tx, run_id)
            artifacts = tx.artifacts([run_id])[run_id]
        metrics = self._latest(principal.tenant_id, [run_id]).get(run_id, {})
        return self._info(record, metrics, artifacts)

    def log_params(
        self, principal: Principal, run_id: str, params: Mapping[str, object]
    ) -> RunInfo:
        """Log params; a param once logged keeps its value (else ``Conflict``)."""
        return self._change_run(principal, run_id, RunParamsLogged, params=params)

    def set_tags(
        self, principal: Principal, run_id: str, tags: Mapping[str, object]
    ) -> RunInfo:
        """Set tags (overwriting those with the same keys)."""
        return self._change_run(principal, run_id, RunTagsSet, tags=tags)

    def end_run(
        self, principal: Principal, run_id: str, status: str = "finished"
    ) -> RunInfo:
        """End a running run; ending it again the same way changes nothing."""
        return self._change_run(principal, run_id, RunEnded, status=status)

    def get_run(self, principal: Principal, run_id: str) -> RunInfo:
        """A run with its latest metrics and its artifacts."""
        require_permission(principal, Permission.RUNS_READ)
        with self.store.read(principal.tenant_id) as tx:
            record = self._record(tx, run_id)
            artifacts = tx.artifacts([run_id])[run_id]
        metrics = self._latest(principal.tenant_id, [run_id]).get(run_id, {})
        return self._info(record, metrics, artifacts)

    def search_runs(  # noqa: PLR0913 - the search's knobs, keyword-only
        self,
        principal: Principal,
        *,
        experiment: str | None = None,
        status: str | None = None,
        filter_text: str | None = None,
        order_by: str | None = None,
        after: str | None = None,
        limit: int = 50,
    ) -> Page[RunInfo]:
        """Runs, narrowed by experiment, status and a filter, optionally sorted.

        Without ``filter_text`` and ``order_by`` it pages by run id (``after``).
        With them it examines up to the newest 5,000 runs of the scope and
        answers the first ``limit`` matches (``after`` is then ignored).
        """
        require_permission(principal, Permission.RUNS_READ)
        clauses, order = parse_filter(filter_text), parse_order(order_by)
        tenant = principal.tenant_id
        with self.store.read(tenant) as tx:
            experiment_id = None
            if experiment is not None:
                found = tx.experiment(experiment) or tx.experiment_by_name(experiment)
                if found is None:
                    raise _not_found("experiment", experiment)
                experiment_id = found.experiment_id
            scan = limit + 1 if not clauses and order is None else _SEARCH_SCAN
            paging = after if not clauses and order is None else None
            records = tx.runs(
                experiment_id=experiment_id, status=status, after=paging, limit=scan
            )
            more = not clauses and order is None and len(records) > limit
            records = records[:scan]
            ids = [r.run_id for r in records]
            metrics = self._latest(tenant, ids)
            if clauses or order is not None:
                facts = {
                    r.run_id: RunFacts(
                        params=r.params,
                        metrics=metrics.get(r.run_id, {}),
                        tags=r.tags,
                        attributes={"status": r.status, "name": r.name},
                    )
                    for r in records
                }
                records = [
                    r
                    for r in records
                    if all(c.matches(facts[r.run_id]) for c in clauses)
                ]
                if order is not None:
                    records.sort(key=lambda r: order.sort_key(facts[r.run_id]))
            records = records[:limit]
            artifacts = tx.artifacts([r.run_id for r in records])
        items = [
            self._info(r, metrics.get(r.run_id, {}), artifacts[r.run_id])
            for r in records
        ]
        return Page(
            items=items, next_after=items[-1].run_id if more and items else None
        )

    def compare_runs(
        self, principal: Principal, run_ids: Sequence[str]
    ) -> RunComparison:
        """Runs side by side (2 to 20 of them)."""
        if not 2 <= len(run_ids) <= 20:
            raise InvalidField("ids", "compare 2 to 20 runs")
        return RunComparison.of([self.get_run(principal, run_id) for run_id in run_ids])

    # -- metrics -----------------------------------------------------------

    def _check_run(self, principal: Principal, run_id: str) -> None:
        key = (principal.tenant_id, run_id)
        with self._lock:
            if key in self._known_runs:
                self._known_runs.move_to_end(key)
                return
        with self.store.read(principal.tenant_id) as tx:
            self._record(tx, run_id)
        self._remember(*key)

    def log_metrics(
        self, principal: Principal, run_id: str, points: Sequence[MetricInput]
    ) -> int:
        """Write a batch of metric points of a run; all or nothing.

        Raises:
            NotFound: the run does not exist in the caller's tenant.
            InvalidInput: a point is invalid (the message names its index).
        """
        require_permission(principal, Permission.RUNS_WRITE)
        self._check_run(principal, run_id)
        now_us = to_us(self.clock.now())
        tenant = principal.tenant_id
        batch = [
            MetricPoint(
                tenant,
                run_id,
                p.key,
                p.step,
                now_us if p.timestamp is None else to_us(p.timestamp),
                p.value,
            )
            for p in points
        ]
        return self.analytics().append_metrics(batch)

    def metric_history(
        self,
        principal: Principal,
        run_id: str,
        key: str,
        *,
        max_points: int | None = None,
    ) -> tuple[list[int], list[int], list[float]]:
        """A metric's points in step order: steps, timestamps (µs), values."""
        require_permission(principal, Permission.RUNS_READ)
        self._check_run(principal, run_id)
        history = self.analytics().metric_history(
            principal.tenant_id, run_id, key, max_points=max_points
        )
        return history.steps, history.timestamps_us, history.values

    def metric_summaries(
        self, principal: Principal, run_id: str
    ) -> list[MetricSummary]:
        """Every metric of a run: last value, range, count."""
        require_permission(principal, Permission.RUNS_READ)
        self._check_run(principal, run_id)
        summary = (
            self.analytics()
            .metric_summary(principal.tenant_id, [run_id])
            .get(run_id, {})
        )
        return [
            MetricSummary(
                key=key,
                last=s.last,
                min=s.min,
                max=s.max,
                count=s.count,
                last_step=s.last_step,
            )
            for key, s in sorted(summary.items())
        ]

    # -- artifacts ---------------------------------------------------------

    def log_artifact(
        self,
        principal: Principal,
        run_id: str,
        name: str,
        data: IO[bytes] | bytes,
        *,
        media_type: str = "application/octet-stream",
    ) -> ArtifactInfo:
        """Store ``data`` and attach it to the run as ``name`` (replacing any)."""
        require_permission(principal, Permission.RUNS_WRITE)
        name = check_artifact_name(name)
        if len(media_type) > 100 or not media_type.isprintable():
            raise InvalidField("media_type", "at most 100 printable characters")
        self._check_run(principal, run_id)
        ref = self._store_bytes(principal, data)
        event = RunArtifactLogged(
            run_id=run_id,
            name=name,
            digest=ref.digest,
            size_bytes=ref.size,
            media_type=media_type,
        )
        with self.store.write(principal.tenant_id) as tx:
            self._record(tx, run_id)
            tx.append(
                self._envelopes(principal, f"run-{run_id}", [event]),
                expected_version=None,
            )
            stored = {a.name: a for a in tx.artifacts([run_id])[run_id]}
        return stored[name]

    @contextmanager
    def open_artifact(
        self, principal: Principal, run_id: str, name: str
    ) -> Iterator[tuple[ArtifactInfo, IO[bytes]]]:
        """A run artifact's facts and its bytes as a stream."""
        require_permission(principal, Permission.RUNS_READ)
        with self.store.read(principal.tenant_id) as tx:
            self._record(tx, run_id)
            found = {a.name: a for a in tx.artifacts([run_id])[run_id]}.get(name)
        if found is None:
            raise _not_found("artifact", name)
        with self.artifacts.open(principal.tenant_id, found.digest) as stream:
            yield found, stream
