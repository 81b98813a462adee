"""Event append throughput: Phantom vs raw INSERT vs ``eventsourcing`` (DESIGN.md §9).

Appends ``--events`` events, 1 and 100 per transaction, on SQLite and PostgreSQL,
with three implementations measured in the same run on the same payload, each on a
fresh database:

* ``phantom``: ``UnitOfWork`` + ``SqlEventStore.append``, as the product appends;
* ``raw``: the same rows through the DB-API driver, one ``executemany`` per
  transaction, into the ``kernel_events`` table that Phantom's migration creates
  (same columns, same unique constraints), with no product code on the path (the
  floor);
* ``eventsourcing``: the library's ``ApplicationRecorder`` (notification log
  included) inserting ``StoredEvent``s whose ``state`` is the same JSON payload.

Run ``python -m bench.eventstore --help``; see bench/README.md.
"""

from __future__ import annotations

import argparse
import sqlite3
import sys
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from operator import attrgetter
from pathlib import Path
from typing import Any, Final, Literal, Protocol

import psycopg
from eventsourcing.application import Application
from eventsourcing.domain import Aggregate, event
from eventsourcing.persistence import StoredEvent
from eventsourcing.postgres import PostgresApplicationRecorder, PostgresDatastore
from eventsourcing.sqlite import (
    SQLiteApplicationRecorder,
    SQLiteConnection,
    SQLiteConnectionPool,
    SQLiteDatastore,
)
from pydantic_core import to_json
from sqlalchemy import text
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
    postgres_info,
    quiet_logs,
    utc_now,
    write_json,
)
from phantom.kernel.context import SYSTEM
from phantom.kernel.db.engine import Database, open_database
from phantom.kernel.db.migrate import migrate
from phantom.kernel.db.uow import UnitOfWork
from phantom.kernel.events.envelope import new_envelope
from phantom.kernel.events.sql import SqlEventStore
from phantom.kernel.ids import uuid7

__all__ = ["main"]

Backend = Literal["sqlite", "postgresql"]
Impl = Literal["phantom", "raw", "eventsourcing", "eventsourcing_app"]

BACKENDS: Final[tuple[Backend, ...]] = ("sqlite", "postgresql")
IMPLS: Final[tuple[Impl, ...]] = (
    "phantom",
    "raw",
    "eventsourcing",
    "eventsourcing_app",
)
SHAPES: Final = (1, 100)
WORKDIR: Final = Path(__file__).resolve().parent / ".work"
TENANT: Final = "t-bench"
EVENT_TYPE: Final = "bench.ModelScored"
TOPIC: Final = "bench.events:ModelScored"
PAYLOAD: Final[dict[str, object]] = {
    "model": "m-17",
    "version": 3,
    "metric": 0.9123,
    "tags": ["a", "b"],
    "note": "scored on the nightly holdout",
    "stage": "staging",
}
ACTOR_JSON: Final = to_json(SYSTEM.to_dict()).decode()  # what Phantom stores

_INSERT: Final = (
    "INSERT INTO kernel_events (event_id, tenant_id, stream_id, stream_version, type,"
    " schema_version, occurred_at_us, actor, correlation_id, causation_id, data)"
    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)


def payload(version: int) -> dict[str, object]:
    """A fresh event payload (~6 small JSON fields), as a caller would build it."""
    return {**PAYLOAD, "version": version}


def stream_name(tx: int) -> str:
    """The stream of transaction ``tx`` (zero-padded, so keys arrive in order)."""
    return f"stream-{tx:09d}"


class Writer(Protocol):
    """One implementation on one fresh database."""

    table: str
    """The table the events land in."""

    def write(self, tx: int, size: int) -> None:
        """Append ``size`` events to stream ``tx`` in one committed transaction."""

    def query(self, statement: str) -> list[tuple[Any, ...]]:
        """Run ``statement`` outside the timed loop and return its rows."""


def stored_count(writer: Writer) -> int:
    """How many events the writer stored (checked after the timed loop)."""
    return int(writer.query(f"SELECT count(*) FROM {writer.table}")[0][0])


