"""Nothing acknowledged is lost: relay and consumer processes killed with SIGKILL."""

from __future__ import annotations

import signal
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text

from phantom.kernel.db.engine import Database, open_database
from phantom.kernel.db.migrate import migrate
from phantom.kernel.db.uow import UnitOfWork
from phantom.kernel.events.sql import SqlEventStore
from phantom.testing.contracts.eventstore import make_events
from phantom.testing.services import require_service

pytestmark = [pytest.mark.nats, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]
EVENTS = 40


@pytest.fixture
def nats_url() -> Iterator[str]:
    base = require_service("nats")
    tag = uuid.uuid4().hex[:10]
    url = f"{base}?stream=CRASH_{tag}&prefix=crash{tag}&ack_wait=1"
    yield url
    import asyncio

    from phantom.kernel.bus.nats import NatsBus

    async def cleanup() -> None:
        bus = NatsBus(url)
        await bus.delete_stream()
        await bus.close()

    asyncio.run(cleanup())


@pytest.fixture
def source(tmp_path: Path) -> Iterator[tuple[str, Database, set[str]]]:
    url = f"sqlite:///{tmp_path / 'src.sqlite'}"
    db = open_database("src", url)
    migrate(db)
    store = SqlEventStore(db.dialect, db.schema)
    ids: set[str] = set()
    for i in range(EVENTS // 4):
        events = make_events(4, stream=f"s{i}")
        with UnitOfWork(db, store) as uow:
            uow.append(events, expected_version=0)
            uow.commit()
        ids.update(str(e.id) for e in events)
    yield url, db, ids
    db.dispose()


def run(*args: str, expect_kill: bool = False) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "tests.integration.crash_worker", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    if expect_kill:
        assert proc.returncode == -signal.SIGKILL, proc.stderr[-2000:]
    else:
        assert proc.returncode == 0, proc.stderr[-2000:]


def effects(url: str) -> list[str]:
    db = open_database("dst", url)
    try:
        with db.engine.connect() as conn:
            return [
                r[0] for r in conn.execute(text("SELECT event_id FROM crash_effects"))
            ]
    finally:
        db.dispose()


@pytest.mark.parametrize("kill", ["--kill-before", "--kill-after"])
def test_every_committed_event_is_applied_exactly_once_despite_sigkills(
    kill: str,
    source: tuple[str, Database, set[str]],
    nats_url: str,
    tmp_path: Path,
) -> None:
    src_url, _, ids = source
    dst_url = f"sqlite:///{tmp_path / 'dst.sqlite'}"
    # The relay dies twice part-way, then finishes; the consumer dies once after an
    # effect it never acknowledged, then finishes on redelivery.
    run("relay", src_url, nats_url, kill, "9", expect_kill=True)
    run("relay", src_url, nats_url, kill, "15", expect_kill=True)
    run(
        "consume",
        dst_url,
        nats_url,
        str(EVENTS),
        "--kill-after-effect",
        "5",
        expect_kill=True,
    )
    run("relay", src_url, nats_url)
    run("consume", dst_url, nats_url, str(EVENTS))
    applied = effects(dst_url)
    assert sorted(applied) == sorted(ids)
