"""The training worker: leases jobs from the queue and runs them in subprocesses.

For each job it:

1. prepares a private job directory holding ``spec.json`` and the pinned dataset
   version's file (``data.csv`` or ``data.parquet``);
2. starts ``python -m phantom.training.jobs.runner JOB_DIR`` with a clean
   environment (no platform setting, secret or database URL: ``PATH``, a
   ``HOME`` inside the job directory, the locale and ``PHANTOM_EXECUTOR``), in
   its own session, under an address-space limit of the spec's ``memory_mb``;
3. turns the runner's JSON-lines events into runs (one per trial, tagged with the
   job, trial and attempt), their scores into metric points, and the best
   model into an artifact of the best run; stores every stderr line as the job's
   log;
4. heartbeats its lease every third of the lease time (a lost lease kills the
   runner; a cancel request writes the runner's ``cancel`` file, and the runner
   stops after its current batch); kills a runner past the spec's timeout;
5. registers the best model of a succeeded job whose spec names
   ``register_as`` as the next version of that model (see
   :meth:`Worker._register`);
6. records the outcome only if it still holds the lease — so a job re-leased
   after its worker died completes exactly once — and retries a failed job with
   exponential backoff up to the spec's ``max_retries``.

A ``batch`` job runs in the worker itself instead (see :mod:`phantom.training.batch`
and :meth:`Worker._run_batch`): the pinned model version scores the dataset
version chunk by chunk, the lease is renewed (and a cancel request seen) between
chunks, and the Parquet output goes to the tenant's artifact store. A batch job
whose input cannot be scored (a missing feature column, a mistyped value, the
model version gone) fails at once: a retry would fail the same way.
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import os
import resource
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, Final, Literal

import structlog

from phantom.kernel.artifacts import ArtifactStore
from phantom.kernel.clock import Clock
from phantom.kernel.errors import InvalidInput, NotFound, PhantomError
from phantom.kernel.events.envelope import new_envelope
from phantom.kernel.events.sql import to_us
from phantom.kernel.ids import uuid7
from phantom.tenancy.api import Permission, Principal
from phantom.training.adapters import jobs_sql
from phantom.training.adapters.jobs_sql import JobRecord
from phantom.training.adapters.sql import SqlTrainingStore
from phantom.training.batch import DEFAULT_CHUNK_ROWS, LoadScorer, score_file
from phantom.training.events import JobFinished
from phantom.training.service import MetricInput, TrainingService

__all__ = [
    "RegisterRequest",
    "Worker",
    "WorkerSettings",
    "can_hide_paths",
    "job_principal",
]

log = structlog.get_logger(__name__)

_JOB_PERMISSIONS: Final = frozenset(
    str(p)
    for p in (
        Permission.RUNS_READ,
        Permission.RUNS_WRITE,
        Permission.DATASETS_READ,
        Permission.JOBS_READ,
    )
)
_EXIT_CANCELLED: Final = 3
_PR_SET_PDEATHSIG: Final = 1
_CLONE_NEWNS: Final = 0x00020000
_MS_REC: Final = 0x4000
_MS_PRIVATE: Final = 1 << 18
_LOG_BATCH: Final = 200
_KILL_GRACE_S: Final = 10.0
_MEDIA_TYPES: Final = {
    "skops": "application/vnd.skops",
    "lightgbm": "text/plain",
}


def job_principal(record: JobRecord) -> Principal:
    """Who a job acts as: its submitter's tenant, as a service, for training only."""
    return Principal(
        tenant_id=record.tenant_id,
        role="service",
        permissions=_JOB_PERMISSIONS,
        via="internal",
        user_id=record.created_by,
    )


