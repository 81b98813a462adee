"""Audit chain throughput: appends/s and verification time (DESIGN.md §9, issue 4).

Appends ``--entries`` audit entries to one tenant's chain, 1, 100 and 1,000 per
transaction, on SQLite and PostgreSQL, each sample on a fresh database:

* ``phantom``: ``SqlAuditLog.append`` in a tenant transaction, as the recorder and
  the ``audit-trail`` consumer append (advisory lock on PostgreSQL, head read,
  sealing: canonical JSON + sha256 per entry, then the insert, as the app role
  under row-level security);
* ``raw``: the very same rows (sealed before the clock starts) through the DB-API
  driver, one ``executemany`` per transaction, into the ``audit_entries`` table the
  migration creates (same columns, keys, indexes and triggers), as the database
  owner: the floor, with no product code on the path.

No library in the bench extra keeps a hash-chained audit log, so there is no peer
to compare with; the raw INSERT floor of the same rows, measured in the same run,
is the reference. Verification is then timed over the chain of the 1,000-per-
transaction sample (a checkpoint signed at its head): ``SqlAuditLog.verify`` streams
and re-hashes every entry; its floor is the driver reading the same rows in order.

Run ``python -m bench.audit --help``; ``--quick`` is a smoke run.
"""

from __future__ import annotations

import argparse
import sqlite3
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Final, Literal

import psycopg
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy.engine import make_url

from bench.common import (
    Reporter,
    add_run_arguments,
    check_run_arguments,
    fmt_int,
    fmt_ratio,
    fresh_database,
    git_revision,
    library_versions,
    load_average,
    machine_info,
    markdown_table,
    median,
    pg_url,
    postgres_info,
    quiet_logs,
    utc_now,
    write_json,
)
from phantom.audit.adapters.sql import MIGRATIONS, SqlAuditLog
from phantom.audit.domain import (
    ActorRef,
    ChainHead,
    EntryDraft,
    ResourceRef,
    genesis_hash,
    seal,
)
from phantom.kernel.db.engine import Database, open_database
from phantom.kernel.db.migrate import migrate
from phantom.kernel.db.tenant import tenant_transaction
from phantom.kernel.ids import uuid7

__all__ = ["main"]

Backend = Literal["sqlite", "postgresql"]
Impl = Literal["phantom", "raw"]

BACKENDS: Final[tuple[Backend, ...]] = ("sqlite", "postgresql")
IMPLS: Final[tuple[Impl, ...]] = ("phantom", "raw")
SHAPES: Final = (1, 100, 1000)
WORKDIR: Final = Path(__file__).resolve().parent / ".work"
TENANT: Final = "t-bench"
T0: Final = datetime(2026, 4, 1, 9, 0, tzinfo=UTC)
VERIFY_TARGET_S: Final = 5.0
ACTIONS: Final = ("registry.ModelVersionRegistered", "auth.denied", "users.create")
COLUMNS: Final = (
    "tenant_id, seq, id, occurred_at_us, actor_kind, actor_id, actor_via, action,"
    " resource_type, resource_id, result, details, prev_hash, hash"
)


def draft(n: int) -> EntryDraft:
    """Entry ``n``: what the audit-trail consumer writes for one domain event."""
    return EntryDraft(
        action=ACTIONS[n % len(ACTIONS)],
        actor=ActorRef("user", f"u-{n % 17}", "api_key"),
        occurred_at=T0 + timedelta(milliseconds=n),
        resource=ResourceRef("stream", f"model-{n % 1000}"),
        details={
            "event_id": str(uuid7()),
            "stream_version": n % 50 + 1,
            "schema_version": 1,
            "correlation_id": f"req-{n}",
            "causation_id": None,
        },
    )


# --- databases -----------------------------------------------------------------------


@contextmanager
def audit_database(url: str) -> Iterator[Database]:
    """The audit context's database at ``url``, migrated (untimed) and warm."""
    db = open_database("audit", url)
    try:
        migrate(db, MIGRATIONS)
        db.ping()
        yield db
    finally:
        db.dispose()


# --- the writers ---------------------------------------------------------------------