def describe(backend: Backend, writer: Writer) -> dict[str, object]:
    """The connection's durability settings and the table's indexes, for the record."""
    if backend == "postgresql":
        rows = writer.query(
            "SELECT indexdef FROM pg_indexes"
            f" WHERE tablename = '{writer.table}' ORDER BY indexname"
        )
        return {"indexes": [row[0] for row in rows]}
    info: dict[str, object] = {
        pragma: writer.query(f"PRAGMA {pragma}")[0][0]
        for pragma in ("journal_mode", "synchronous")
    }
    indexes = []
    for row in writer.query(f"PRAGMA index_list({writer.table})"):
        name, unique = row[1], row[2]
        columns = ", ".join(
            col[2] for col in writer.query(f"PRAGMA index_info({name})")
        )
        indexes.append(f"{'UNIQUE ' if unique else ''}{name} ({columns})")
    info["indexes"] = indexes
    return info


# --- phantom -------------------------------------------------------------------------


class PhantomWriter:
    """``UnitOfWork`` + ``SqlEventStore.append``, fresh envelopes per transaction."""

    table = "kernel_events"

    def __init__(self, db: Database) -> None:
        self.db = db
        self.store = SqlEventStore(db.dialect, db.schema)

    def write(self, tx: int, size: int) -> None:
        """Build the envelopes and append them as the product does."""
        stream = stream_name(tx)
        events = [
            new_envelope(
                EVENT_TYPE, tenant_id=TENANT, stream_id=stream, data=payload(i)
            )
            for i in range(1, size + 1)
        ]
        with UnitOfWork(self.db, self.store, tenant_id=TENANT) as uow:
            uow.append(events, expected_version=0)
            uow.commit()

    def query(self, statement: str) -> list[tuple[Any, ...]]:
        """Through the product's cross-tenant system engine (RLS hides rows else)."""
        with self.db.system_engine.connect() as conn:
            return [tuple(row) for row in conn.execute(text(statement))]


@contextmanager
def phantom_writer(_backend: Backend, url: str) -> Iterator[Writer]:
    """Open, migrate and warm the context database ``bench`` at ``url``."""
    db = open_database("bench", url)
    try:
        migrate(db)
        db.ping()  # open the pooled connection outside the timed loop
        yield PhantomWriter(db)
    finally:
        db.dispose()


# --- raw INSERT ----------------------------------------------------------------------


def _raw_rows(
    tx: int, size: int, event_id: Callable[[uuid.UUID], object]
) -> list[tuple[object, ...]]:
    stream = stream_name(tx)
    now_us = time.time_ns() // 1000
    return [
        (
            event_id(uuid7()),
            TENANT,
            stream,
            i,
            EVENT_TYPE,
            1,
            now_us,
            ACTOR_JSON,
            None,
            None,
            to_json(payload(i)).decode(),
        )
        for i in range(1, size + 1)
    ]


def _sqlite_event_id(conn: sqlite3.Connection) -> Callable[[uuid.UUID], object]:
    """Encode ids as the migrated column stores them: 32-hex text or 16 bytes."""
    declared = conn.execute(
        "SELECT type FROM pragma_table_info('kernel_events') WHERE name = 'event_id'"
    ).fetchone()[0]
    return attrgetter("hex") if "CHAR" in str(declared).upper() else attrgetter("bytes")


class RawSqliteWriter:
    """``sqlite3``: BEGIN IMMEDIATE, one ``executemany``, COMMIT."""

    table = "kernel_events"

    def __init__(self, path: str) -> None:
        self.conn = sqlite3.connect(path, isolation_level=None, timeout=30)
        self.conn.execute("PRAGMA journal_mode=WAL")
        self.conn.execute("PRAGMA synchronous=FULL")
        self.event_id = _sqlite_event_id(self.conn)

    def write(self, tx: int, size: int) -> None:
        """Insert one transaction's rows."""
        rows = _raw_rows(tx, size, self.event_id)
        self.conn.execute("BEGIN IMMEDIATE")
        self.conn.executemany(_INSERT, rows)
        self.conn.execute("COMMIT")

    def query(self, statement: str) -> list[tuple[Any, ...]]:
        """On the same connection."""
        return [tuple(row) for row in self.conn.execute(statement).fetchall()]


