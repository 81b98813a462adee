"""Training jobs as the API sees them: submit, read, list, cancel, logs.

A job is a row of the durable queue (:mod:`phantom.training.adapters.jobs_sql`)
plus lifecycle events (``JobSubmitted``, ``JobCancelRequested``, ``JobFinished``)
in the training event store, so the audit trail sees every one. Workers
(:mod:`phantom.training.worker`) take the jobs.

A search job's dataset version is pinned at submission: the job trains on what
existed when it was asked for, whatever is uploaded later. A batch job's model
version is pinned too (an alias is resolved when the job is submitted), and its
Parquet output is read back through :meth:`JobService.open_batch_output`.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import IO, Any, Final

from phantom.kernel.clock import Clock
from phantom.kernel.errors import (
    Conflict,
    InvalidField,
    NotFound,
    QuotaExceeded,
)
from phantom.kernel.events.envelope import new_envelope
from phantom.kernel.events.sql import from_us, to_us
from phantom.kernel.ids import uuid7
from phantom.tenancy.api import Page, Permission, Principal, require_permission
from phantom.training.adapters import jobs_sql
from phantom.training.adapters.jobs_sql import JobRecord
from phantom.training.adapters.sql import SqlTrainingStore
from phantom.training.api import JobInfo, JobLogLine
from phantom.training.batch import ResolveModel
from phantom.training.domain.rules import check_artifact_name
from phantom.training.events import (
    JobCancelRequested,
    JobSubmitted,
    TrainingEvent,
)
from phantom.training.jobs.spec import TrainingSpec, parse_spec
from phantom.training.service import TrainingService

__all__ = ["JobService", "job_info"]

MAX_QUEUED_PER_TENANT: Final = 100
MAX_FILES: Final = 20
MAX_FILE_BYTES: Final = 256 * 1024
FINISHED: Final = frozenset({"succeeded", "failed", "cancelled"})


def job_info(record: JobRecord) -> JobInfo:
    """The API's view of a stored job."""
    return JobInfo(
        job_id=record.job_id,
        kind=record.kind,  # type: ignore[arg-type]
        name=record.name,
        status=record.status,  # type: ignore[arg-type]
        priority=record.priority,
        attempts=record.attempts,
        max_retries=record.max_retries,
        cancel_requested=record.cancel_requested,
        spec=record.spec,
        progress=record.progress,
        result=record.result,
        error=record.error,
        created_by=record.created_by,
        created_at=from_us(record.created_at_us),
        started_at=None
        if record.started_at_us is None
        else from_us(record.started_at_us),
        finished_at=None
        if record.finished_at_us is None
        else from_us(record.finished_at_us),
    )


def _check_files(kind: str, files: dict[str, str], entry: str | None) -> dict[str, str]:
    """An entry-point job's files, checked; a search job has none."""
    if kind != "entrypoint":
        if files:
            raise InvalidField("files", "only entrypoint jobs take files")
        return {}
    if len(files) > MAX_FILES:
        raise InvalidField("files", f"at most {MAX_FILES} files")
    total = 0
    for name, content in files.items():
        check_artifact_name(name)
        total += len(content.encode("utf-8", "surrogatepass"))
    if total > MAX_FILE_BYTES:
        raise InvalidField("files", f"at most {MAX_FILE_BYTES} bytes in all")
    if entry not in files:
        raise InvalidField("files", f"the entrypoint file {entry!r} is not among them")
    return dict(files)