def append_phantom(db: Database, entries: int, size: int, reporter: Reporter) -> None:
    """Fresh drafts per transaction, appended as the product appends them."""
    log = SqlAuditLog(db.dialect, db.schema)
    step = max(1, entries // size // 200)
    for tx in range(entries // size):
        drafts = [draft(tx * size + i) for i in range(size)]
        with tenant_transaction(db, TENANT, write=True) as conn:
            log.append(conn, TENANT, drafts)
        if tx % step == 0:
            reporter.advance(tx * size)


def sealed_rows(entries: int, *, sqlite: bool) -> list[tuple[object, ...]]:
    """The chain's rows, sealed before the clock starts."""
    chain = seal(
        TENANT, ChainHead(0, genesis_hash(TENANT)), [draft(n) for n in range(entries)]
    )
    log = SqlAuditLog("sqlite" if sqlite else "postgresql")
    return [log.to_row(entry) for entry in chain]  # exactly the product's rows


def append_raw(
    backend: Backend, db: Database, rows: list[tuple[object, ...]], size: int
) -> float:
    """Insert ``rows`` ``size`` per transaction through the driver; return seconds."""
    marks = ", ".join(["?" if backend == "sqlite" else "%s"] * 14)
    insert = f"INSERT INTO audit_entries ({COLUMNS}) VALUES ({marks})"
    batches = [rows[i : i + size] for i in range(0, len(rows), size)]
    if backend == "sqlite":
        conn = sqlite3.connect(make_url(db.url).database or "", isolation_level=None)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=FULL")
        try:
            started = time.perf_counter()
            for batch in batches:
                conn.execute("BEGIN IMMEDIATE")
                conn.executemany(insert, batch)
                conn.execute("COMMIT")
            return time.perf_counter() - started
        finally:
            conn.close()
    url = pg_url(db.url, make_url(db.url).database or "postgres")
    with psycopg.connect(url, options=f"-csearch_path={db.schema}") as pg:
        started = time.perf_counter()
        for batch in batches:
            with pg.cursor() as cur:
                cur.executemany(insert, batch)
            pg.commit()
        return time.perf_counter() - started


def stored_count(db: Database) -> int:
    """How many entries the chain holds (checked after the timed loop)."""
    with db.owner_engine.connect() as conn:
        found = conn.exec_driver_sql("SELECT count(*) FROM audit_entries").scalar()
    return int(found or 0)


# --- verification --------------------------------------------------------------------


def verify_seconds(db: Database, entries: int) -> tuple[float, float]:
    """Seconds to verify the chain, and to read the same rows through the driver."""
    log = SqlAuditLog(db.dialect, db.schema)
    key = Ed25519PrivateKey.generate()
    with tenant_transaction(db, TENANT, write=True) as conn:
        log.checkpoint(conn, TENANT, key, datetime.now(UTC))
    started = time.perf_counter()
    with tenant_transaction(db, TENANT) as conn:
        report = log.verify(conn, TENANT, [key.public_key()])
    verify_s = time.perf_counter() - started
    if not report.intact or report.checked != entries:
        msg = f"verification failed: {report}"
        raise RuntimeError(msg)
    select = f"SELECT {COLUMNS} FROM audit_entries WHERE tenant_id = ? ORDER BY seq"
    raw = db.owner_engine.raw_connection()
    try:
        cur = raw.cursor()
        started = time.perf_counter()
        if db.dialect == "postgresql":
            cur.execute(select.replace("?", "%s"), (TENANT,))
        else:
            cur.execute(select, (TENANT,))
        read = len(cur.fetchall())
        read_s = time.perf_counter() - started
        cur.close()
    finally:
        raw.close()
    if read != entries:
        msg = f"read {read} rows, expected {entries}"
        raise RuntimeError(msg)
    return verify_s, read_s


# --- the run -------------------------------------------------------------------------


@dataclass(slots=True)
class Cell:
    """One backend and transaction size: both implementations' samples."""

    backend: Backend
    size: int
    seconds: dict[str, list[float]] = field(default_factory=dict)
    rates: dict[str, list[float]] = field(default_factory=dict)

    def add(self, impl: Impl, entries: int, seconds: float) -> float:
        """Record one sample; return its entries per second."""
        rate = entries / seconds
        self.seconds.setdefault(impl, []).append(seconds)
        self.rates.setdefault(impl, []).append(rate)
        return rate

    def median_rate(self, impl: Impl) -> float | None:
        """Median entries/s of ``impl`` (``None`` if not measured)."""
        rates = self.rates.get(impl)
        return median(rates) if rates else None

    def ratio(self) -> float | None:
        """Phantom's median over the raw floor's."""
        mine, floor = self.median_rate("phantom"), self.median_rate("raw")
        return mine / floor if mine and floor else None

    def to_dict(self) -> dict[str, object]:
        """The JSON form."""
        ratio = self.ratio()
        return {
            "backend": self.backend,
            "entries_per_transaction": self.size,
            "implementations": {
                impl: {
                    "samples_entries_per_s": [round(r, 1) for r in self.rates[impl]],
                    "samples_seconds": [round(s, 3) for s in self.seconds[impl]],
                    "median_entries_per_s": round(median(self.rates[impl]), 1),
                }
                for impl in IMPLS
                if impl in self.rates
            },
            "ratio_phantom_raw": None if ratio is None else round(ratio, 3),
        }


@dataclass(slots=True)
class Verification:
    """Verification samples of one backend."""

    backend: Backend
    entries: int
    seconds: list[float] = field(default_factory=list)
    read_floor_seconds: list[float] = field(default_factory=list)

    def to_dict(self) -> dict[str, object]:
        """The JSON form."""
        mid = median(self.seconds)
        return {
            "backend": self.backend,
            "entries": self.entries,
            "samples_seconds": [round(s, 3) for s in self.seconds],
            "median_seconds": round(mid, 3),
            "median_entries_per_s": round(self.entries / mid, 1),
            "read_floor_samples_seconds": [
                round(s, 3) for s in self.read_floor_seconds
            ],
            "read_floor_median_seconds": round(median(self.read_floor_seconds), 3),
            "under_target": mid < VERIFY_TARGET_S,
        }


@dataclass(frozen=True, slots=True)
class Plan:
    """What to run."""

    entries: int
    repeat: int
    backends: tuple[Backend, ...]
    admin_url: str
    workdir: Path


def run_phantom(
    plan: Plan, cell: Cell, verification: Verification, reporter: Reporter
) -> None:
    """Append with the product into a fresh database (then verify the 1,000s)."""
    label = f"{cell.backend} {cell.size}/tx phantom"
    with (
        fresh_database(cell.backend, plan.workdir, plan.admin_url, name="audit") as url,
        audit_database(url) as db,
    ):
        reporter.start(label, plan.entries)
        started = time.perf_counter()
        append_phantom(db, plan.entries, cell.size, reporter)
        elapsed = time.perf_counter() - started
        if stored_count(db) != plan.entries:
            msg = f"{label}: stored {stored_count(db)} entries, not {plan.entries}"
            raise RuntimeError(msg)
        rate = cell.add("phantom", plan.entries, elapsed)
        reporter.done(f"{label}: {fmt_int(rate)} entries/s ({elapsed:.1f} s)")
        if cell.size == max(SHAPES):
            verify_s, read_s = verify_seconds(db, plan.entries)
            verification.seconds.append(verify_s)
            verification.read_floor_seconds.append(read_s)
            reporter.note(
                f"  verify {plan.entries:,} entries: {verify_s:.2f} s"
                f" (driver read floor {read_s:.2f} s)"
            )


def run_raw(plan: Plan, cell: Cell, reporter: Reporter) -> None:
    """Insert the same, pre-sealed rows through the driver into a fresh database."""
    label = f"{cell.backend} {cell.size}/tx raw"
    rows = sealed_rows(plan.entries, sqlite=cell.backend == "sqlite")
    with (
        fresh_database(cell.backend, plan.workdir, plan.admin_url, name="audit") as url,
        audit_database(url) as db,
    ):
        reporter.start(label, plan.entries)
        elapsed = append_raw(cell.backend, db, rows, cell.size)
        if stored_count(db) != plan.entries:
            msg = f"{label}: stored {stored_count(db)} entries, not {plan.entries}"
            raise RuntimeError(msg)
    rate = cell.add("raw", plan.entries, elapsed)
    reporter.done(f"{label}: {fmt_int(rate)} entries/s ({elapsed:.1f} s)")


def run(plan: Plan, reporter: Reporter) -> tuple[list[Cell], list[Verification]]:
    """Run every sample, alternating which implementation goes first per repeat."""
    cells = [Cell(b, s) for b in plan.backends for s in SHAPES]
    checks = {b: Verification(b, plan.entries) for b in plan.backends}
    with reporter.running():
        for repeat in range(plan.repeat):
            for cell in cells:
                order = IMPLS if repeat % 2 == 0 else IMPLS[::-1]
                for impl in order:
                    if impl == "phantom":
                        run_phantom(plan, cell, checks[cell.backend], reporter)
                    else:
                        run_raw(plan, cell, reporter)
    return cells, list(checks.values())


def results_table(cells: Sequence[Cell], checks: Sequence[Verification]) -> str:
    """The Markdown tables of medians, ratios and verification times."""
    rows = []
    for cell in cells:
        rates = [cell.median_rate(impl) for impl in IMPLS]
        rows.append(
            [
                cell.backend,
                str(cell.size),
                *("n/a" if r is None else fmt_int(r) for r in rates),
                fmt_ratio(cell.ratio()),
            ]
        )
    headers = ["backend", "entries/tx", "phantom entries/s", "raw INSERT entries/s"]
    appends = markdown_table([*headers, "phantom/raw"], rows)
    verify_rows = [
        [
            check.backend,
            fmt_int(check.entries),
            f"{median(check.seconds):.2f}",
            f"{median(check.read_floor_seconds):.2f}",
            "yes" if median(check.seconds) < VERIFY_TARGET_S else "**no**",
        ]
        for check in checks
        if check.seconds
    ]
    verify_headers = ["backend", "entries", "verify s", "driver read s", "< 5 s"]
    return f"{appends}\n\n{markdown_table(verify_headers, verify_rows)}"


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    """The command line."""
    parser = argparse.ArgumentParser(
        prog="python -m bench.audit", description=__doc__.split("\n\n")[0]
    )
    add_run_arguments(parser, unit="entries", quick=2000, workdir=WORKDIR)
    return check_run_arguments(
        parser,
        parser.parse_args(argv),
        unit="entries",
        quick=2000,
        multiple_of=max(SHAPES),
        stem="audit",
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark, write the JSON results and print the tables."""
    args = parse_args(argv)
    quiet_logs()
    backends = tuple(b for b in BACKENDS if b in args.backends.split(","))
    extra: dict[str, Any] = {
        "sqlite_version": sqlite3.sqlite_version,
        "git": git_revision(Path(__file__).resolve().parent.parent),
    }
    skipped: dict[str, str] = {}
    if "postgresql" in backends:
        try:
            extra.update(postgres_info(args.postgres_url))
        except psycopg.Error as exc:
            where = make_url(args.postgres_url).render_as_string(hide_password=True)
            skipped["postgresql"] = " ".join(f"unreachable at {where}: {exc}".split())
            print(f"skipping PostgreSQL: {skipped['postgresql']}", file=sys.stderr)
            backends = tuple(b for b in backends if b != "postgresql")
    reporter = Reporter(args.repeat * len(backends) * len(SHAPES) * len(IMPLS))
    plan = Plan(args.entries, args.repeat, backends, args.postgres_url, args.workdir)
    started = utc_now()
    extra["load_average_at_start"] = load_average()
    cells, checks = run(plan, reporter)
    extra["load_average_at_end"] = load_average()
    extra["libraries"] = library_versions(
        ["phantom-ml", "psycopg", "psycopg-binary", "sqlalchemy", "cryptography"]
    )
    write_json(
        args.output,
        {
            "benchmark": "audit",
            "timestamp": started,
            "finished": utc_now(),
            "machine": machine_info(extra),
            "parameters": {
                "entries": plan.entries,
                "repeat": plan.repeat,
                "entries_per_transaction": list(SHAPES),
                "backends": list(plan.backends),
                "implementations": list(IMPLS),
                "quick": args.quick,
                "statistic": "median of repeats",
                "verify_target_s": VERIFY_TARGET_S,
            },
            "skipped": skipped,
            "appends": [cell.to_dict() for cell in cells],
            "verification": [check.to_dict() for check in checks if check.seconds],
            "notes": [
                (
                    "No peer: no library in the bench extra keeps a hash-chained"
                    " audit log. The reference is the raw INSERT floor of the same"
                    " rows, sealed before the clock starts and inserted through the"
                    " DB-API driver as the table owner (no row-level security, no"
                    " advisory lock, no head read, no hashing), in the same run."
                ),
                (
                    "Verification re-hashes every entry of the 1,000-per-transaction"
                    " chain against a checkpoint signed at its head; its floor is the"
                    " driver fetching the same rows in seq order."
                ),
            ],
        },
    )
    print(results_table(cells, checks))
    print(f"\nresults: {args.output}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