class RawPostgresWriter:
    """``psycopg``: one ``executemany`` per transaction, then COMMIT."""

    table = "kernel_events"

    def __init__(self, url: str, schema: str) -> None:
        self.conn = psycopg.connect(url, options=f"-csearch_path={schema}")
        self.insert = _INSERT.replace("?", "%s")

    def write(self, tx: int, size: int) -> None:
        """Insert one transaction's rows."""
        rows = _raw_rows(tx, size, _same)
        with self.conn.cursor() as cur:
            cur.executemany(self.insert, rows)
        self.conn.commit()

    def query(self, statement: str) -> list[tuple[Any, ...]]:
        """On the same connection, rolled back after."""
        rows = self.conn.execute(statement).fetchall()
        self.conn.rollback()
        return [tuple(row) for row in rows]


def _same(value: uuid.UUID) -> object:
    return value


@contextmanager
def raw_writer(backend: Backend, url: str) -> Iterator[Writer]:
    """The floor: the DB-API driver on one connection, into the product's own table.

    Phantom's migration creates ``kernel_events`` (untimed), so the floor always has
    the product's columns and unique constraints, and nothing else of the product.
    """
    db = open_database("bench", url)
    try:
        migrate(db)
    finally:
        db.dispose()
    if backend == "sqlite":
        sqlite_writer = RawSqliteWriter(make_url(url).database or "")
        try:
            yield sqlite_writer
        finally:
            sqlite_writer.conn.close()
    else:
        pg_writer = RawPostgresWriter(url, db.schema or "public")
        try:
            yield pg_writer
        finally:
            pg_writer.conn.close()


# --- eventsourcing -------------------------------------------------------------------


class _FullSyncPool(SQLiteConnectionPool):
    """The library's pool with ``synchronous=FULL`` stated, as the others have it."""

    def _create_connection(self) -> SQLiteConnection:
        conn = super()._create_connection()
        with conn.cursor() as cur:
            cur.execute("PRAGMA synchronous=FULL")
        return conn


class EventsourcingWriter:
    """``ApplicationRecorder.insert_events`` with one aggregate per stream."""

    table = "stored_events"

    def __init__(
        self, recorder: SQLiteApplicationRecorder | PostgresApplicationRecorder
    ) -> None:
        self.recorder = recorder

    def write(self, tx: int, size: int) -> None:
        """Insert one transaction's stored events (``tx`` only names the stream)."""
        del tx  # the aggregate id is a fresh UUIDv7, as Phantom's event ids are
        originator_id = uuid7()
        self.recorder.insert_events(
            [
                StoredEvent(
                    originator_id=originator_id,
                    originator_version=i,
                    topic=TOPIC,
                    state=to_json(payload(i)),
                )
                for i in range(1, size + 1)
            ]
        )

    def query(self, statement: str) -> list[tuple[Any, ...]]:
        """Through the library's datastore."""
        with self.recorder.datastore.transaction(commit=False) as cur:
            cur.execute(statement)
            rows = cur.fetchall()
        return [tuple(r.values()) if isinstance(r, dict) else tuple(r) for r in rows]


