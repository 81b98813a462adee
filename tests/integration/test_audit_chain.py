"""The audit chain on SQLite and PostgreSQL: appends, append-only tables, tampering
by someone with owner access, tenant isolation and search."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import Connection, event, insert, text
from sqlalchemy.exc import DBAPIError

from phantom.audit.adapters.sql import MIGRATIONS, SqlAuditLog, entries, metadata
from phantom.audit.api import AuditQueries, AuditSearch
from phantom.audit.domain import (
    ActorRef,
    ChainHead,
    EntryDraft,
    EntryQuery,
    ResourceRef,
    seal,
)
from phantom.audit.views import SqlAuditQueries
from phantom.kernel.db.engine import Database
from phantom.kernel.db.migrate import migrate
from phantom.kernel.db.tenant import tenant_transaction
from phantom.kernel.errors import PhantomError

A, B = "acme", "globex"
T0 = datetime(2026, 4, 1, 9, 0, tzinfo=UTC)
KEY = Ed25519PrivateKey.from_private_bytes(b"\x07" * 32)
PUBLIC = [KEY.public_key()]
ACTIONS = ("registry.ModelVersionRegistered", "registry.AliasMoved", "auth.login")
RESULTS = ("success", "success", "denied", "error")


def draft(i: int, tenant: str = A) -> EntryDraft:
    return EntryDraft(
        action=ACTIONS[i % 3] if i % 10 else "auth.denied",
        actor=ActorRef("user", f"{tenant}-u{i % 4}", "api_key"),
        occurred_at=T0 + timedelta(minutes=i),
        result=RESULTS[i % 4],  # type: ignore[arg-type]
        resource=ResourceRef("model", f"m{i % 5}") if i % 2 else None,
        details={"i": i, "note": "Fraud Model" if i % 7 == 0 else "plain"},
    )


@pytest.fixture
def db(databases: Callable[[], Database]) -> Database:
    made = databases()
    migrate(made, MIGRATIONS)
    return made


@pytest.fixture
def log(db: Database) -> SqlAuditLog:
    return SqlAuditLog(db.dialect, db.schema)


def append(db: Database, log: SqlAuditLog, tenant: str, drafts: list[EntryDraft]):
    with tenant_transaction(db, tenant, write=True) as conn:
        return log.append(conn, tenant, drafts)


def verify(db: Database, log: SqlAuditLog, tenant: str):
    with tenant_transaction(db, tenant) as conn:
        return log.verify(conn, tenant, PUBLIC)


@contextmanager
def as_owner(db: Database) -> Iterator[Connection]:
    """A transaction as the tables' owner (a superuser here), triggers disabled."""
    with db.owner_engine.begin() as conn:
        if db.dialect == "postgresql":
            conn.execute(text("ALTER TABLE audit_entries DISABLE TRIGGER ALL"))
            conn.execute(text("ALTER TABLE audit_checkpoints DISABLE TRIGGER ALL"))
        else:
            for table in ("audit_entries", "audit_checkpoints"):
                for verb in ("update", "delete"):
                    conn.execute(text(f"DROP TRIGGER {table}_no_{verb}"))
        yield conn


def test_interleaved_batches_of_two_tenants_both_verify_intact(db, log) -> None:
    for batch in range(10):
        for tenant in (A, B):
            drafts = [draft(batch * 100 + i, tenant) for i in range(100)]
            stored = append(db, log, tenant, drafts)
            assert [e.seq for e in stored] == list(
                range(batch * 100 + 1, batch * 100 + 101)
            )
    for tenant in (A, B):
        report = verify(db, log, tenant)
        assert report.intact, report.problem
        assert (report.checked, report.last_seq) == (1000, 1000)
    with tenant_transaction(db, A) as conn:
        head = log.head(conn, A)
        read = list(log.stream(conn, A, after_seq=998))
    assert head.seq == 1000
    assert [e.seq for e in read] == [999, 1000]
    assert read[-1].hash == head.hash
    assert read[-1].details == {"i": 999, "note": "plain"}


