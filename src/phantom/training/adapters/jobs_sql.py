"""The durable job queue in the training database.

* ``submit``, ``cancel``, reads and log appends run in the job's tenant's
  transaction (row-level security applies).
* ``lease`` runs on the system engine: a worker takes the next job before it
  knows whose it is. On PostgreSQL candidates are locked ``FOR UPDATE SKIP
  LOCKED``, so workers never wait on each other; on SQLite every write
  transaction holds the database's write lock. A running job whose lease expired
  (its worker died) is a candidate again.
* ``heartbeat`` and ``finish`` only touch a job still leased to the calling
  worker: a worker that lost its lease can neither extend it nor record an
  outcome, so a job completes exactly once.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final

from sqlalchemy import Connection, Row, and_, func, insert, or_, select, update

from phantom.kernel.db.engine import Database
from phantom.training.adapters.sql_tables import job_logs, jobs

__all__ = [
    "ACTIVE",
    "JobRecord",
    "LogLine",
    "append_logs",
    "count_unfinished",
    "find_job",
    "heartbeat",
    "insert_job",
    "lease",
    "list_jobs",
    "read_logs",
    "release",
    "request_cancel",
]

ACTIVE: Final = ("queued", "running")
_CANDIDATES: Final = 32


@dataclass(frozen=True, slots=True)
class JobRecord:
    """A job as stored."""

    tenant_id: str
    job_id: str
    kind: str
    name: str
    spec: dict[str, Any]
    files: dict[str, str]
    status: str
    priority: int
    attempts: int
    max_retries: int
    not_before_us: int
    lease_owner: str | None
    lease_expires_us: int | None
    cancel_requested: bool
    progress: dict[str, Any]
    result: dict[str, Any] | None
    error: str | None
    created_by: str
    created_at_us: int
    started_at_us: int | None
    finished_at_us: int | None


@dataclass(frozen=True, slots=True)
class LogLine:
    """One stored line of a job's output."""

    seq: int
    at_us: int
    attempt: int
    stream: str
    line: str


def _job(row: Row[Any]) -> JobRecord:
    return JobRecord(
        tenant_id=row.tenant_id,
        job_id=row.job_id,
        kind=row.kind,
        name=row.name,
        spec=json.loads(row.spec),
        files=json.loads(row.files),
        status=row.status,
        priority=row.priority,
        attempts=row.attempts,
        max_retries=row.max_retries,
        not_before_us=row.not_before_us,
        lease_owner=row.lease_owner,
        lease_expires_us=row.lease_expires_us,
        cancel_requested=bool(row.cancel_requested),
        progress=json.loads(row.progress),
        result=None if row.result is None else json.loads(row.result),
        error=row.error,
        created_by=row.created_by,
        created_at_us=row.created_at_us,
        started_at_us=row.started_at_us,
        finished_at_us=row.finished_at_us,
    )


def _dumps(value: object) -> str:
    return json.dumps(value, separators=(",", ":"), sort_keys=True)


def insert_job(  # noqa: PLR0913 - a job's submitted facts, keyword-only
    conn: Connection,
    *,
    tenant_id: str,
    job_id: str,
    kind: str,
    name: str,
    spec: dict[str, Any],
    files: dict[str, str],
    priority: int,
    max_retries: int,
    created_by: str,
    now_us: int,
) -> None:
    """Queue a new job."""
    conn.execute(
        insert(jobs).values(
            tenant_id=tenant_id,
            job_id=job_id,
            kind=kind,
            name=name,
            spec=_dumps(spec),
            files=_dumps(files),
            status="queued",
            priority=priority,
            attempts=0,
            max_retries=max_retries,
            not_before_us=now_us,
            cancel_requested=0,
            progress=_dumps({}),
            created_by=created_by,
            created_at_us=now_us,
        )
    )