@contextmanager
def eventsourcing_writer(backend: Backend, url: str) -> Iterator[Writer]:
    """The library's application recorder with its own datastore and pool."""
    recorder: SQLiteApplicationRecorder | PostgresApplicationRecorder
    if backend == "sqlite":
        path = make_url(url).database or ""
        sqlite_store = SQLiteDatastore(path)
        sqlite_store.pool.close()
        sqlite_store.pool = _FullSyncPool(db_name=path)
        datastore: SQLiteDatastore | PostgresDatastore = sqlite_store
        recorder = SQLiteApplicationRecorder(sqlite_store)
    else:
        parsed = make_url(url)
        pg_store = PostgresDatastore(
            dbname=parsed.database or "",
            host=parsed.host or "127.0.0.1",
            port=parsed.port or 5432,
            user=parsed.username or "postgres",
            password=parsed.password or "",
        )
        datastore = pg_store
        recorder = PostgresApplicationRecorder(pg_store)
    try:
        recorder.create_table()
        recorder.max_notification_id()  # open the pooled connection
        yield EventsourcingWriter(recorder)
    finally:
        datastore.close()


# --- eventsourcing, as its users run it ----------------------------------------------


def _fields(version: int) -> tuple[str, int, float, list[str], str, str]:
    """:data:`PAYLOAD`'s fields in order, typed, for the aggregate's methods."""
    return (
        "m-17",
        version,
        0.9123,
        ["a", "b"],
        "scored on the nightly holdout",
        "staging",
    )


class ScoredModel(Aggregate):
    """An aggregate whose every event carries the benchmark payload."""

    @event("Registered")
    def __init__(  # noqa: PLR0913, PLR0917 - the payload's six fields
        self,
        model: str,
        version: int,
        metric: float,
        tags: list[str],
        note: str,
        stage: str,
    ) -> None:
        self.last = (model, version, metric, tags, note, stage)

    @event("Scored")
    def score(  # noqa: PLR0913, PLR0917
        self,
        model: str,
        version: int,
        metric: float,
        tags: list[str],
        note: str,
        stage: str,
    ) -> None:
        """Record one more scoring."""
        self.last = (model, version, metric, tags, note, stage)


class EventsourcingAppWriter:
    """``Application.save(aggregate)``: domain events, mapper, transcoder, recorder."""

    def __init__(self, app: Application[uuid.UUID]) -> None:
        self.app = app
        recorder = app.recorder
        assert isinstance(
            recorder, SQLiteApplicationRecorder | PostgresApplicationRecorder
        )
        self.table = recorder.events_table_name

    def write(self, tx: int, size: int) -> None:
        """One new aggregate with ``size`` events, saved in one transaction."""
        del tx
        aggregate = ScoredModel(*_fields(1))
        for i in range(2, size + 1):
            aggregate.score(*_fields(i))
        self.app.save(aggregate)

    def query(self, statement: str) -> list[tuple[Any, ...]]:
        """Through the application's datastore."""
        recorder = self.app.recorder
        assert isinstance(
            recorder, SQLiteApplicationRecorder | PostgresApplicationRecorder
        )
        with recorder.datastore.transaction(commit=False) as cur:
            cur.execute(statement)
            rows = cur.fetchall()
        return [tuple(r.values()) if isinstance(r, dict) else tuple(r) for r in rows]


@contextmanager
def eventsourcing_app_writer(backend: Backend, url: str) -> Iterator[Writer]:
    """The library's ``Application`` with its SQLite or PostgreSQL persistence."""
    parsed = make_url(url)
    env: dict[str, str]
    if backend == "sqlite":
        env = {
            "PERSISTENCE_MODULE": "eventsourcing.sqlite",
            "SQLITE_DBNAME": parsed.database or "",
        }
    else:
        env = {
            "PERSISTENCE_MODULE": "eventsourcing.postgres",
            "POSTGRES_DBNAME": parsed.database or "",
            "POSTGRES_HOST": parsed.host or "127.0.0.1",
            "POSTGRES_PORT": str(parsed.port or 5432),
            "POSTGRES_USER": parsed.username or "postgres",
            "POSTGRES_PASSWORD": parsed.password or "",
        }
    app: Application[uuid.UUID] = Application(env=env)
    try:
        yield EventsourcingAppWriter(app)
    finally:
        app.close()


WRITERS: Final[dict[Impl, Callable[[Backend, str], AbstractContextManager[Writer]]]] = {
    "phantom": phantom_writer,
    "raw": raw_writer,
    "eventsourcing": eventsourcing_writer,
    "eventsourcing_app": eventsourcing_app_writer,
}