@dataclass(frozen=True, slots=True)
class RegisterRequest:
    """A succeeded job's best model, to register as the next version of ``name``.

    The registry is another context: the composition root binds
    :attr:`WorkerSettings.register_model` to a function that registers the
    request as the job's submitter and returns the new version's number.

    Attributes:
        tenant_id: the job's tenant.
        user_id: who submitted the job (the version's creator).
        job_id: the job.
        name: the model (the spec's ``register_as``).
        digest: the model file's sha256, already in the tenant's artifact store
            (the best run's ``model.<format>`` artifact).
        model_format: the runner's format of the file (``skops``, ``lightgbm``).
        run_id: the best trial's run.
        signature: the input signature, one ``{name, type, ...}`` per feature.
        metrics: the best trial's score under the job's metric.
        params: the best trial's parameters (non-strings as JSON).
        dataset_id: the dataset trained on.
        dataset_version: its pinned version.
        description: the version's description.
    """

    tenant_id: str
    user_id: str
    job_id: str
    name: str
    digest: str
    model_format: str
    run_id: str
    signature: Sequence[Mapping[str, Any]] = ()
    metrics: Mapping[str, float] = field(default_factory=dict)
    params: Mapping[str, str] = field(default_factory=dict)
    dataset_id: str | None = None
    dataset_version: int | None = None
    description: str | None = None


@dataclass(frozen=True, slots=True)
class WorkerSettings:
    """How a worker runs jobs.

    Attributes:
        worker_id: its name in leases (host, pid and a random part by default).
        lease_s: how long a lease lasts without a heartbeat.
        poll_s: how long an idle worker waits before looking again.
        max_running_per_tenant: a tenant's concurrent jobs across all workers.
        executor: ``PHANTOM_EXECUTOR`` for the runner (``local``, ``ray``...).
        python: the interpreter that runs the runner.
        api_url: where an entry-point job's SDK reaches the API.
        issue_token: signs an entry-point job's short-lived API token: (user id,
            tenant id, seconds) -> token; scoped to the job's permissions.
        hidden_paths: directories runners must not see (see
            :func:`can_hide_paths`): the platform's home, artifacts, databases.
        register_model: registers a job's best model in the model registry and
            returns the version's number (``None``: no registry, and a job
            naming ``register_as`` says so in its result).
        load_scorer: loads a model version for a ``batch`` job (``None``: no
            serving here, and batch jobs fail saying so).
        batch_rows: rows a batch job scores per chunk (at most 10,000, the
            most one scoring call takes).
    """

    worker_id: str = field(
        default_factory=lambda: (
            f"{socket.gethostname()}:{os.getpid()}:{uuid7().hex[-6:]}"
        )
    )
    lease_s: float = 30.0
    poll_s: float = 1.0
    max_running_per_tenant: int = 2
    executor: str = "local"
    python: str = sys.executable
    hidden_paths: tuple[Path, ...] = ()
    api_url: str | None = None
    issue_token: Callable[[str, str, float], str] | None = None
    register_model: Callable[[RegisterRequest], int] | None = None
    load_scorer: LoadScorer | None = None
    batch_rows: int = DEFAULT_CHUNK_ROWS


def _clean_env(job_dir: Path, executor: str) -> dict[str, str]:
    return {
        "PATH": os.environ.get("PATH", os.defpath),
        "HOME": str(job_dir),
        "TMPDIR": str(job_dir),
        "LANG": "C.UTF-8",
        "PYTHONNOUSERSITE": "1",
        "PYTHONUNBUFFERED": "1",
        "PHANTOM_EXECUTOR": executor,
    }


def _die_with_parent() -> None:
    """Linux: the runner gets SIGKILL when its worker dies (even by SIGKILL)."""
    if not sys.platform.startswith("linux"):
        return
    with contextlib.suppress(OSError, AttributeError):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)


def can_hide_paths() -> bool:
    """Whether runners get a private mount namespace hiding the platform's files.

    Linux, as root (``CAP_SYS_ADMIN``): each runner starts in a new mount
    namespace where ``WorkerSettings.hidden_paths`` (``PHANTOM_HOME``, the
    artifact store, database directories) are covered by empty, unreadable
    tmpfs mounts. Anywhere else runners share the worker's view of the files,
    and only the clean environment and the private job directory separate them
    from the platform: run workers as root or in a container for isolation.
    """
    return sys.platform.startswith("linux") and os.geteuid() == 0


def _hide(paths: tuple[str, ...]) -> None:
    """In the child: a private mount namespace with ``paths`` covered."""
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.unshare(_CLONE_NEWNS) != 0:
        raise OSError(ctypes.get_errno(), "unshare(CLONE_NEWNS) failed")
    if libc.mount(b"none", b"/", None, _MS_REC | _MS_PRIVATE, None) != 0:
        raise OSError(ctypes.get_errno(), "making / private failed")
    for path in paths:
        target = path.encode()
        if libc.mount(b"tmpfs", target, b"tmpfs", 0, b"size=4k,mode=000") != 0:
            raise OSError(ctypes.get_errno(), f"hiding {path} failed")