@dataclass(frozen=True, slots=True)
class JobService:
    """Submits and reads training jobs (see the module docstring).

    Attributes:
        store: the training database.
        training: datasets (a job's dataset is checked and pinned).
        clock: the time source.
        resolve_model: the model version a batch job scores with, resolved in
            the registry (``None``: no serving here, and batch jobs are refused).
    """

    store: SqlTrainingStore
    training: TrainingService
    clock: Clock
    resolve_model: ResolveModel | None = None

    def _event(self, principal: Principal, job_id: str, event: TrainingEvent) -> Any:  # noqa: ANN401
        return new_envelope(
            event.event_type(),
            tenant_id=principal.tenant_id,
            stream_id=f"job-{job_id}",
            data=event.to_data(),
            actor=principal.actor(),
            occurred_at=self.clock.now(),
        )

    def submit(
        self,
        principal: Principal,
        spec_text: str | dict[str, Any],
        files: dict[str, str] | None = None,
    ) -> JobInfo:
        """Queue a job from a spec (YAML or JSON text, or an object).

        An ``entrypoint`` job brings its Python files (``files``: name -> text, at
        most 256 KB in all) and runs ``entrypoint.file`` with the SDK configured;
        a ``search`` or ``batch`` job takes no files. A ``batch`` job's model
        version is pinned: ``version`` is set to the alias's version now.

        Raises:
            InvalidInput: the spec or a file is invalid, or the spec's dataset
                (or version) does not exist; the message names the field.
            NotFound: a batch job's model, version or alias does not exist.
            QuotaExceeded: the tenant has too many unfinished jobs.
            Forbidden: the caller lacks ``jobs:write`` (or ``models:write`` for
                a spec with ``register_as``, ``predict`` for a batch job).
        """
        require_permission(principal, Permission.JOBS_WRITE)
        text = spec_text if isinstance(spec_text, str) else json.dumps(spec_text)
        spec = parse_spec(text)
        if spec.register_as is not None:
            # The worker registers the best model as the submitter: the key
            # that submits must be allowed to register models itself.
            require_permission(principal, Permission.MODELS_WRITE)
        if spec.kind == "batch":
            require_permission(principal, Permission.PREDICT)
        entry = spec.entrypoint.file if spec.entrypoint is not None else None
        checked = _check_files(spec.kind, files or {}, entry)
        document = spec.model_dump(mode="json")
        if spec.dataset is not None:
            try:
                version = self.training.get_version(
                    principal, spec.dataset, spec.dataset_version
                )
            except NotFound:
                raise InvalidField(
                    "dataset", "no such dataset (or version) in this tenant"
                ) from None
            document["dataset"] = version.dataset_id
            document["dataset_version"] = version.version
        if spec.kind == "batch":
            document["version"] = self._model_version(principal, spec)
        job_id = str(uuid7())
        name = spec.name or f"{spec.estimator or spec.model or spec.kind}-{job_id[-8:]}"
        now_us = to_us(self.clock.now())
        with self.store.write(principal.tenant_id) as tx:
            conn = tx.connection
            active = jobs_sql.count_unfinished(conn, principal.tenant_id)
            if active >= MAX_QUEUED_PER_TENANT:
                msg = f"this tenant already has {active} unfinished jobs"
                raise QuotaExceeded(msg, quota="jobs", limit=MAX_QUEUED_PER_TENANT)
            jobs_sql.insert_job(
                conn,
                tenant_id=principal.tenant_id,
                job_id=job_id,
                kind=spec.kind,
                name=name,
                spec=document,
                files=checked,
                priority=spec.priority,
                max_retries=spec.max_retries,
                created_by=principal.user_id or principal.actor().id,
                now_us=now_us,
            )
            event = JobSubmitted(
                job_id=job_id,
                kind=spec.kind,
                name=name,
                priority=spec.priority,
                dataset=document.get("dataset"),
            )
            tx.append([self._event(principal, job_id, event)], expected_version=0)
            record = jobs_sql.find_job(conn, principal.tenant_id, job_id)
        assert record is not None  # noqa: S101 - inserted just now
        return job_info(record)

    def _model_version(self, principal: Principal, spec: TrainingSpec) -> int:
        """The version a batch job scores with: its own, or its alias's now."""
        if self.resolve_model is None:
            msg = "this deployment has no model serving to score with"
            raise InvalidField("kind", msg)
        assert spec.model is not None  # noqa: S101 - parse_spec requires it
        return self.resolve_model(
            principal.tenant_id, spec.model, spec.version, spec.alias
        )

    def _record(self, principal: Principal, job_id: str) -> JobRecord:
        with self.store.read(principal.tenant_id) as tx:
            record = jobs_sql.find_job(tx.connection, principal.tenant_id, job_id)
        if record is None:
            msg = f"no job {job_id[:100]!r} in this tenant"
            raise NotFound(msg)
        return record

    def get_job(self, principal: Principal, job_id: str) -> JobInfo:
        """One job."""
        require_permission(principal, Permission.JOBS_READ)
        return job_info(self._record(principal, job_id))

    def get_batch_job(self, principal: Principal, job_id: str) -> JobInfo:
        """One batch job (another kind of job is not found here)."""
        require_permission(principal, Permission.JOBS_READ)
        record = self._record(principal, job_id)
        if record.kind != "batch":
            msg = f"no batch job {job_id[:100]!r} in this tenant"
            raise NotFound(msg)
        return job_info(record)

    @contextmanager
    def open_batch_output(
        self, principal: Principal, job_id: str
    ) -> Iterator[tuple[JobInfo, IO[bytes]]]:
        """A succeeded batch job and its Parquet output as a stream.

        Raises:
            NotFound: no such batch job in the caller's tenant.
            Conflict: the job has not succeeded (yet).
        """
        job = self.get_batch_job(principal, job_id)
        digest = (job.result or {}).get("output_digest")
        if job.status != "succeeded" or not isinstance(digest, str):
            msg = f"batch job {job_id[:100]!r} has no output: it is {job.status}"
            raise Conflict(msg)
        with self.training.artifacts.open(principal.tenant_id, digest) as stream:
            yield job, stream

    def list_jobs(
        self,
        principal: Principal,
        *,
        status: str | None = None,
        kind: str | None = None,
        after: str | None = None,
        limit: int = 50,
    ) -> Page[JobInfo]:
        """The tenant's jobs (of one ``kind``, when given), newest first."""
        require_permission(principal, Permission.JOBS_READ)
        with self.store.read(principal.tenant_id) as tx:
            records = jobs_sql.list_jobs(
                tx.connection,
                principal.tenant_id,
                status=status,
                kind=kind,
                after=after,
                limit=limit + 1,
            )
        more = len(records) > limit
        items = [job_info(r) for r in records[:limit]]
        return Page(
            items=items, next_after=items[-1].job_id if more and items else None
        )

    def cancel_job(self, principal: Principal, job_id: str) -> JobInfo:
        """Cancel a queued job, or ask a running one to stop (its worker does).

        Cancelling a finished job changes nothing.
        """
        require_permission(principal, Permission.JOBS_WRITE)
        record = self._record(principal, job_id)
        if record.status in FINISHED:
            return job_info(record)
        with self.store.write(principal.tenant_id) as tx:
            jobs_sql.request_cancel(
                tx.connection, principal.tenant_id, job_id, to_us(self.clock.now())
            )
            event = JobCancelRequested(job_id=job_id)
            tx.append([self._event(principal, job_id, event)], expected_version=None)
        return job_info(self._record(principal, job_id))

    def logs(
        self, principal: Principal, job_id: str, *, after: int = 0, limit: int = 1000
    ) -> list[JobLogLine]:
        """The job's stored output lines after ``seq`` ``after``."""
        require_permission(principal, Permission.JOBS_READ)
        self._record(principal, job_id)
        with self.store.read(principal.tenant_id) as tx:
            lines = jobs_sql.read_logs(
                tx.connection, principal.tenant_id, job_id, after=after, limit=limit
            )
        return [
            JobLogLine(
                seq=line.seq,
                at=from_us(line.at_us),
                attempt=line.attempt,
                stream=line.stream,
                line=line.line,
            )
            for line in lines
        ]