# --- databases -----------------------------------------------------------------------


# --- the run -------------------------------------------------------------------------


@dataclass(slots=True)
class Cell:
    """One backend and transaction size: every implementation's samples."""

    backend: Backend
    size: int
    seconds: dict[str, list[float]] = field(default_factory=dict)
    rates: dict[str, list[float]] = field(default_factory=dict)
    settings: dict[str, dict[str, object]] = field(default_factory=dict)

    def median_rate(self, impl: Impl) -> float | None:
        """Median events/s of ``impl`` (``None`` if not measured)."""
        rates = self.rates.get(impl)
        return median(rates) if rates else None

    def ratio(self, other: Impl) -> float | None:
        """Phantom's median over ``other``'s."""
        mine, theirs = self.median_rate("phantom"), self.median_rate(other)
        return mine / theirs if mine and theirs else None

    def target_met(self) -> bool | None:
        """DESIGN §9: phantom ≥ the library (as its users run it) and ≥ 0.5 x raw.

        "The library" is ``eventsourcing``'s ``Application``: DESIGN's reference
        figures (2,026 / 19,086 events/s on SQLite) are of that path. Phantom's
        ratio to the bare recorder is reported beside it.
        """
        vs_es, vs_raw = self.ratio("eventsourcing_app"), self.ratio("raw")
        if vs_es is None or vs_raw is None:
            return None
        return vs_es >= 1.0 and vs_raw >= 0.5

    def to_dict(self) -> dict[str, object]:
        """The JSON form."""
        implementations = {
            impl: {
                "samples_events_per_s": [round(r, 1) for r in self.rates[impl]],
                "samples_seconds": [round(s, 3) for s in self.seconds[impl]],
                "median_events_per_s": round(median(self.rates[impl]), 1),
                "database": self.settings.get(impl, {}),
            }
            for impl in IMPLS
            if impl in self.rates
        }
        vs_raw, vs_es = self.ratio("raw"), self.ratio("eventsourcing")
        vs_app = self.ratio("eventsourcing_app")
        return {
            "backend": self.backend,
            "events_per_transaction": self.size,
            "implementations": implementations,
            "ratio_phantom_raw": None if vs_raw is None else round(vs_raw, 3),
            "ratio_phantom_eventsourcing": None if vs_es is None else round(vs_es, 3),
            "ratio_phantom_eventsourcing_app": (
                None if vs_app is None else round(vs_app, 3)
            ),
            "target_met": self.target_met(),
        }


@dataclass(frozen=True, slots=True)
class Plan:
    """What to run."""

    events: int
    repeat: int
    backends: tuple[Backend, ...]
    admin_url: str
    workdir: Path