def find_job(conn: Connection, tenant_id: str, job_id: str) -> JobRecord | None:
    """The job, or ``None``."""
    row = conn.execute(
        select(jobs).where(jobs.c.tenant_id == tenant_id, jobs.c.job_id == job_id)
    ).first()
    return None if row is None else _job(row)


def list_jobs(  # noqa: PLR0913 - the filters, keyword-only
    conn: Connection,
    tenant_id: str,
    *,
    status: str | None,
    after: str | None,
    limit: int,
    kind: str | None = None,
) -> list[JobRecord]:
    """Jobs newest first (ids are UUIDv7), optionally by status and kind."""
    statement = select(jobs).where(jobs.c.tenant_id == tenant_id)
    if status is not None:
        statement = statement.where(jobs.c.status == status)
    if kind is not None:
        statement = statement.where(jobs.c.kind == kind)
    if after is not None:
        statement = statement.where(jobs.c.job_id < after)
    rows = conn.execute(statement.order_by(jobs.c.job_id.desc()).limit(limit))
    return [_job(row) for row in rows]


def count_unfinished(conn: Connection, tenant_id: str) -> int:
    """How many of the tenant's jobs are queued or running."""
    statement = (
        select(func.count())
        .select_from(jobs)
        .where(jobs.c.tenant_id == tenant_id, jobs.c.status.in_(ACTIVE))
    )
    return int(conn.execute(statement).scalar_one())


def request_cancel(conn: Connection, tenant_id: str, job_id: str, now_us: int) -> None:
    """Cancel a queued job at once; ask a running one's worker to stop it."""
    mine = and_(jobs.c.tenant_id == tenant_id, jobs.c.job_id == job_id)
    conn.execute(
        update(jobs)
        .where(mine, jobs.c.status == "queued")
        .values(status="cancelled", finished_at_us=now_us, cancel_requested=1)
    )
    conn.execute(
        update(jobs).where(mine, jobs.c.status == "running").values(cancel_requested=1)
    )


def _running_per_tenant(conn: Connection, now_us: int) -> dict[str, int]:
    rows = conn.execute(
        select(jobs.c.tenant_id, func.count())
        .where(jobs.c.status == "running", jobs.c.lease_expires_us >= now_us)
        .group_by(jobs.c.tenant_id)
    )
    return {str(tenant): int(count) for tenant, count in rows}


def lease(
    db: Database,
    *,
    worker: str,
    now_us: int,
    lease_us: int,
    max_running_per_tenant: int,
) -> JobRecord | None:
    """Take the next job for ``worker``: highest priority, then oldest.

    Candidates are queued jobs whose retry delay has passed and running jobs whose
    lease expired. A tenant already running ``max_running_per_tenant`` jobs waits.
    """
    due = or_(
        and_(jobs.c.status == "queued", jobs.c.not_before_us <= now_us),
        and_(jobs.c.status == "running", jobs.c.lease_expires_us < now_us),
    )
    statement = (
        select(jobs.c.tenant_id, jobs.c.job_id)
        .where(due)
        .order_by(jobs.c.priority.desc(), jobs.c.created_at_us, jobs.c.job_id)
        .limit(_CANDIDATES)
    )
    if db.dialect == "postgresql":
        statement = statement.with_for_update(skip_locked=True)
    with db.system_engine.connect() as conn, conn.begin():
        candidates = conn.execute(statement).all()
        if not candidates:
            return None
        running = _running_per_tenant(conn, now_us)
        for tenant_id, job_id in candidates:
            if running.get(tenant_id, 0) >= max_running_per_tenant:
                continue
            taken = conn.execute(
                update(jobs)
                .where(jobs.c.tenant_id == tenant_id, jobs.c.job_id == job_id, due)
                .values(
                    status="running",
                    lease_owner=worker,
                    lease_expires_us=now_us + lease_us,
                    attempts=jobs.c.attempts + 1,
                    started_at_us=func.coalesce(jobs.c.started_at_us, now_us),
                )
            )
            if taken.rowcount == 1:
                row = conn.execute(
                    select(jobs).where(
                        jobs.c.tenant_id == tenant_id, jobs.c.job_id == job_id
                    )
                ).one()
                return _job(row)
    return None