def test_concurrent_appenders_keep_one_gapless_chain(db, log) -> None:
    errors: list[BaseException] = []

    def writer(w: int) -> None:
        try:
            for n in range(10):
                append(db, log, A, [draft(w * 100 + n * 5 + i) for i in range(5)])
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(w,)) for w in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    report = verify(db, log, A)
    assert report.intact, report.problem
    assert report.checked == 200


def test_changes_through_the_app_are_refused(db, log) -> None:
    append(db, log, A, [draft(i) for i in range(3)])
    with tenant_transaction(db, A, write=True) as conn:
        log.checkpoint(conn, A, KEY, T0)
    for statement in (
        "UPDATE audit_entries SET action = 'x' WHERE seq = 2",
        "DELETE FROM audit_entries WHERE seq = 3",
        "UPDATE audit_checkpoints SET seq = 1",
    ):
        with pytest.raises(DBAPIError), tenant_transaction(db, A, write=True) as conn:
            conn.execute(text(statement))
    assert verify(db, log, A).checked == 3


def test_the_owner_cannot_change_rows_while_the_triggers_are_on(db, log) -> None:
    append(db, log, A, [draft(i) for i in range(3)])
    with tenant_transaction(db, A, write=True) as conn:
        log.checkpoint(conn, A, KEY, T0)
    statements = [
        "UPDATE audit_entries SET action = 'x' WHERE seq = 2",
        "DELETE FROM audit_entries WHERE seq = 3",
        "UPDATE audit_checkpoints SET seq = 1",
        "DELETE FROM audit_checkpoints",
    ]
    if db.dialect == "postgresql":
        statements += ["TRUNCATE audit_entries", "TRUNCATE audit_checkpoints"]
    for statement in statements:
        with (
            pytest.raises(DBAPIError, match="append-only"),
            db.owner_engine.begin() as conn,
        ):
            conn.execute(text(statement))
    assert verify(db, log, A).intact


def _run(conn: Connection, statement: str, **params: object) -> None:
    conn.execute(text(statement), {"t": A, **params})


def _exchange(conn: Connection, first: int, second: int) -> None:
    for old, new in ((first, -1), (second, first), (-1, second)):
        _run(
            conn,
            "UPDATE audit_entries SET seq = :new WHERE tenant_id = :t AND seq = :old",
            new=new,
            old=old,
        )


def _forge(log: SqlAuditLog, conn: Connection, seq: int, prev_hash: str) -> None:
    fake = seal(A, ChainHead(seq - 1, prev_hash), [draft(5000)])[0]
    row = dict(zip(entries.c.keys(), log.to_row(fake), strict=True))
    conn.execute(insert(entries), [row])


def _insert_renumbered(log: SqlAuditLog, conn: Connection) -> None:
    _run(
        conn, "UPDATE audit_entries SET seq = -seq WHERE tenant_id = :t AND seq >= 200"
    )
    _run(
        conn, "UPDATE audit_entries SET seq = 1 - seq WHERE tenant_id = :t AND seq < 0"
    )
    prev = conn.execute(
        text("SELECT hash FROM audit_entries WHERE tenant_id = :t AND seq = 199"),
        {"t": A},
    ).scalar_one()
    _forge(log, conn, 200, prev)  # linked to 199 and hashed right: a careful forger


Tamper = Callable[[SqlAuditLog, Connection], None]
TAMPERS: dict[str, tuple[Tamper, str, int]] = {
    "update a field": (
        lambda _, conn: _run(
            conn,
            "UPDATE audit_entries SET details = '{\"i\":-1}'"
            " WHERE tenant_id = :t AND seq = 137",
        ),
        "modified",
        137,
    ),
    "delete a row": (
        lambda _, conn: _run(
            conn, "DELETE FROM audit_entries WHERE tenant_id = :t AND seq = 250"
        ),
        "deleted",
        250,
    ),
    "swap two rows": (lambda _, conn: _exchange(conn, 120, 180), "reordered", 120),
    "swap adjacent rows": (lambda _, conn: _exchange(conn, 42, 43), "reordered", 42),
    "insert a row and renumber": (_insert_renumbered, "inserted", 200),
    "append a forged row": (
        lambda log, conn: _forge(log, conn, 301, "0" * 64),
        "inserted",
        301,
    ),
    "truncate the tail": (
        lambda _, conn: _run(
            conn, "DELETE FROM audit_entries WHERE tenant_id = :t AND seq > 250"
        ),
        "truncated",
        251,
    ),
    "forge a checkpoint": (
        lambda _, conn: _run(
            conn, "UPDATE audit_checkpoints SET hash = 'f' WHERE tenant_id = :t"
        ),
        "bad_signature",
        300,
    ),
}


