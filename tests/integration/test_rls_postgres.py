"""Row-level security on PostgreSQL: the database itself keeps tenants apart.

A probe table is created the way a context's migration creates its tables (owner
connection, ``grant_app_access`` + ``enable_tenant_rls``); everything else runs as
the app role, with raw SQL that never filters by tenant itself.
"""

from __future__ import annotations

import random
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import pytest
from alembic.migration import MigrationContext
from alembic.operations import Operations
from sqlalchemy import Column, Connection, Integer, String, text
from sqlalchemy.exc import DBAPIError

from phantom.kernel.db.engine import Database, open_database
from phantom.kernel.db.rls import enable_tenant_rls, grant_app_access
from phantom.kernel.db.tenant import tenant_transaction
from phantom.kernel.db.uow import UnitOfWork
from phantom.kernel.events.sql import SqlEventStore
from phantom.testing.contracts.eventstore import make_events
from tests.conftest import DatabaseFactory

pytestmark = pytest.mark.postgres

PROBE = "rls_probe"
INSUFFICIENT_PRIVILEGE = "42501"


def create_probe_table(db: Database) -> None:
    """What a context's migration does for a tenant table."""
    with db.owner_engine.begin() as conn:
        op = Operations(MigrationContext.configure(conn))
        op.create_table(
            PROBE,
            Column("tenant_id", String(64), primary_key=True),
            Column("id", Integer, primary_key=True),
            Column("value", Integer, nullable=False),
        )
        grant_app_access(op, PROBE, roles=db.roles)
        enable_tenant_rls(op, PROBE, roles=db.roles)


def insert(conn: Connection, tenant: str, row_id: int, value: int = 0) -> None:
    conn.execute(
        text(f"INSERT INTO {PROBE} (tenant_id, id, value) VALUES (:t, :i, :v)"),
        {"t": tenant, "i": row_id, "v": value},
    )


def rows(conn: Connection, where: str = "") -> list[tuple[str, int, int]]:
    statement = f"SELECT tenant_id, id, value FROM {PROBE} {where} ORDER BY id"
    return [(r[0], r[1], r[2]) for r in conn.execute(text(statement))]


def sqlstate(error: BaseException) -> str | None:
    return getattr(getattr(error, "orig", None), "sqlstate", None)


@pytest.fixture
def db(postgres_databases: DatabaseFactory) -> Database:
    """A migrated context database with the probe table, and rows of a and b."""
    database = postgres_databases()
    create_probe_table(database)
    for tenant, ids in (("a", (1, 2)), ("b", (3, 4))):
        with tenant_transaction(database, tenant, write=True) as conn:
            for row_id in ids:
                insert(conn, tenant, row_id)
    return database


@pytest.fixture
def single_connection(db: Database, postgres_url: str) -> Iterator[Database]:
    """The same context database through a pool of exactly one connection."""
    small = open_database(db.context, postgres_url, pool_size=1, max_overflow=0)
    yield small
    small.dispose()


def test_a_tenant_reads_only_its_own_rows(db: Database) -> None:
    with tenant_transaction(db, "a") as conn:
        assert [r[:2] for r in rows(conn)] == [("a", 1), ("a", 2)]
        assert rows(conn, "WHERE tenant_id = 'b'") == []
        assert rows(conn, "WHERE id IN (3, 4)") == []


def test_a_tenant_cannot_update_or_delete_another_tenants_rows(db: Database) -> None:
    with tenant_transaction(db, "a", write=True) as conn:
        updated = conn.execute(
            text(f"UPDATE {PROBE} SET value = 99 WHERE tenant_id = 'b'")
        )
        deleted = conn.execute(text(f"DELETE FROM {PROBE} WHERE id IN (3, 4)"))
        assert (updated.rowcount, deleted.rowcount) == (0, 0)
    with tenant_transaction(db, "b") as conn:
        assert rows(conn) == [("b", 3, 0), ("b", 4, 0)]


def test_a_tenant_cannot_insert_a_row_for_another_tenant(db: Database) -> None:
    with (
        pytest.raises(DBAPIError, match="row-level security") as caught,
        tenant_transaction(db, "a", write=True) as conn,
    ):
        insert(conn, "b", 5)
    assert sqlstate(caught.value) == INSUFFICIENT_PRIVILEGE
    with tenant_transaction(db, "b") as conn:
        assert [r[1] for r in rows(conn)] == [3, 4]


def test_a_tenant_cannot_hand_its_row_to_another_tenant(db: Database) -> None:
    with (
        pytest.raises(DBAPIError, match="row-level security"),
        tenant_transaction(db, "a", write=True) as conn,
    ):
        conn.execute(text(f"UPDATE {PROBE} SET tenant_id = 'b' WHERE id = 1"))


def test_without_a_tenant_nothing_is_visible_or_writable(db: Database) -> None:
    with db.engine.connect() as conn:
        assert rows(conn) == []
        assert conn.execute(text("SELECT count(*) FROM kernel_events")).scalar() == 0
    with pytest.raises(DBAPIError, match="row-level security"), db.engine.begin() as c:
        insert(c, "a", 9)


