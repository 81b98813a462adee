from pathlib import Path

import pytest

from phantom.kernel.db.engine import open_database
from phantom.kernel.db.migrate import migrate
from phantom.kernel.db.uow import UnitOfWork
from phantom.kernel.errors import PhantomError
from phantom.kernel.events.sql import SqlEventStore
from phantom.testing.contracts.eventstore import make_events


@pytest.fixture
def uow(tmp_path: Path) -> UnitOfWork:
    db = open_database("unit", f"sqlite:///{tmp_path / 'unit.sqlite'}")
    migrate(db)
    return UnitOfWork(db, SqlEventStore(db.dialect))


def test_a_unit_of_work_rolls_back_unless_committed(uow: UnitOfWork) -> None:
    with uow:
        uow.append(make_events(2), expected_version=0)
    with uow:
        assert uow.store.stream_version(uow.connection, "t1", "s1") == 0


def test_an_exception_inside_rolls_back(uow: UnitOfWork) -> None:
    def fail_inside() -> None:
        with uow:
            uow.append(make_events(1), expected_version=0)
            raise RuntimeError

    with pytest.raises(RuntimeError):
        fail_inside()
    with uow:
        assert uow.store.head_position(uow.connection) == 0


def test_using_a_closed_unit_of_work_is_an_error(uow: UnitOfWork) -> None:
    with pytest.raises(PhantomError, match="not open"):
        _ = uow.connection
    with pytest.raises(PhantomError, match="not open"):
        uow.commit()


def test_a_unit_of_work_cannot_be_nested(uow: UnitOfWork) -> None:
    with uow, pytest.raises(PhantomError, match="already open"), uow:
        pass


def test_sqlite_files_use_wal_and_foreign_keys(uow: UnitOfWork) -> None:
    with uow.db.engine.connect() as conn:
        raw = conn.connection.driver_connection
        assert raw is not None
        assert raw.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert raw.execute("PRAGMA foreign_keys").fetchone()[0] == 1
        assert raw.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