def _limits(memory_mb: int, hidden: tuple[str, ...]) -> Callable[[], None]:
    def apply() -> None:  # runs in the child between fork and exec
        limit = memory_mb * 1024 * 1024
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
        _die_with_parent()
        if hidden:
            _hide(hidden)

    return apply


class _Logs:
    """Buffers a job's output lines and stores them in batches."""

    def __init__(
        self, store: SqlTrainingStore, record: JobRecord, clock: Clock
    ) -> None:
        self._store, self._record, self._clock = store, record, clock
        self._lines: list[tuple[int, int, str, str]] = []
        self._lock = threading.Lock()

    def add(self, stream: str, line: str) -> None:
        with self._lock:
            self._lines.append(
                (
                    to_us(self._clock.now()),
                    self._record.attempts,
                    stream,
                    line.rstrip("\n"),
                )
            )
            full = len(self._lines) >= _LOG_BATCH
        if full:
            self.flush()

    def flush(self) -> None:
        with self._lock:
            lines, self._lines = self._lines, []
        if not lines:
            return
        tenant, job = self._record.tenant_id, self._record.job_id
        with self._store.write(tenant) as tx:
            jobs_sql.append_logs(tx.connection, tenant, job, lines)


@dataclass
class _Run:
    """One job's live state while its runner runs."""

    record: JobRecord
    principal: Principal
    job_dir: Path
    progress: dict[str, Any] = field(default_factory=dict)
    trial_runs: dict[int, str] = field(default_factory=dict)
    finished: dict[str, Any] | None = None
    result: dict[str, Any] | None = None
    failure: str | None = None
    permanent: bool = False
    cancelled: bool = False
    lost: bool = False
    timed_out: bool = False
    abandoned: bool = False
    exit_code: int | None = None