def test_the_tenant_setting_dies_with_its_transaction(
    single_connection: Database,
) -> None:
    db = single_connection

    def untenanted_view() -> tuple[str | None, int, int]:
        with db.engine.connect() as conn:
            row = conn.execute(
                text(
                    "SELECT current_setting('app.tenant_id', true), pg_backend_pid(),"
                    f" (SELECT count(*) FROM {PROBE})"
                )
            ).one()
            return row[0], row[1], row[2]

    _, backend, _ = untenanted_view()
    with tenant_transaction(db, "a") as conn:
        assert len(rows(conn)) == 2
    assert untenanted_view() in {(None, backend, 0), ("", backend, 0)}

    def fail_half_way() -> None:
        with tenant_transaction(db, "b") as conn:
            assert len(rows(conn)) == 2
            raise RuntimeError

    with pytest.raises(RuntimeError):
        fail_half_way()
    assert untenanted_view() in {(None, backend, 0), ("", backend, 0)}


@pytest.mark.parametrize(
    "statement",
    [
        f"TRUNCATE {PROBE}",
        f"ALTER TABLE {PROBE} ADD COLUMN extra integer",
        f"ALTER TABLE {PROBE} DISABLE ROW LEVEL SECURITY",
        f"DROP TABLE {PROBE}",
        f"DROP POLICY tenant_select ON {PROBE}",
        "CREATE TABLE rls_intruder (id integer)",
        "TRUNCATE kernel_events",
        "UPDATE kernel_events SET data = '{}'",
        "DELETE FROM kernel_events",
    ],
)
def test_the_app_role_has_no_ddl_truncate_or_event_rewrites(
    db: Database, statement: str
) -> None:
    with (
        pytest.raises(DBAPIError) as caught,
        tenant_transaction(db, "a", write=True) as conn,
    ):
        conn.execute(text(statement))
    assert sqlstate(caught.value) == INSUFFICIENT_PRIVILEGE


def test_each_engine_runs_as_its_role(db: Database) -> None:
    assert db.roles is not None
    expected = {
        db.engine: db.roles.app,
        db.system_engine: db.roles.system,
        db.owner_engine: None,
    }
    for engine, role in expected.items():
        with engine.connect() as conn:
            current, session = conn.execute(
                text("SELECT current_user, session_user")
            ).one()
        assert current == (role or session)


def test_the_system_role_reads_every_tenants_events_and_nothing_else(
    db: Database,
) -> None:
    store = SqlEventStore(db.dialect, db.schema)
    for tenant in ("a", "b"):
        with UnitOfWork(db, store, tenant_id=tenant) as uow:
            uow.append(make_events(2, tenant=tenant), expected_version=0)
            uow.commit()
    with db.system_engine.connect() as conn:
        tenants = sorted(e.tenant_id for e in store.read_all(conn))
        assert tenants == ["a", "a", "b", "b"]
    with tenant_transaction(db, "a") as conn:
        assert {e.tenant_id for e in store.read_all(conn)} == {"a"}
    for statement in (
        f"SELECT * FROM {PROBE}",
        "SELECT * FROM kernel_snapshots",
        "DELETE FROM kernel_events",
    ):
        with pytest.raises(DBAPIError) as caught, db.system_engine.begin() as conn:
            conn.execute(text(statement))
        assert sqlstate(caught.value) == INSUFFICIENT_PRIVILEGE


# --- a pool of one connection, shared by threads alternating tenants ---------------

TENANTS = ("ta", "tb", "tc")
THREADS = 4
OPERATIONS = 10_000


class Abort(Exception):
    """Raised inside a transaction to roll it back half-way."""


def abort() -> None:
    raise Abort


