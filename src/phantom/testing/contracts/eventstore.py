"""The event store contract (+ inline projections), run against every SQL backend.

Use it by subclassing :class:`EventStoreContract` in a test module and providing a
``database`` fixture that yields a migrated :class:`~phantom.kernel.db.engine.Database`;
:func:`event_store_machine` builds the Hypothesis state machine for the same database.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule
from sqlalchemy import Connection, text

from phantom.kernel.db.engine import Database
from phantom.kernel.db.tenant import tenant_transaction
from phantom.kernel.db.uow import UnitOfWork
from phantom.kernel.errors import Conflict, InvalidInput, VersionConflict
from phantom.kernel.events.envelope import Envelope, new_envelope
from phantom.kernel.events.sql import SqlEventStore
from phantom.kernel.events.store import AppendResult, Snapshot
from phantom.kernel.ids import uuid7

__all__ = ["EventStoreContract", "event_store_machine", "make_events"]


def make_events(
    n: int,
    *,
    tenant: str = "t1",
    stream: str = "s1",
    at: datetime | None = None,
) -> list[Envelope]:
    """Return ``n`` new events of one stream, ``Thing{i}`` payloads."""
    return [
        new_envelope(
            "contract.ThingHappened",
            tenant_id=tenant,
            stream_id=stream,
            data={"i": i, "text": "häppened ✓", "nested": {"xs": [1, 2.5, None]}},
            occurred_at=at,
            correlation_id="corr-1",
        )
        for i in range(n)
    ]


def _append(
    db: Database, events: Sequence[Envelope], expected: int | None
) -> AppendResult:
    store = SqlEventStore(db.dialect, db.schema)
    tenant = events[0].tenant_id if events else "t1"
    with UnitOfWork(db, store, tenant_id=tenant) as uow:
        result = uow.append(events, expected_version=expected)
        uow.commit()
    return result


class EventStoreContract:
    """Behaviour every event store adapter must show."""

    @pytest.fixture
    def store(self, database: Database) -> SqlEventStore:
        """The store under test."""
        return SqlEventStore(database.dialect, database.schema)

    def _read(
        self,
        database: Database,
        store: SqlEventStore,
        tenant: str = "t1",
        stream: str = "s1",
    ) -> list[Envelope]:
        with tenant_transaction(database, tenant) as conn:
            return store.read_stream(conn, tenant, stream)

    def test_append_then_read_returns_the_same_events(
        self, database: Database, store: SqlEventStore
    ) -> None:
        events = make_events(3)
        assert _append(database, events, 0) == AppendResult(3, appended=True)
        read = self._read(database, store)
        assert [e.stream_version for e in read] == [1, 2, 3]
        assert [e.id for e in read] == [e.id for e in events]
        for original, got in zip(events, read, strict=True):
            assert got.data == original.data
            assert got.type == original.type
            assert got.actor == original.actor
            assert got.correlation_id == "corr-1"
            assert got.occurred_at == original.occurred_at
            assert got.position is not None

    def test_wrong_expected_version_conflicts_and_writes_nothing(
        self, database: Database, store: SqlEventStore
    ) -> None:
        _append(database, make_events(2), 0)
        for expected in (0, 1, 3, 7):
            with pytest.raises(VersionConflict):
                _append(database, make_events(1), expected)
        assert [e.stream_version for e in self._read(database, store)] == [1, 2]

    def test_no_expected_version_appends_at_the_head(
        self, database: Database, store: SqlEventStore
    ) -> None:
        _append(database, make_events(2), None)
        _append(database, make_events(1), None)
        assert [e.stream_version for e in self._read(database, store)] == [1, 2, 3]

    def test_retried_append_stores_nothing_twice(
        self, database: Database, store: SqlEventStore
    ) -> None:
        events = make_events(2)
        _append(database, events, 0)
        assert _append(database, events, 0) == AppendResult(2, appended=False)
        assert len(self._read(database, store)) == 2

    def test_reusing_some_stored_ids_is_a_conflict(
        self, database: Database, store: SqlEventStore
    ) -> None:
        events = make_events(2)
        _append(database, events, 0)
        with pytest.raises(Conflict):
            _append(database, [events[0], *make_events(1)], 2)
        with pytest.raises(Conflict):
            _append(database, [*make_events(1), events[1]], 2)
        assert len(self._read(database, store)) == 2

    def test_an_append_writes_to_one_stream_only(self, database: Database) -> None:
        mixed = [*make_events(1, stream="a"), *make_events(1, stream="b")]
        with pytest.raises(InvalidInput):
            _append(database, mixed, 0)
        with pytest.raises(InvalidInput):
            _append(database, [], 0)

    def test_tenants_have_separate_streams_of_the_same_id(
        self, database: Database, store: SqlEventStore
    ) -> None:
        _append(database, make_events(2, tenant="a"), 0)
        _append(database, make_events(1, tenant="b"), 0)
        assert len(self._read(database, store, "a")) == 2
        assert len(self._read(database, store, "b")) == 1
        with tenant_transaction(database, "b") as conn:
            assert store.stream_version(conn, "b", "s1") == 1
        with tenant_transaction(database, "c") as conn:
            assert store.stream_version(conn, "c", "s1") == 0

    def test_a_tenants_unit_of_work_refuses_another_tenants_events(
        self, database: Database, store: SqlEventStore
    ) -> None:
        with (
            UnitOfWork(database, store, tenant_id="a") as uow,
            pytest.raises(InvalidInput, match="tenant"),
        ):
            uow.append(make_events(1, tenant="b"), expected_version=0)
        assert self._read(database, store, "b") == []

    def test_positions_grow_and_read_all_pages_from_a_position(
        self, database: Database, store: SqlEventStore
    ) -> None:
        for stream in ("x", "y", "z"):
            _append(database, make_events(3, stream=stream), 0)
        with tenant_transaction(database, "t1") as conn:
            everything = store.read_all(conn)
            positions = [e.position or 0 for e in everything]
            assert positions == sorted(positions)
            assert len(set(positions)) == 9
            page = store.read_all(conn, after_position=positions[3], limit=2)
            assert [e.position for e in page] == positions[4:6]
            assert store.head_position(conn) == positions[-1]

    def test_reads_stop_at_a_timestamp(
        self, database: Database, store: SqlEventStore
    ) -> None:
        t0 = datetime(2026, 1, 1, tzinfo=UTC)
        _append(database, make_events(2, at=t0), 0)
        _append(database, make_events(2, at=t0 + timedelta(hours=1)), 2)
        with tenant_transaction(database, "t1") as conn:
            up_to = t0 + timedelta(minutes=30)
            assert len(store.read_stream(conn, "t1", "s1", up_to=up_to)) == 2
            assert len(store.read_all(conn, up_to=up_to)) == 2
            assert len(store.read_stream(conn, "t1", "s1", after_version=3)) == 1

    def test_snapshots_keep_the_newest_state(
        self, database: Database, store: SqlEventStore
    ) -> None:
        now = datetime(2026, 1, 1, tzinfo=UTC)
        with tenant_transaction(database, "t1", write=True) as conn:
            assert store.find_snapshot(conn, "t1", "s1") is None
            store.save_snapshot(conn, Snapshot("t1", "s1", 5, "Thing", {"n": 5}, now))
            store.save_snapshot(conn, Snapshot("t1", "s1", 3, "Thing", {"n": 3}, now))
        with tenant_transaction(database, "t1") as conn:
            snap = store.find_snapshot(conn, "t1", "s1")
        assert snap is not None
        assert (snap.stream_version, snap.state) == (5, {"n": 5})

    def test_concurrent_appends_at_one_version_let_exactly_one_win(
        self, database: Database, store: SqlEventStore
    ) -> None:
        _append(database, make_events(1), 0)
        outcomes: list[str] = []
        barrier = threading.Barrier(4)

        def contender() -> None:
            barrier.wait()
            try:  # ten events: PostgreSQL appends them as one row of arrays
                _append(database, make_events(10), 1)
                outcomes.append("won")
            except VersionConflict:
                outcomes.append("conflict")

        threads = [threading.Thread(target=contender) for _ in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=30)
        assert sorted(outcomes) == ["conflict"] * 3 + ["won"]
        versions = [e.stream_version for e in self._read(database, store)]
        assert versions == list(range(1, 12))

    def test_projections_commit_and_roll_back_with_the_events(
        self, database: Database, store: SqlEventStore
    ) -> None:
        seen: list[int] = []

        def projector(conn: Connection, events: Sequence[Envelope]) -> None:
            conn.execute(text("SELECT 1"))
            seen.extend(e.stream_version for e in events)

        with UnitOfWork(database, store, [projector], tenant_id="t1") as uow:
            uow.append(make_events(2), expected_version=0)
            uow.commit()
        with UnitOfWork(database, store, [projector], tenant_id="t1") as uow:
            uow.append(make_events(1), expected_version=2)
            # no commit: rolled back
        assert seen == [1, 2, 3]
        assert len(self._read(database, store)) == 2


def event_store_machine(
    database: Callable[[], Database],
) -> type[RuleBasedStateMachine]:
    """A state machine comparing the store with a dict model of streams."""

    class EventStoreMachine(RuleBasedStateMachine):
        def __init__(self) -> None:
            super().__init__()
            self.db = database()
            self.store = SqlEventStore(self.db.dialect, self.db.schema)
            self.tenant = f"t-{uuid7().hex}"
            self.model: dict[str, list[str]] = {}
            self.last: list[Envelope] = []

        def _append(self, events: list[Envelope], expected: int | None) -> None:
            with UnitOfWork(self.db, self.store, tenant_id=self.tenant) as uow:
                uow.append(events, expected_version=expected)
                uow.commit()

        @rule(stream=st.sampled_from("abc"), n=st.integers(1, 4))
        def append_at_the_right_version(self, stream: str, n: int) -> None:
            events = make_events(n, tenant=self.tenant, stream=stream)
            self._append(events, len(self.model.get(stream, [])))
            self.model.setdefault(stream, []).extend(str(e.id) for e in events)
            self.last = events

        @rule(stream=st.sampled_from("abc"), delta=st.sampled_from([-2, -1, 1, 5]))
        def append_at_a_wrong_version(self, stream: str, delta: int) -> None:
            current = len(self.model.get(stream, []))
            if current + delta < 0:
                return
            with pytest.raises(VersionConflict):
                self._append(
                    make_events(1, tenant=self.tenant, stream=stream), current + delta
                )

        @precondition(lambda self: bool(self.last))
        @rule()
        def retry_the_last_append(self) -> None:
            self._append(self.last, 0)

        @rule(stream=st.sampled_from("abc"))
        def race_two_appends(self, stream: str) -> None:
            expected = len(self.model.get(stream, []))
            batches = [
                make_events(1, tenant=self.tenant, stream=stream) for _ in range(2)
            ]
            won: list[list[Envelope]] = []
            barrier = threading.Barrier(2)

            def go(batch: list[Envelope]) -> None:
                barrier.wait()
                try:
                    self._append(batch, expected)
                    won.append(batch)
                except VersionConflict:
                    pass

            threads = [threading.Thread(target=go, args=(b,)) for b in batches]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(timeout=30)
            assert len(won) == 1
            self.model.setdefault(stream, []).extend(str(e.id) for e in won[0])

        @invariant()
        def streams_match_the_model_and_are_gapless(self) -> None:
            with tenant_transaction(self.db, self.tenant) as conn:
                for stream, ids in self.model.items():
                    stored = self.store.read_stream(conn, self.tenant, stream)
                    assert [str(e.id) for e in stored] == ids
                    assert [e.stream_version for e in stored] == list(
                        range(1, len(ids) + 1)
                    )

    EventStoreMachine.TestCase.settings = settings(
        max_examples=15, stateful_step_count=12, deadline=None
    )
    return EventStoreMachine