class Worker:
    """Runs training jobs (see the module docstring)."""

    def __init__(
        self,
        *,
        service: TrainingService,
        store: SqlTrainingStore,
        artifacts: ArtifactStore,
        clock: Clock,
        settings: WorkerSettings | None = None,
    ) -> None:
        self.service = service
        self.store = store
        self.artifacts = artifacts
        self.clock = clock
        self.settings = settings or WorkerSettings()
        self._stop = threading.Event()

    # -- the loop ------------------------------------------------------------

    def run(self, stop: threading.Event) -> None:
        """Take and run jobs until ``stop`` is set.

        A job running when ``stop`` is set is stopped and put back in the queue
        at once (its attempt counts), so shutting down never waits for a search.
        """
        self._stop = stop
        log.info("worker.started", worker=self.settings.worker_id)
        while not stop.is_set():
            try:
                ran = self.run_once()
            except Exception:
                log.exception("worker.error")
                ran = False
            if not ran:
                stop.wait(self.settings.poll_s)
        log.info("worker.stopped", worker=self.settings.worker_id)

    def run_once(self) -> bool:
        """Lease and run one job; ``False`` when none was due."""
        now_us = to_us(self.clock.now())
        record = jobs_sql.lease(
            self.store.db,
            worker=self.settings.worker_id,
            now_us=now_us,
            lease_us=int(self.settings.lease_s * 1_000_000),
            max_running_per_tenant=self.settings.max_running_per_tenant,
        )
        if record is None:
            return False
        log.info(
            "worker.job.leased",
            job_id=record.job_id,
            tenant_id=record.tenant_id,
            attempt=record.attempts,
        )
        self.run_job(record)
        return True

    # -- one job -------------------------------------------------------------

    def run_job(self, record: JobRecord) -> None:
        """Run a leased job to its outcome."""
        job_dir = Path(tempfile.mkdtemp(prefix="phantom-job-"))
        job_dir.chmod(0o700)
        state = _Run(record, job_principal(record), job_dir)
        logs = _Logs(self.store, record, self.clock)
        try:
            try:
                if record.cancel_requested:
                    state.cancelled = True
                elif record.kind == "batch":
                    self._prepare(state)
                    self._run_batch(state, logs)
                else:
                    self._kill_stale_trials(state)
                    self._prepare(state)
                    self._execute(state, logs)
            except PhantomError as exc:
                state.failure = exc.detail
            except Exception as exc:
                log.exception("worker.job.crashed", job_id=record.job_id)
                state.failure = f"the worker failed: {type(exc).__name__}"
            finally:
                with contextlib.suppress(Exception):
                    logs.flush()
            self._settle(state)  # before the job directory (and its model) goes
        finally:
            shutil.rmtree(job_dir, ignore_errors=True)

    def _kill_stale_trials(self, state: _Run) -> None:
        """Runs of an earlier attempt still marked running were cut off: killed."""
        if state.record.attempts <= 1:
            return
        tag = f"tags.`phantom.job_id` = '{state.record.job_id}'"
        page = self.service.search_runs(
            state.principal, status="running", filter_text=tag, limit=500
        )
        for run in page.items:
            self.service.end_run(state.principal, run.run_id, "killed")

    def _prepare(self, state: _Run) -> None:
        spec = state.record.spec
        if spec.get("dataset") is not None:
            with (
                self.service.open_version(
                    state.principal, spec["dataset"], spec["dataset_version"]
                ) as (info, stream),
                (state.job_dir / f"data.{info.format}").open("wb") as out,
            ):
                shutil.copyfileobj(stream, out, 1024 * 1024)
        for name, content in state.record.files.items():  # names checked at submit
            target = (state.job_dir / name).resolve()
            if not target.is_relative_to(state.job_dir.resolve()):
                msg = f"the job file {name!r} would leave the job directory"
                raise PhantomError(msg)
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(content, encoding="utf-8")
        (state.job_dir / "spec.json").write_text(json.dumps(spec), encoding="utf-8")
        if state.record.kind == "batch":
            state.progress = {"rows_done": 0, "rows_total": None}
            return
        state.progress = {
            "trials_done": 0,
            "trials_total": (spec.get("search") or {}).get("n_trials"),
            "best_score": None,
            "best_run_id": None,
            "metric": spec.get("metric"),
        }

    def _command(self, state: _Run) -> tuple[list[str], dict[str, str]]:
        """The runner's command line and environment (an entry point's: the SDK's)."""
        env = _clean_env(state.job_dir, self.settings.executor)
        spec, record = state.record.spec, state.record
        if record.kind != "entrypoint":
            runner = "phantom.training.jobs.runner"
            return [self.settings.python, "-m", runner, str(state.job_dir)], env
        if self.settings.api_url is None or self.settings.issue_token is None:
            msg = "this worker cannot give entry-point jobs API access (no API URL)"
            raise PhantomError(msg)
        timeout_s = float((spec.get("resources") or {}).get("timeout_s", 3600))
        env |= {
            "PHANTOM_URL": self.settings.api_url,
            "PHANTOM_API_KEY": self.settings.issue_token(
                record.created_by, record.tenant_id, timeout_s + 300
            ),
            "PHANTOM_JOB_ID": record.job_id,
            "PHANTOM_EXPERIMENT": str(spec.get("experiment") or "default"),
        }
        data = [p for p in state.job_dir.glob("data.*") if p.is_file()]
        if data:
            env["PHANTOM_DATASET_FILE"] = str(data[0])
        entry = spec["entrypoint"]
        args = [str(a) for a in entry.get("args") or []]
        return [self.settings.python, str(state.job_dir / entry["file"]), *args], env

    def _execute(self, state: _Run, logs: _Logs) -> None:
        spec = state.record.spec
        resources = spec.get("resources") or {}
        hidden = self._hidden()
        command, env = self._command(state)
        events = (
            state.record.kind != "entrypoint"
        )  # a tenant's script speaks no protocol
        process = subprocess.Popen(  # noqa: S603 - our interpreter; the file is the job's
            command,
            cwd=state.job_dir,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            encoding="utf-8",
            errors="replace",
            start_new_session=True,
            preexec_fn=_limits(int(resources.get("memory_mb", 2048)), hidden),  # noqa: PLW1509 - setrlimit, prctl, mounts only
        )
        with process:  # closes the pipes whatever happens
            done = threading.Event()
            assert process.stderr is not None  # noqa: S101 - piped above
            assert process.stdout is not None  # noqa: S101 - piped above
            readers = [
                threading.Thread(
                    target=self._drain, args=(process.stderr, logs), daemon=True
                ),
                threading.Thread(
                    target=self._watch,
                    args=(
                        state,
                        process,
                        done,
                        float(resources.get("timeout_s", 3600)),
                    ),
                    daemon=True,
                ),
            ]
            for thread in readers:
                thread.start()
            try:
                for line in process.stdout:
                    logs.add("event" if events else "stdout", line)
                    if events:
                        self._on_event(state, line)
                code = process.wait()
                state.exit_code = code
            finally:
                done.set()
                if process.poll() is None:
                    _kill(process)
                for thread in readers:
                    thread.join(timeout=5)
        if state.lost or state.timed_out or state.abandoned:
            return
        if code == _EXIT_CANCELLED:
            state.cancelled = True
        elif code != 0 and state.failure is None:
            state.failure = f"the runner exited with status {code}"
            if code < 0:
                state.failure += f" (signal {-code}: out of memory or killed?)"

    # -- a batch job ---------------------------------------------------------

    def _run_batch(self, state: _Run, logs: _Logs) -> None:
        """Score the dataset with the pinned model version; store the Parquet."""
        record, spec = state.record, state.record.spec
        load = self.settings.load_scorer
        if load is None:
            state.failure = "this worker cannot run batch jobs (no serving context)"
            return
        data = next(p for p in state.job_dir.glob("data.*") if p.is_file())
        fmt: Literal["csv", "parquet"] = (
            "parquet" if data.suffix == ".parquet" else "csv"
        )
        timeout_s = float((spec.get("resources") or {}).get("timeout_s", 3600))
        try:
            scorer = load(record.tenant_id, str(spec["model"]), int(spec["version"]))
        except (InvalidInput, NotFound) as exc:
            state.failure, state.permanent = exc.detail, True
            return
        logs.add(
            "stdout",
            f"scoring {data.name} with {scorer.model} v{scorer.version} "
            f"({len(scorer.features)} features)",
        )
        out = state.job_dir / "predictions.parquet"
        beat = _Beat(self, state, time.monotonic() + timeout_s)
        try:
            output = score_file(
                data,
                fmt,
                scorer,
                out,
                chunk_rows=self.settings.batch_rows,
                on_chunk=beat,
            )
        except InvalidInput as exc:
            state.failure, state.permanent = exc.detail, True
            logs.add("stderr", exc.detail)
            return
        if output.stopped:
            return
        with out.open("rb") as handle:
            stored = self.artifacts.put(
                record.tenant_id,
                handle,
                quota_bytes=self.service.limits.storage_quota_bytes,
            )
        logs.add("stdout", f"wrote {output.rows} rows ({stored.size} bytes of Parquet)")
        state.result = {
            "format": "parquet",
            "output_digest": stored.digest,
            "output_bytes": stored.size,
            "rows": output.rows,
            "columns": output.columns,
            "model": scorer.model,
            "version": scorer.version,
            "classes": None if scorer.classes is None else list(scorer.classes),
        }

    def _hidden(self) -> tuple[str, ...]:
        if not can_hide_paths():
            return ()
        found = {
            resolved
            for resolved in (Path(p).resolve() for p in self.settings.hidden_paths)
            if resolved.is_dir() and resolved != Path("/")
        }
        # covering a directory covers what is inside it (which then is gone)
        outermost = [
            p for p in found if not any(p.is_relative_to(o) and p != o for o in found)
        ]
        return tuple(sorted(str(p) for p in outermost))

    @staticmethod
    def _drain(stream: IO[str], logs: _Logs) -> None:
        for line in stream:
            logs.add("stderr", line)

    def _watch(
        self,
        state: _Run,
        process: subprocess.Popen[str],
        done: threading.Event,
        timeout_s: float,
    ) -> None:
        """Heartbeat, honour cancel requests, enforce the timeout."""
        deadline = time.monotonic() + timeout_s
        interval = self.settings.lease_s / 3
        next_beat = time.monotonic() + interval
        record = state.record
        while not done.wait(min(interval, 1.0)):
            if self._stop.is_set():
                state.abandoned = True
                _kill(process)
                return
            if time.monotonic() > deadline:
                state.timed_out = True
                state.failure = f"the job ran past its timeout of {timeout_s:g} s"
                _kill(process)
                return
            if time.monotonic() < next_beat:
                continue
            next_beat = time.monotonic() + interval
            with self.store.write(record.tenant_id) as tx:
                mine, cancel = jobs_sql.heartbeat(
                    tx.connection,
                    tenant_id=record.tenant_id,
                    job_id=record.job_id,
                    worker=self.settings.worker_id,
                    now_us=to_us(self.clock.now()),
                    lease_us=int(self.settings.lease_s * 1_000_000),
                    progress=state.progress,
                )
            if not mine:
                log.warning("worker.job.lease_lost", job_id=record.job_id)
                state.lost = True
                _kill(process)
                return
            if cancel:
                (state.job_dir / "cancel").touch()

    # -- the runner's events -------------------------------------------------

    def _on_event(self, state: _Run, line: str) -> None:
        try:
            event = json.loads(line)
        except json.JSONDecodeError:
            return
        if not isinstance(event, dict):
            return
        kind = event.get("event")
        if kind == "trial":
            self._trial(state, event)
        elif kind == "best":
            number = int(event.get("number", -1))
            state.progress["best_score"] = event.get("score")
            state.progress["best_run_id"] = state.trial_runs.get(number)
        elif kind == "finished":
            state.finished = event
        elif kind == "failed":
            state.failure = str(event.get("error", "the job failed"))[:2000]

    def _trial(self, state: _Run, event: dict[str, Any]) -> None:
        spec, record = state.record.spec, state.record
        number = int(event.get("number", len(state.trial_runs)))
        params = {
            str(k): json.dumps(v) if not isinstance(v, str) else v
            for k, v in (event.get("params") or {}).items()
        }
        run = self.service.start_run(
            state.principal,
            experiment=spec.get("experiment") or "default",
            name=f"{record.name} #{number}",
            params=params,
            tags={
                "phantom.job_id": record.job_id,
                "phantom.trial": str(number),
                "phantom.attempt": str(record.attempts),
                "phantom.state": str(event.get("state")),
            },
            dataset=spec.get("dataset"),
            dataset_version=spec.get("dataset_version"),
            job_id=record.job_id,
        )
        state.trial_runs[number] = run.run_id
        metric = str(spec.get("metric") or "score")
        points = []
        if event.get("score") is not None:
            points.append(MetricInput(key=metric, value=float(event["score"])))
        for fold, score in enumerate(event.get("fold_scores") or []):
            if score is not None:
                points.append(
                    MetricInput(key=f"{metric}.fold", value=float(score), step=fold)
                )
        if event.get("duration_s") is not None:
            points.append(
                MetricInput(key="duration_s", value=float(event["duration_s"]))
            )
        if points:
            self.service.log_metrics(state.principal, run.run_id, points)
        if event.get("error"):
            self.service.set_tags(
                state.principal,
                run.run_id,
                {"phantom.error": str(event["error"])[:8000]},
            )
        status = "finished" if event.get("state") == "complete" else "failed"
        self.service.end_run(state.principal, run.run_id, status)
        state.progress["trials_done"] = len(state.trial_runs)

    # -- the outcome ---------------------------------------------------------

    def _result(self, state: _Run) -> dict[str, Any]:
        finished = state.finished or {}
        best_run = state.trial_runs.get(int(finished.get("best_number", -1)))
        model_file = state.job_dir / str(finished.get("model_file", ""))
        return {
            "best_run_id": best_run,
            "best_params": finished.get("best_params"),
            "best_score": finished.get("best_score"),
            "metric": finished.get("metric"),
            "direction": finished.get("direction"),
            "model_format": finished.get("model_format"),
            "model_digest": finished.get("model_sha256"),
            "trusted_types": finished.get("trusted_types"),
            "signature": finished.get("signature"),
            "classes": finished.get("classes"),
            "n_rows": finished.get("n_rows"),
            "n_trials": finished.get("n_trials"),
            "n_failed": finished.get("n_failed"),
            "register_as": state.record.spec.get("register_as"),
            "_model_path": str(model_file),
        }

    def _store_model(self, state: _Run, result: dict[str, Any]) -> None:
        path = Path(result.pop("_model_path"))
        run_id = result["best_run_id"]
        if run_id is None or not path.is_file():
            msg = "the runner reported no model file for its best trial"
            raise PhantomError(msg)
        fmt = str(result["model_format"])
        with path.open("rb") as handle:
            stored = self.service.log_artifact(
                state.principal,
                run_id,
                f"model.{fmt}",
                handle,
                media_type=_MEDIA_TYPES.get(fmt, "application/octet-stream"),
            )
        if stored.digest != result["model_digest"]:
            msg = "the stored model's digest differs from the runner's"
            raise PhantomError(msg)
        self.service.set_tags(
            state.principal,
            run_id,
            {"phantom.best": "true", "phantom.model_format": fmt},
        )

    def _settle(self, state: _Run) -> None:
        record = state.record
        if state.lost:
            return  # another worker holds the job now
        result: dict[str, Any] | None = None
        if record.kind == "batch":
            if state.failure is None and not state.cancelled:
                result = state.result
        elif record.kind == "entrypoint" and state.exit_code == 0:
            result = {"exit_code": 0}
        elif (
            state.finished is not None and state.failure is None and not state.cancelled
        ):
            try:
                result = self._result(state)
                self._store_model(state, result)
            except PhantomError as exc:
                state.failure, result = exc.detail, None
        now_us = to_us(self.clock.now())
        status, retry_at = _outcome(state, result, now_us)
        if status == "succeeded" and not self._register_if_asked(state, result):
            return  # another worker holds the job now
        with self.store.write(record.tenant_id) as tx:
            released = jobs_sql.release(
                tx.connection,
                tenant_id=record.tenant_id,
                job_id=record.job_id,
                worker=self.settings.worker_id,
                status=status,
                now_us=now_us,
                result=result,
                error=state.failure,
                retry_at_us=retry_at,
                progress=state.progress or None,
            )
            if released and status != "queued":
                event = JobFinished(
                    job_id=record.job_id,
                    status=status,
                    attempts=record.attempts,
                    best_run_id=None if result is None else result.get("best_run_id"),
                    model_digest=None if result is None else result.get("model_digest"),
                    error=state.failure,
                )
                tx.append(
                    [
                        new_envelope(
                            event.event_type(),
                            tenant_id=record.tenant_id,
                            stream_id=f"job-{record.job_id}",
                            data=event.to_data(),
                            actor=state.principal.actor(),
                            occurred_at=self.clock.now(),
                        )
                    ],
                    expected_version=None,
                )
        log.info(
            "worker.job.settled",
            job_id=record.job_id,
            status=status,
            attempt=record.attempts,
            recorded=released,
        )

    def _register_if_asked(self, state: _Run, result: dict[str, Any] | None) -> bool:
        """Register a succeeded job's model if its spec asks; ``False``: lease lost."""
        if result is None or not result.get("register_as"):
            return True
        if not self._still_mine(state):
            log.warning("worker.job.lease_lost", job_id=state.record.job_id)
            return False
        self._register(state, result)
        return True

    def _still_mine(self, state: _Run) -> bool:
        """Renew the lease; ``False`` when another worker holds the job now."""
        mine, _ = self._beat(state)
        return mine

    def _beat(self, state: _Run) -> tuple[bool, bool]:
        """Renew the lease and write the progress: (still mine, cancel requested)."""
        record = state.record
        with self.store.write(record.tenant_id) as tx:
            mine, cancel = jobs_sql.heartbeat(
                tx.connection,
                tenant_id=record.tenant_id,
                job_id=record.job_id,
                worker=self.settings.worker_id,
                now_us=to_us(self.clock.now()),
                lease_us=int(self.settings.lease_s * 1_000_000),
                progress=state.progress,
            )
        return bool(mine), bool(cancel)

    def _register(self, state: _Run, result: dict[str, Any]) -> None:
        """Register the best model as the next version of ``register_as``.

        On success the result gets ``registered_model: {name, version}``. A
        failed registration (no registry, a refused name or file, the registry
        down) does not fail the job: the training itself succeeded and its model
        is kept as the best run's ``model.<format>`` artifact, so a retry would
        only spend the search again. The result carries ``registration_error``
        instead, and the model can be registered by hand: the registry's
        ``from-artifact`` route (``client.models.register_artifact``) with the
        result's ``model_digest`` and ``best_run_id``, or ``phantom models
        register`` with the downloaded file.

        It runs just after the lease was renewed and before the outcome is
        recorded, so a job that succeeds is never seen without its version.
        """
        record, name = state.record, str(result["register_as"])
        spec = record.spec
        metric = str(result.get("metric") or spec.get("metric") or "score")
        score = result.get("best_score")
        params = {
            str(k): v if isinstance(v, str) else json.dumps(v)
            for k, v in (result.get("best_params") or {}).items()
        }
        request = RegisterRequest(
            tenant_id=record.tenant_id,
            user_id=record.created_by,
            job_id=record.job_id,
            name=name,
            digest=str(result["model_digest"]),
            model_format=str(result["model_format"]),
            run_id=str(result["best_run_id"]),
            signature=list(result.get("signature") or []),
            metrics={} if score is None else {metric: float(score)},
            params=params,
            dataset_id=spec.get("dataset"),
            dataset_version=spec.get("dataset_version"),
            description=f"The best model of training job {record.job_id}.",
        )
        register = self.settings.register_model
        reason: str | None = None
        version: int | None = None
        try:
            if register is None:
                reason = "this deployment has no model registry"
            else:
                version = register(request)
        except PhantomError as exc:
            reason = exc.detail
        except Exception as exc:
            log.exception("worker.job.registry_crashed", job_id=record.job_id)
            reason = f"the registry failed: {type(exc).__name__}"
        if version is None:
            reason = reason or "the registry returned no version"
            log.warning(
                "worker.job.registration_failed",
                job_id=record.job_id,
                model=name,
                error=reason,
            )
            result["registration_error"] = reason[:2000]
            return
        result["registered_model"] = {"name": name, "version": version}
        log.info(
            "worker.job.registered",
            job_id=record.job_id,
            model=name,
            version=version,
            run_id=request.run_id,
        )