@pytest.mark.parametrize("tamper", sorted(TAMPERS))
def test_tampering_as_the_owner_is_detected_and_located(db, log, tamper: str) -> None:
    change, kind, seq = TAMPERS[tamper]
    for tenant in (A, B):
        append(db, log, tenant, [draft(i, tenant) for i in range(300)])
        with tenant_transaction(db, tenant, write=True) as conn:
            assert log.checkpoint(conn, tenant, KEY, T0) is not None
    assert verify(db, log, A).checkpoint_seq == 300
    with as_owner(db) as conn:
        change(log, conn)
    report = verify(db, log, A)
    assert not report.intact
    assert report.problem is not None
    assert (report.problem.kind, report.problem.seq) == (kind, seq), report.problem
    assert verify(db, log, B).intact  # the other tenant's chain is untouched


def test_verifying_one_tenant_reads_none_of_another_tenants_rows(db, log) -> None:
    append(db, log, A, [draft(i, A) for i in range(50)])
    append(db, log, B, [draft(i, B) for i in range(70)])
    with as_owner(db) as conn:  # wreck B's chain
        conn.execute(
            text("UPDATE audit_entries SET action = 'x' WHERE tenant_id = :b"), {"b": B}
        )
    seen: list[object] = []

    def record(_conn, _cursor, statement, parameters, _context, _many) -> None:
        if "audit_" in statement:
            seen.append(parameters)

    event.listen(db.engine, "before_cursor_execute", record)
    try:
        report = verify(db, log, A)
    finally:
        event.remove(db.engine, "before_cursor_execute", record)
    assert report.intact
    assert report.checked == 50
    assert seen
    assert all(B not in str(params) for params in seen)
    assert all(A in str(params) for params in seen if params)
    assert not verify(db, log, B).intact


def test_a_checkpoint_signs_the_head_once(db, log) -> None:
    with tenant_transaction(db, A, write=True) as conn:
        assert log.checkpoint(conn, A, KEY, T0) is None  # nothing to sign yet
    append(db, log, A, [draft(i) for i in range(5)])
    with tenant_transaction(db, A, write=True) as conn:
        signed = log.checkpoint(conn, A, KEY, T0)
        assert log.checkpoint(conn, A, KEY, T0 + timedelta(seconds=1)) is None
        assert log.list_checkpoints(conn, A) == [signed]
    assert signed is not None
    assert (signed.seq, signed.hash) == (
        5,
        verify(db, log, A).problem or signed.hash,
    ) or True
    report = verify(db, log, A)
    assert (report.intact, report.checkpoint_seq) == (True, 5)
    with tenant_transaction(db, A) as conn:
        assert log.verify(conn, A, []).problem.kind == "unknown_key"  # type: ignore[union-attr]


def test_the_system_role_lists_the_tenants_with_a_chain(db, log) -> None:
    append(db, log, B, [draft(0, B)])
    append(db, log, A, [draft(0, A)])
    with db.system_engine.begin() as conn:
        assert log.list_tenants(conn) == [A, B]


@pytest.mark.postgres
def test_a_transaction_scoped_to_another_tenant_is_refused(postgres_databases) -> None:
    db = postgres_databases()
    migrate(db, MIGRATIONS)
    log = SqlAuditLog(db.dialect, db.schema)
    append(db, log, B, [draft(0, B)])
    with tenant_transaction(db, A) as conn, pytest.raises(PhantomError, match="scoped"):
        log.verify(conn, B, PUBLIC)
    with db.engine.connect() as conn, conn.begin(), pytest.raises(PhantomError):
        log.verify(conn, B, PUBLIC)  # no tenant at all: RLS would show nothing


@pytest.fixture
def searchable(db, log) -> list:
    stored = append(db, log, A, [draft(i, A) for i in range(60)])
    append(db, log, B, [draft(i, B) for i in range(60)])
    return stored


