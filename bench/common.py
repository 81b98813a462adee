"""Helpers shared by the benchmarks: progress, statistics, machine info, results."""

from __future__ import annotations

import argparse
import json
import logging
import os
import platform
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any, TextIO

import psycopg
import structlog
from psycopg import sql
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from sqlalchemy.engine import make_url

__all__ = [
    "DEFAULT_PG_URL",
    "RESULTS_DIR",
    "Reporter",
    "add_run_arguments",
    "check_run_arguments",
    "fmt_int",
    "fmt_ratio",
    "fresh_database",
    "git_revision",
    "library_versions",
    "load_average",
    "machine_info",
    "markdown_table",
    "median",
    "peer_python",
    "pg_url",
    "postgres_info",
    "quiet_logs",
    "utc_now",
    "write_json",
]

RESULTS_DIR = Path(__file__).resolve().parent / "results"
DEFAULT_PG_URL = "postgresql://postgres@127.0.0.1:5432/postgres"


def median(values: Sequence[float]) -> float:
    """The median of ``values`` (the figure every benchmark reports)."""
    return float(statistics.median(values))


def fmt_int(value: float) -> str:
    """``12345.6`` → ``12,346``."""
    return f"{value:,.0f}"


def fmt_ratio(value: float | None) -> str:
    """``0.8765`` → ``0.88x``; ``None`` → ``n/a``."""
    return "n/a" if value is None else f"{value:.2f}x"


def utc_now() -> str:
    """The current UTC time, ISO 8601, to the second."""
    return datetime.now(UTC).replace(microsecond=0).isoformat()


def quiet_logs() -> None:
    """Keep Phantom's structlog info lines off stdout (stdout carries the table)."""
    structlog.configure(
        wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING),
        logger_factory=structlog.PrintLoggerFactory(sys.stderr),
    )


def library_versions(names: Sequence[str]) -> dict[str, str | None]:
    """The installed version of each distribution in ``names`` (``None`` if absent)."""
    versions: dict[str, str | None] = {}
    for name in names:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return versions


def git_revision(root: Path) -> dict[str, object]:
    """The commit measured, and the files under ``src`` that differ from it."""

    def git(*args: str) -> str:
        done = subprocess.run(
            ["git", *args], cwd=root, capture_output=True, text=True, check=True
        )
        return done.stdout.rstrip()

    try:
        commit = git("rev-parse", "HEAD").strip()
        changed = git("status", "--porcelain", "--", "src").splitlines()
    except (OSError, subprocess.CalledProcessError):
        return {"commit": None, "src_changes": None}
    return {"commit": commit, "src_changes": changed}


def _cpu_model() -> str:
    try:
        text = Path("/proc/cpuinfo").read_text(encoding="utf-8")
    except OSError:
        return platform.processor() or "unknown"
    for line in text.splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown"


def _memory_gib() -> float | None:
    try:
        text = Path("/proc/meminfo").read_text(encoding="utf-8")
    except OSError:
        return None
    for line in text.splitlines():
        if line.startswith("MemTotal:"):
            return round(int(line.split()[1]) / 2**20, 1)
    return None


def machine_info(extra: Mapping[str, object] | None = None) -> dict[str, Any]:
    """What the numbers were measured on, plus benchmark-specific ``extra`` facts."""
    affinity = os.sched_getaffinity(0) if hasattr(os, "sched_getaffinity") else None
    info: dict[str, Any] = {
        "hostname": platform.node(),
        "platform": platform.platform(),
        "cpu_model": _cpu_model(),
        "cpu_count": os.cpu_count(),
        "cpus_usable": len(affinity) if affinity is not None else os.cpu_count(),
        "memory_gib": _memory_gib(),
        "python": platform.python_version(),
        "python_implementation": platform.python_implementation(),
    }
    info.update(extra or {})
    return info