def run_sample(plan: Plan, cell: Cell, impl: Impl, reporter: Reporter) -> None:
    """Time one implementation writing ``plan.events`` events into a fresh database."""
    transactions = plan.events // cell.size
    step = max(1, transactions // 200)
    label = f"{cell.backend} {cell.size}/tx {impl}"
    with (
        fresh_database(
            cell.backend, plan.workdir, plan.admin_url, name="events"
        ) as url,
        WRITERS[impl](cell.backend, url) as writer,
    ):
        reporter.start(label, plan.events)
        started = time.perf_counter()
        for tx in range(transactions):
            writer.write(tx, cell.size)
            if tx % step == 0:
                reporter.advance(tx * cell.size)
        elapsed = time.perf_counter() - started
        stored = stored_count(writer)
        cell.settings[impl] = describe(cell.backend, writer)
    if stored != transactions * cell.size:
        msg = f"{label}: stored {stored} events, expected {transactions * cell.size}"
        raise RuntimeError(msg)
    rate = stored / elapsed
    cell.seconds.setdefault(impl, []).append(elapsed)
    cell.rates.setdefault(impl, []).append(rate)
    reporter.done(f"{label}: {fmt_int(rate)} events/s ({elapsed:.1f} s)")


def run(plan: Plan, reporter: Reporter) -> list[Cell]:
    """Run every sample, rotating the implementations' order per repeat."""
    cells = [Cell(b, s) for b in plan.backends for s in SHAPES]
    with reporter.running():
        for repeat in range(plan.repeat):
            shift = repeat % len(IMPLS)
            order = IMPLS[shift:] + IMPLS[:shift]
            for cell in cells:
                for impl in order:
                    run_sample(plan, cell, impl, reporter)
    return cells


def results_table(cells: Sequence[Cell]) -> str:
    """The Markdown table of medians and ratios."""
    rows = []
    for cell in cells:
        rates = [cell.median_rate(impl) for impl in IMPLS]
        met = cell.target_met()
        rows.append(
            [
                cell.backend,
                str(cell.size),
                *("n/a" if r is None else fmt_int(r) for r in rates),
                fmt_ratio(cell.ratio("raw")),
                fmt_ratio(cell.ratio("eventsourcing")),
                fmt_ratio(cell.ratio("eventsourcing_app")),
                "n/a" if met is None else ("yes" if met else "**no**"),
            ]
        )
    headers = [
        "backend",
        "events/tx",
        "phantom ev/s",
        "raw INSERT ev/s",
        "eventsourcing recorder ev/s",
        "eventsourcing Application ev/s",
        "phantom/raw",
        "phantom/recorder",
        "phantom/Application",
        "target met",
    ]
    return markdown_table(headers, rows)


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    """The command line."""
    parser = argparse.ArgumentParser(
        prog="python -m bench.eventstore", description=__doc__.split("\n\n")[0]
    )
    add_run_arguments(parser, unit="events", quick=5000, workdir=WORKDIR)
    return check_run_arguments(
        parser,
        parser.parse_args(argv),
        unit="events",
        quick=5000,
        multiple_of=max(SHAPES),
        stem="eventstore",
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark, write the JSON results and print the table."""
    args = parse_args(argv)
    quiet_logs()
    backends = tuple(b for b in BACKENDS if b in args.backends.split(","))
    total = args.repeat * len(backends) * len(SHAPES) * len(IMPLS)
    reporter = Reporter(total)
    extra: dict[str, object] = {
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
            reporter.note(f"skipping PostgreSQL: {skipped['postgresql']}")
            backends = tuple(b for b in backends if b != "postgresql")
            reporter = Reporter(args.repeat * len(backends) * len(SHAPES) * len(IMPLS))
    plan = Plan(args.events, args.repeat, backends, args.postgres_url, args.workdir)
    started = utc_now()
    extra["load_average_at_start"] = load_average()
    cells = run(plan, reporter)
    extra["load_average_at_end"] = load_average()
    cell_dicts = [cell.to_dict() for cell in cells]
    verdicts = [c["target_met"] for c in cell_dicts]
    packages = ["phantom-ml", "eventsourcing", "psycopg", "psycopg-binary"]
    packages += ["sqlalchemy", "pydantic-core", "rich"]
    extra["libraries"] = library_versions(packages)
    write_json(
        args.output,
        {
            "benchmark": "eventstore",
            "timestamp": started,
            "finished": utc_now(),
            "machine": machine_info(extra),
            "parameters": {
                "events": plan.events,
                "repeat": plan.repeat,
                "events_per_transaction": list(SHAPES),
                "backends": list(plan.backends),
                "implementations": list(IMPLS),
                "payload": PAYLOAD,
                "quick": args.quick,
                "statistic": "median of repeats, events per second",
                "target": "phantom >= eventsourcing and >= 0.5 x raw in every cell",
            },
            "skipped": skipped,
            "cells": cell_dicts,
            "target_met": bool(verdicts) and all(v is True for v in verdicts),
            "notes": [
                (
                    "OPENBLAS_NUM_THREADS and other BLAS settings are irrelevant"
                    " here: no numeric library runs in this benchmark."
                ),
            ],
        },
    )
    print(results_table(cells))
    print(f"\nresults: {args.output}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