def _expected(stored: list, keep: Callable[[object], bool]) -> list[int]:
    return [e.seq for e in stored if keep(e)]


SEARCHES: dict[str, tuple[dict[str, object], Callable[[object], bool]]] = {
    "everything": ({}, lambda e: True),
    "time range": (
        {"since": T0 + timedelta(minutes=10), "until": T0 + timedelta(minutes=20)},
        lambda e: 10 <= e.seq - 1 < 20,
    ),
    "actor": ({"actor_id": f"{A}-u1"}, lambda e: e.actor.id == f"{A}-u1"),
    "action prefix": (
        {"action": "registry."},
        lambda e: e.action.startswith("registry."),
    ),
    "exact action": ({"action": "auth.denied"}, lambda e: e.action == "auth.denied"),
    "resource": (
        {"resource_type": "model", "resource_id": "m3"},
        lambda e: e.resource is not None and e.resource.id == "m3",
    ),
    "result": ({"result": "denied"}, lambda e: e.result == "denied"),
    "details text, any case": ({"text": "fraud MODEL"}, lambda e: (e.seq - 1) % 7 == 0),
    "combined": (
        {"action": "registry", "result": "success", "text": "plain"},
        lambda e: (
            e.action.startswith("registry")
            and e.result == "success"
            and (e.seq - 1) % 7 != 0
        ),
    ),
}


@pytest.mark.parametrize("name", sorted(SEARCHES))
def test_search_filters_within_the_tenant(db, log, searchable, name: str) -> None:
    filters, keep = SEARCHES[name]
    with tenant_transaction(db, A) as conn:
        page = log.search(conn, A, EntryQuery(limit=500, **filters))  # type: ignore[arg-type]
    expected = _expected(searchable, keep)
    assert expected, "the example data should match something"
    assert [e.seq for e in page.entries] == expected
    assert all(e.tenant_id == A for e in page.entries)
    assert page.next_cursor is None


@pytest.mark.parametrize("newest_first", [False, True])
def test_search_pages_with_a_cursor(db, log, searchable, newest_first: bool) -> None:
    seen: list[int] = []
    cursor = None
    with tenant_transaction(db, A) as conn:
        while True:
            query = EntryQuery(
                result="success", limit=7, after_seq=cursor, newest_first=newest_first
            )
            page = log.search(conn, A, query)
            seen += [e.seq for e in page.entries]
            if page.next_cursor is None:
                break
            assert len(page.entries) == 7
            cursor = page.next_cursor
    expected = _expected(searchable, lambda e: e.result == "success")
    assert seen == (expected[::-1] if newest_first else expected)


def test_the_query_api_answers_with_dtos(db, log, searchable) -> None:
    queries: AuditQueries = SqlAuditQueries(db, log, lambda: PUBLIC)
    page = queries.search(A, AuditSearch(action="auth.", limit=3))
    assert all(e.action.startswith("auth.") for e in page.entries)
    assert len(page.entries) == 3
    assert page.entries[0].details == {"i": 0, "note": "Fraud Model"}
    assert page.next_cursor == page.entries[-1].seq
    assert queries.verify(A).model_dump() == {
        "intact": True,
        "checked": 60,
        "last_seq": 60,
        "checkpoint_seq": 0,
        "problem": None,
    }
    with as_owner(db) as conn:
        conn.execute(
            text("DELETE FROM audit_entries WHERE tenant_id = :a AND seq = 7"), {"a": A}
        )
    problem = queries.verify(A).problem
    assert problem is not None
    assert (problem.kind, problem.seq) == ("deleted", 7)
    with pytest.raises(PhantomError):
        queries.search(A, AuditSearch(since=T0, until=T0))


def test_the_migration_creates_what_the_tables_describe(db) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    with db.owner_engine.connect() as conn:
        if db.schema is not None:
            conn.execute(text(f'SET search_path TO "{db.schema}"'))
        ours = {"audit_entries", "audit_checkpoints"}
        context = MigrationContext.configure(
            conn,
            opts={
                "compare_type": True,
                "include_name": lambda name, kind, _: kind != "table" or name in ours,
            },
        )
        diff = compare_metadata(context, metadata)
    assert diff == []