def write_json(path: Path, payload: Mapping[str, Any]) -> None:
    """Write ``payload`` as indented JSON (parents created, trailing newline)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(payload, indent=2, sort_keys=False) + "\n", "utf-8")


def markdown_table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """A GitHub Markdown table; columns after the first two are right-aligned."""
    align = ["---" if i < 2 else "---:" for i in range(len(headers))]
    lines = ["| " + " | ".join(headers) + " |", "| " + " | ".join(align) + " |"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


class Reporter:
    """Progress on stderr: a Rich bar on a terminal, one plain line per step otherwise.

    Progress goes to stderr so that stdout carries only the results table.
    """

    def __init__(self, total_steps: int, stream: TextIO | None = None) -> None:
        self._stream = stream or sys.stderr
        self._console = Console(file=self._stream)
        self._rich = self._console.is_terminal
        self._total_steps = total_steps
        self._step = 0
        self._progress: Progress | None = None
        self._task: TaskID | None = None
        self._started = time.perf_counter()

    @contextmanager
    def running(self) -> Iterator[Reporter]:
        """Show the progress display while the benchmark runs."""
        if not self._rich:
            yield self
            return
        self._progress = Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            TimeRemainingColumn(),
            console=self._console,
            transient=True,
        )
        with self._progress:
            yield self
        self._progress = None

    def note(self, message: str) -> None:
        """Print a line (above the bar on a terminal)."""
        if self._progress is not None:
            self._progress.console.print(message, highlight=False, markup=False)
        else:
            print(message, file=self._stream, flush=True)

    def start(self, label: str, total: int) -> None:
        """Begin step ``label`` of ``total`` units."""
        self._step += 1
        description = f"[{self._step}/{self._total_steps}] {label}"
        if self._progress is not None:
            if self._task is not None:
                self._progress.remove_task(self._task)
            self._task = self._progress.add_task(description, total=total)
        else:
            elapsed = time.perf_counter() - self._started
            self.note(f"{description} … (t+{elapsed:.0f}s)")

    def advance(self, completed: int) -> None:
        """Report ``completed`` units of the current step done so far."""
        if self._progress is not None and self._task is not None:
            self._progress.update(self._task, completed=completed)

    def done(self, message: str) -> None:
        """End the current step with a one-line result."""
        self.note(f"[{self._step}/{self._total_steps}]   {message}")


def peer_python(
    name: str, version: str, venvs: Path, requirements: Sequence[str]
) -> Path:
    """A peer's own virtualenv interpreter (``venvs/name-version``), made once.

    Peers that pin packages below ours (pandas, pyarrow...) cannot share
    ``.venv``: ``python -m venv`` and ``pip install requirements`` on the first
    call; a marker file holds the requirements once the install finished, so
    changing them remakes the virtualenv.
    """
    venv = venvs / f"{name}-{version}"
    python = venv / "bin" / "python"
    marker = venv / ".installed"
    wanted = " ".join(requirements) + "\n"
    if python.is_file() and marker.is_file() and marker.read_text("utf-8") == wanted:
        return python
    print(
        f"creating {venv} with {' '.join(requirements)} (once; a minute or more)",
        file=sys.stderr,
        flush=True,
    )
    shutil.rmtree(venv, ignore_errors=True)
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    pip = [str(python), "-m", "pip", "install", "--disable-pip-version-check", "-q"]
    subprocess.run([*pip, *requirements], check=True, timeout=1800)
    marker.write_text(wanted, encoding="utf-8")
    return python


def pg_url(admin_url: str, database: str) -> str:
    """``admin_url`` pointed at ``database``, in the plain ``postgresql://`` form."""
    url = make_url(admin_url).set(drivername="postgresql", database=database)
    return url.render_as_string(hide_password=False)


@contextmanager
def fresh_database(
    backend: str, workdir: Path, admin_url: str, *, name: str = "bench"
) -> Iterator[str]:
    """A new, empty database (SQLite file or PostgreSQL database), dropped after."""
    if backend == "sqlite":
        workdir.mkdir(parents=True, exist_ok=True)
        folder = Path(tempfile.mkdtemp(prefix=f"{name}-", dir=workdir))
        try:
            yield f"sqlite:///{folder / f'{name}.sqlite'}"
        finally:
            shutil.rmtree(folder, ignore_errors=True)
        return
    database = f"phantom_bench_{secrets.token_hex(6)}"
    admin = pg_url(admin_url, make_url(admin_url).database or "postgres")
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(database)))
    try:
        yield pg_url(admin_url, database)
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            drop = sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)")
            conn.execute(drop.format(sql.Identifier(database)))


def postgres_info(admin_url: str) -> dict[str, object]:
    """Server version and durability settings; raises when unreachable."""
    url = pg_url(admin_url, make_url(admin_url).database or "postgres")
    with psycopg.connect(url, connect_timeout=3, autocommit=True) as conn:
        names = ("server_version", "fsync", "synchronous_commit", "wal_sync_method")
        found = {n: conn.execute(f"SHOW {n}").fetchone() for n in names}
    return {f"postgres_{n}": row[0] if row else None for n, row in found.items()}


def load_average() -> list[float] | None:
    """1, 5 and 15-minute load: the benchmarks assume an otherwise idle machine."""
    return [round(x, 2) for x in os.getloadavg()] if hasattr(os, "getloadavg") else None


def add_run_arguments(
    parser: argparse.ArgumentParser, *, unit: str, quick: int, workdir: Path
) -> None:
    """The options every storage benchmark takes (``--<unit>``, ``--repeat``...)."""
    parser.add_argument(f"--{unit}", type=int, default=100_000, help="per sample")
    parser.add_argument("--repeat", type=int, default=3, help="samples per cell")
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument(
        "--quick", action="store_true", help=f"{quick:,} {unit} x 1 repeat (smoke run)"
    )
    parser.add_argument(
        "--postgres-url",
        default=os.environ.get("PHANTOM_BENCH_POSTGRES_URL", DEFAULT_PG_URL),
        help="server to create the scratch databases on",
    )
    parser.add_argument("--workdir", type=Path, default=workdir, help="SQLite files")
    parser.add_argument("--output", type=Path, default=None, help="JSON results file")


def check_run_arguments(  # noqa: PLR0913 - one benchmark's shape, keyword-only
    parser: argparse.ArgumentParser,
    args: argparse.Namespace,
    *,
    unit: str,
    quick: int,
    multiple_of: int,
    stem: str,
) -> argparse.Namespace:
    """Apply ``--quick``, validate sizes and pick the results file."""
    if args.quick:
        setattr(args, unit, quick)
        args.repeat = 1
    size = getattr(args, unit)
    if size < multiple_of or size % multiple_of:
        parser.error(f"--{unit} must be a positive multiple of {multiple_of}")
    if args.repeat < 1:
        parser.error("--repeat must be at least 1")
    if args.output is None:
        args.output = RESULTS_DIR / f"{stem}{'.quick' if args.quick else ''}.json"
    return args