def _leased_to(tenant_id: str, job_id: str, worker: str) -> Any:  # noqa: ANN401
    return and_(
        jobs.c.tenant_id == tenant_id,
        jobs.c.job_id == job_id,
        jobs.c.status == "running",
        jobs.c.lease_owner == worker,
    )


def heartbeat(  # noqa: PLR0913 - the lease's facts, keyword-only
    conn: Connection,
    *,
    tenant_id: str,
    job_id: str,
    worker: str,
    now_us: int,
    lease_us: int,
    progress: dict[str, Any] | None = None,
) -> tuple[bool, bool]:
    """Extend the lease; answer (still leased to ``worker``, cancel requested)."""
    values: dict[str, Any] = {"lease_expires_us": now_us + lease_us}
    if progress is not None:
        values["progress"] = _dumps(progress)
    extended = conn.execute(
        update(jobs).where(_leased_to(tenant_id, job_id, worker)).values(values)
    )
    if extended.rowcount != 1:
        return False, False
    cancel = conn.execute(
        select(jobs.c.cancel_requested).where(
            jobs.c.tenant_id == tenant_id, jobs.c.job_id == job_id
        )
    ).scalar_one()
    return True, bool(cancel)


def release(  # noqa: PLR0913 - the outcome's facts, keyword-only
    conn: Connection,
    *,
    tenant_id: str,
    job_id: str,
    worker: str,
    status: str,
    now_us: int,
    result: dict[str, Any] | None = None,
    error: str | None = None,
    retry_at_us: int | None = None,
    progress: dict[str, Any] | None = None,
) -> bool:
    """Record the outcome of ``worker``'s lease; ``False`` when it lost the lease.

    ``status`` ``queued`` (with ``retry_at_us``) puts the job back for a retry.
    """
    values: dict[str, Any] = {
        "status": status,
        "lease_owner": None,
        "lease_expires_us": None,
        "error": None if error is None else error[:10_000],
    }
    if status == "queued":
        values["not_before_us"] = retry_at_us if retry_at_us is not None else now_us
    else:
        values["finished_at_us"] = now_us
        values["result"] = None if result is None else _dumps(result)
    if progress is not None:
        values["progress"] = _dumps(progress)
    done = conn.execute(
        update(jobs).where(_leased_to(tenant_id, job_id, worker)).values(values)
    )
    return done.rowcount == 1


def append_logs(
    conn: Connection,
    tenant_id: str,
    job_id: str,
    lines: Sequence[tuple[int, int, str, str]],
) -> None:
    """Append ``(at_us, attempt, stream, line)`` lines after the job's last one."""
    if not lines:
        return
    last = conn.execute(
        select(func.coalesce(func.max(job_logs.c.seq), 0)).where(
            job_logs.c.tenant_id == tenant_id, job_logs.c.job_id == job_id
        )
    ).scalar_one()
    conn.execute(
        insert(job_logs),
        [
            {
                "tenant_id": tenant_id,
                "job_id": job_id,
                "seq": int(last) + i,
                "at_us": at_us,
                "attempt": attempt,
                "stream": stream,
                "line": line[:10_000],
            }
            for i, (at_us, attempt, stream, line) in enumerate(lines, start=1)
        ],
    )


def read_logs(
    conn: Connection, tenant_id: str, job_id: str, *, after: int, limit: int
) -> list[LogLine]:
    """The job's lines after ``seq`` ``after``, oldest first."""
    rows = conn.execute(
        select(job_logs)
        .where(
            job_logs.c.tenant_id == tenant_id,
            job_logs.c.job_id == job_id,
            job_logs.c.seq > after,
        )
        .order_by(job_logs.c.seq)
        .limit(limit)
    )
    return [
        LogLine(row.seq, row.at_us, row.attempt, row.stream, row.line) for row in rows
    ]