def _outcome(
    state: _Run, result: dict[str, Any] | None, now_us: int
) -> tuple[str, int | None]:
    """The job's next status, and when a queued job may run again."""
    record = state.record
    if state.abandoned:
        return "queued", now_us  # the worker is shutting down
    if state.cancelled:
        return "cancelled", None
    if state.failure is None and result is not None:
        return "succeeded", None
    if state.permanent:
        return "failed", None
    if record.attempts <= record.max_retries and not state.timed_out:
        backoff_s = min(5 * 2 ** (record.attempts - 1), 300)
        return "queued", now_us + int(backoff_s * 1_000_000)
    return "failed", None


class _Beat:
    """A batch job's ``on_chunk``: progress, heartbeats, stop, cancel, timeout.

    The lease is renewed (and the progress written) at most once a second, and
    always before a long pause could let it lapse; a lost lease, a cancel
    request, the worker stopping or the timeout passing stops the scoring.
    """

    def __init__(self, worker: Worker, state: _Run, deadline: float) -> None:
        self.worker, self.state, self.deadline = worker, state, deadline
        self.interval = min(1.0, worker.settings.lease_s / 3)
        self.last = 0.0

    def __call__(self, done: int, total: int) -> bool:
        state = self.state
        state.progress.update(rows_done=done, rows_total=total)
        if self.worker._stop.is_set():  # noqa: SLF001 - the worker's own helper
            state.abandoned = True
            return False
        if time.monotonic() > self.deadline:
            timeout_s = (state.record.spec.get("resources") or {}).get("timeout_s")
            state.timed_out = True
            state.failure = f"the job ran past its timeout of {timeout_s} s"
            return False
        if time.monotonic() - self.last < self.interval:
            return True
        self.last = time.monotonic()
        mine, cancel = self.worker._beat(state)  # noqa: SLF001
        if not mine:
            log.warning("worker.job.lease_lost", job_id=state.record.job_id)
            state.lost = True
            return False
        if cancel:
            state.cancelled = True
            return False
        return True


def _kill(process: subprocess.Popen[str]) -> None:
    """Stop the runner's whole process group: SIGTERM, then SIGKILL."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=_KILL_GRACE_S)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait()