@dataclass
class Ledger:
    """What the threads know was attempted and committed, per tenant."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    last_id: int = 1000  # above the fixture's rows
    attempted: dict[str, set[int]] = field(
        default_factory=lambda: {t: set() for t in TENANTS}
    )
    committed: dict[str, set[int]] = field(
        default_factory=lambda: {t: set() for t in TENANTS}
    )
    increments: dict[int, int] = field(default_factory=dict)
    operations: dict[str, int] = field(default_factory=dict)

    def new_id(self, tenant: str) -> int:
        with self.lock:
            self.last_id += 1
            self.attempted[tenant].add(self.last_id)
            return self.last_id

    def snapshot(self, tenant: str) -> set[int]:
        with self.lock:
            return set(self.committed[tenant])

    def owners(self) -> list[tuple[str, int]]:
        with self.lock:
            return [(t, i) for t, ids in self.committed.items() for i in ids]

    def record(self, kind: str, change: Callable[[], None] = lambda: None) -> None:
        with self.lock:
            change()
            self.operations[kind] = self.operations.get(kind, 0) + 1


class Worker:
    """One thread's random walk of inserts, reads, updates and failures."""

    def __init__(self, db: Database, ledger: Ledger, seed: int) -> None:
        self.db, self.ledger, self.rng = db, ledger, random.Random(seed)
        self.store = SqlEventStore(db.dialect, db.schema)

    def run(self, count: int) -> None:
        steps = [
            (0.35, self.insert),
            (0.45, self.insert_for_another_tenant),
            (0.70, self.update_any_row),
            (0.75, self.delete_another_tenants_row),
            (0.95, self.read),
            (1.00, self.peek_without_a_tenant),
        ]
        for _ in range(count):
            tenant, draw = self.rng.choice(TENANTS), self.rng.random()
            next(step for limit, step in steps if draw < limit)(tenant)

    def insert(self, tenant: str) -> None:
        row_id, fate = self.ledger.new_id(tenant), self.rng.random()
        try:
            with UnitOfWork(self.db, self.store, tenant_id=tenant) as uow:
                insert(uow.connection, tenant, row_id)
                if fate < 0.15:
                    abort()
                if fate < 0.3:
                    uow.rollback()
                    self.ledger.record("insert-rolled-back")
                    return
                uow.commit()
        except Abort:
            self.ledger.record("insert-aborted")
            return
        committed = self.ledger.committed[tenant]
        self.ledger.record("insert", lambda: committed.add(row_id))

    def insert_for_another_tenant(self, tenant: str) -> None:
        other = self.rng.choice([t for t in TENANTS if t != tenant])
        row_id = self.ledger.new_id(other)
        with pytest.raises(DBAPIError) as caught:
            self._insert_as(tenant, other, row_id)
        assert sqlstate(caught.value) == INSUFFICIENT_PRIVILEGE, caught.value
        self.ledger.record("foreign-insert-refused")

    def _insert_as(self, tenant: str, owner: str, row_id: int) -> None:
        with tenant_transaction(self.db, tenant, write=True) as conn:
            insert(conn, owner, row_id)

    def update_any_row(self, tenant: str) -> None:
        owners = self.ledger.owners()
        if not owners:
            return
        owner, row_id = self.rng.choice(owners)
        aborting = self.rng.random() < 0.2
        try:
            with tenant_transaction(self.db, tenant, write=True) as conn:
                changed = conn.execute(
                    text(f"UPDATE {PROBE} SET value = value + 1 WHERE id = :i"),
                    {"i": row_id},
                ).rowcount
                assert changed == (1 if owner == tenant else 0), (tenant, owner)
                if aborting:
                    abort()
        except Abort:
            self.ledger.record("update-aborted")
            return
        if changed:
            counts = self.ledger.increments

            def bump() -> None:
                counts[row_id] = counts.get(row_id, 0) + 1

            self.ledger.record("update", bump)
        else:
            self.ledger.record("foreign-update-matched-nothing")

    def delete_another_tenants_row(self, tenant: str) -> None:
        theirs = [i for owner, i in self.ledger.owners() if owner != tenant]
        if not theirs:
            return
        with tenant_transaction(self.db, tenant, write=True) as conn:
            deleted = conn.execute(
                text(f"DELETE FROM {PROBE} WHERE id = :i"),
                {"i": self.rng.choice(theirs)},
            ).rowcount
        assert deleted == 0
        self.ledger.record("foreign-delete-matched-nothing")

    def read(self, tenant: str) -> None:
        before = self.ledger.snapshot(tenant)
        with tenant_transaction(self.db, tenant) as conn:
            setting = conn.execute(
                text("SELECT current_setting('app.tenant_id', true)")
            ).scalar()
            seen = rows(conn)
        assert setting == tenant
        assert {r[0] for r in seen} <= {tenant}, f"{tenant} saw {seen}"
        ids = {r[1] for r in seen}
        with self.ledger.lock:
            attempted = set(self.ledger.attempted[tenant])
        assert before <= ids <= attempted
        self.ledger.record("read")

    def peek_without_a_tenant(self, _tenant: str) -> None:
        with self.db.engine.connect() as conn:
            setting, count = conn.execute(
                text(
                    "SELECT current_setting('app.tenant_id', true),"
                    f" (SELECT count(*) FROM {PROBE})"
                )
            ).one()
        assert (setting or None, count) == (None, 0)
        self.ledger.record("peek")


@pytest.mark.slow
@pytest.mark.timeout(120)
def test_a_single_pooled_connection_never_carries_rows_across_tenants(
    single_connection: Database,
) -> None:
    db, ledger = single_connection, Ledger()
    seeds = [random.randrange(2**32) for _ in range(THREADS)]
    workers = [Worker(db, ledger, seed) for seed in seeds]
    with ThreadPoolExecutor(THREADS) as pool:
        futures = [pool.submit(w.run, OPERATIONS // THREADS) for w in workers]
        for future in futures:
            future.result()  # re-raises a failed assertion, with the seeds below
    assert sum(ledger.operations.values()) >= OPERATIONS * 0.9, ledger.operations
    assert db.engine.pool.size() == 1
    for tenant in TENANTS:
        with tenant_transaction(db, tenant) as conn:
            stored = {r[1]: r[2] for r in rows(conn)}
        assert set(stored) == ledger.committed[tenant], f"seeds {seeds}"
        expected = {i: ledger.increments.get(i, 0) for i in stored}
        assert stored == expected, f"seeds {seeds}"
