"""The SQL audit recorder: decisions, usage counts, flushes and checkpoints."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import text
from structlog.testing import capture_logs

from phantom.audit.adapters.keys import checkpoint_keys
from phantom.audit.adapters.sql import MIGRATIONS, SqlAuditLog
from phantom.audit.api import (
    PLATFORM_TENANT,
    AuditActor,
    AuditDecision,
    AuditResource,
    AuditSearch,
)
from phantom.audit.recorder import SqlAuditRecorder
from phantom.audit.views import SqlAuditQueries
from phantom.kernel.clock import FixedClock
from phantom.kernel.db.engine import Database, open_database
from phantom.kernel.db.migrate import migrate
from tests.unit.audit.harness import as_owner

A, B = "acme", "globex"
T0 = datetime(2026, 4, 1, 9, 0, 30, tzinfo=UTC)
DENIED = AuditDecision(
    action="auth.denied",
    actor=AuditActor(kind="anonymous", id="", via="api_key"),
    result="denied",
    details={"reason": "unknown key", "prefix": "abcd"},
)


def allowed(action: str = "users.create") -> AuditDecision:
    return AuditDecision(
        action=action,
        actor=AuditActor(kind="user", id="u-1", via="token"),
        result="allowed",
        resource=AuditResource(type="user", id="u-2"),
    )


@pytest.fixture
def db(databases) -> Database:
    made: Database = databases()
    migrate(made, MIGRATIONS)
    return made


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(T0)


@pytest.fixture
def recorder(db: Database, clock: FixedClock, tmp_path: Path) -> SqlAuditRecorder:
    return SqlAuditRecorder(db, checkpoint_keys(tmp_path / "keys"), clock=clock)


def queries(recorder: SqlAuditRecorder) -> SqlAuditQueries:
    return SqlAuditQueries(recorder.db, recorder.log, recorder.keys.public_keys)


def test_decisions_are_appended_to_their_tenants_chain(recorder) -> None:
    recorder.record(A, DENIED)
    recorder.record(A, allowed())
    recorder.record("", DENIED)  # no tenant: the platform's chain

    page = queries(recorder).search(A, AuditSearch())
    assert [(e.seq, e.action, e.result) for e in page.entries] == [
        (1, "auth.denied", "denied"),
        (2, "users.create", "allowed"),
    ]
    first = page.entries[0]
    assert first.actor.model_dump() == {"kind": "anonymous", "id": "", "via": "api_key"}
    assert first.details == {"reason": "unknown key", "prefix": "abcd"}
    assert first.occurred_at == T0
    platform = queries(recorder).search(PLATFORM_TENANT, AuditSearch())
    assert [e.action for e in platform.entries] == ["auth.denied"]
    assert recorder.failures == 0


def test_counts_become_one_entry_per_key_action_and_closed_minute(
    recorder, clock
) -> None:
    for _ in range(3):
        recorder.count(A, "key-1", "usage.predict")
    recorder.count(A, "key-2", "usage.predict")
    recorder.count(B, "key-3", "usage.metrics")

    assert recorder.flush() == 0  # the minute is still open
    clock.advance(timedelta(seconds=45))  # 09:01:15
    recorder.count(A, "key-1", "usage.predict")  # the next minute
    assert recorder.flush() == 3
    entries = queries(recorder).search(A, AuditSearch()).entries
    assert [(e.actor.id, e.action, e.result, e.details) for e in entries] == [
        (
            "key-1",
            "usage.predict",
            "allowed",
            {"count": 3, "minute": "2026-04-01T09:00Z"},
        ),
        (
            "key-2",
            "usage.predict",
            "allowed",
            {"count": 1, "minute": "2026-04-01T09:00Z"},
        ),
    ]
    assert recorder.flush(include_open=True) == 1
    last = queries(recorder).search(A, AuditSearch(after_seq=2)).entries
    assert [(e.actor.id, e.details["count"]) for e in last] == [("key-1", 1)]
    assert queries(recorder).verify(B).checked == 1


def test_denials_counted_beyond_the_budget_are_recorded_as_denied(recorder) -> None:
    recorder.count(A, "key-1", "auth.denied", result="denied")
    recorder.count(A, "key-1", "auth.denied", result="denied")
    recorder.count(A, "key-1", "auth.denied")  # same key and action, allowed
    assert recorder.flush(include_open=True) == 2
    entries = queries(recorder).search(A, AuditSearch()).entries
    assert sorted((e.result, e.details["count"]) for e in entries) == [
        ("allowed", 1),
        ("denied", 2),
    ]


def test_checkpoints_sign_only_the_chains_that_grew(recorder, clock) -> None:
    assert recorder.checkpoint_all() == []  # nothing to sign yet
    recorder.record(A, DENIED)
    recorder.record(A, DENIED)
    recorder.record(B, DENIED)

    signed = recorder.checkpoint_all()
    assert [(c.tenant_id, c.seq) for c in signed] == [(A, 2), (B, 1)]
    assert recorder.checkpoint_all() == []  # unchanged since
    recorder.record(B, allowed())
    clock.advance(timedelta(minutes=1))
    assert [(c.tenant_id, c.seq) for c in recorder.checkpoint_all()] == [(B, 2)]
    for tenant, last in ((A, 2), (B, 2)):
        report = queries(recorder).verify(tenant)
        assert report.intact, report.problem
        assert report.checkpoint_seq == last


def test_a_truncated_tail_after_a_checkpoint_is_detected(recorder, db) -> None:
    for _ in range(5):
        recorder.record(A, DENIED)
    recorder.checkpoint_all()
    recorder.record(A, DENIED)  # seq 6, not signed yet
    with as_owner(db) as conn:
        conn.execute(text("DELETE FROM audit_entries WHERE seq >= 4"))

    report = queries(recorder).verify(A)
    assert not report.intact
    assert report.problem is not None
    assert (report.problem.kind, report.problem.seq) == ("truncated", 4)
    assert "pins entry 5" in report.problem.detail


def test_recorders_on_several_threads_keep_one_gapless_chain(recorder) -> None:
    errors: list[BaseException] = []

    def work(n: int) -> None:
        try:
            for _ in range(15):
                recorder.record(A, DENIED)
                recorder.count(A, f"key-{n}", "usage.predict")
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert recorder.failures == 0
    assert recorder.flush(include_open=True) == 6
    report = queries(recorder).verify(A)
    assert report.intact, report.problem
    assert report.checked == 96
    counts = queries(recorder).search(A, AuditSearch(result="allowed")).entries
    assert sum(int(str(e.details["count"])) for e in counts) == 90


def test_outside_strings_are_clipped_rather_than_refused(recorder) -> None:
    decision = AuditDecision(
        action="auth.denied",
        actor=AuditActor(kind="api_key" * 10, id="k" * 500, via=""),
        result="denied",
        resource=AuditResource(type="key", id="x" * 300),
    )
    recorder.record(A, decision)
    (entry,) = queries(recorder).search(A, AuditSearch()).entries
    assert len(entry.actor.id) == 200
    assert entry.actor.id.endswith("\u2026")
    assert len(entry.actor.kind) == 32
    assert entry.actor.via == "none"
    assert entry.resource is not None
    assert entry.resource.id is not None
    assert len(entry.resource.id) == 200
    assert recorder.failures == 0


# -- the denial path when the database is not there ------------------------------


@pytest.fixture
def unreachable(tmp_path: Path) -> Iterator[Database]:
    db = open_database("audit", "postgresql://phantom:pw@127.0.0.1:1/phantom")
    yield db
    db.dispose()


def test_record_logs_and_returns_when_the_database_is_unreachable(
    unreachable, tmp_path
) -> None:
    recorder = SqlAuditRecorder(unreachable, checkpoint_keys(tmp_path / "keys"))
    with capture_logs() as logs:
        recorder.record(A, DENIED)  # must not raise: the caller still denies
    failed = [line for line in logs if line["event"] == "audit.record_failed"]
    assert len(failed) == 1
    assert failed[0]["log_level"] == "error"
    assert (failed[0]["tenant_id"], failed[0]["action"]) == (A, "auth.denied")
    assert failed[0]["result"] == "denied"
    assert "pw" not in str(failed[0])
    assert recorder.failures == 1


def test_record_logs_and_returns_when_the_tables_are_missing(tmp_path) -> None:
    db = open_database("audit", f"sqlite:///{tmp_path / 'audit.sqlite'}")
    try:
        recorder = SqlAuditRecorder(db, checkpoint_keys(tmp_path / "keys"))
        with capture_logs() as logs:
            recorder.record(A, DENIED)
        assert [line["event"] for line in logs] == ["audit.record_failed"]
        assert "no such table" in logs[0]["error"]
    finally:
        db.dispose()


def test_usage_counts_survive_a_failed_flush(tmp_path) -> None:
    db = open_database("audit", f"sqlite:///{tmp_path / 'audit.sqlite'}")
    try:
        recorder = SqlAuditRecorder(db, checkpoint_keys(tmp_path / "keys"))
        recorder.count(A, "key-1", "usage.predict")
        recorder.count(A, "key-1", "usage.predict")
        with capture_logs() as logs:
            assert recorder.flush(include_open=True) == 0
        assert [line["event"] for line in logs] == ["audit.flush_failed"]
        assert recorder.unflushed == 1
        migrate(db, MIGRATIONS)  # the database is back
        assert recorder.flush() == 1
        assert recorder.unflushed == 0
        (entry,) = queries(recorder).search(A, AuditSearch()).entries
        assert entry.details["count"] == 2
    finally:
        db.dispose()


def test_a_checkpoint_failure_is_logged_and_retried(recorder, db, monkeypatch) -> None:
    recorder.record(A, DENIED)
    recorder.record(B, DENIED)
    real = SqlAuditLog.checkpoint

    def flaky(self, conn, tenant_id, key, now):
        if tenant_id == A:
            raise RuntimeError("disk full")
        return real(self, conn, tenant_id, key, now)

    monkeypatch.setattr(SqlAuditLog, "checkpoint", flaky)
    with capture_logs() as logs:
        assert [c.tenant_id for c in recorder.checkpoint_all()] == [B]
    failed = [line for line in logs if line["event"] == "audit.checkpoint_failed"]
    assert [(line["tenant_id"], line["error"]) for line in failed] == [
        (A, "RuntimeError: disk full")
    ]
    monkeypatch.setattr(SqlAuditLog, "checkpoint", real)
    assert [c.tenant_id for c in recorder.checkpoint_all()] == [A]


def test_details_are_scrubbed_before_they_are_chained(recorder) -> None:
    calls: list[str] = []

    def scrub(tenant_id: str, details: dict[str, object]) -> dict[str, object]:
        calls.append(tenant_id)
        return {
            k: str(v).replace("ada@example.com", "<EMAIL>") for k, v in details.items()
        }

    recorder.scrub = scrub
    decision = DENIED.model_copy(update={"details": {"reason": "ada@example.com"}})
    recorder.record(A, decision)
    (entry,) = queries(recorder).search(A, AuditSearch()).entries
    assert entry.details == {"reason": "<EMAIL>"}
    assert calls == [A]
    assert queries(recorder).verify(A).intact


def test_a_failing_scrubber_withholds_the_details_but_keeps_the_entry(
    recorder,
) -> None:
    def scrub(tenant_id: str, details: dict[str, object]) -> dict[str, object]:
        raise RuntimeError("no privacy database")

    recorder.scrub = scrub
    decision = DENIED.model_copy(update={"details": {"reason": "ada@example.com"}})
    recorder.record(A, decision)
    (entry,) = queries(recorder).search(A, AuditSearch()).entries
    assert "ada@example.com" not in str(entry.details)
    assert "withheld" in entry.details
    assert recorder.failures == 0
