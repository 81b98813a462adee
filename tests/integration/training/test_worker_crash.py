"""A worker killed with SIGKILL mid-job: the job is re-leased and completes once."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import func, select

from phantom.bootstrap import training_worker
from phantom.kernel.db.metadata import events
from tests.e2e.world import World, open_world
from tests.support.datasets import classification_csv

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[3]
SPEC = {
    "experiment": "crash",
    "dataset": "churn",
    "target": "churned",
    "task": "classification",
    "estimator": "random_forest",
    "params": {"n_estimators": 60},
    "search": {
        "space": {"max_depth": {"type": "int", "low": 2, "high": 8}},
        "n_trials": 20,
        "seed": 3,
    },
    "cv": {"folds": 3},
}


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    with open_world(tmp_path / "home", worker_lease_s=2.0) as built:
        built.call(
            "POST",
            "/v1/datasets/churn/versions",
            key=built.owner_a,
            content=classification_csv(),
            headers={"content-type": "text/csv"},
        )
        yield built


def _runs(world: World) -> list[dict[str, object]]:
    page = world.call(
        "GET",
        "/v1/runs",
        key=world.owner_a,
        params={"experiment": "crash", "limit": 200},
    )
    if page.status_code == 404:  # the experiment does not exist yet
        return []
    items: list[dict[str, object]] = page.json()["items"]
    return items


def test_a_killed_workers_job_is_released_and_completes_exactly_once(
    world: World, tmp_path: Path
) -> None:
    job = world.call("POST", "/v1/jobs", key=world.owner_a, json={"spec": SPEC}).json()
    child = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tests.integration.training.worker_child",
            str(tmp_path / "home"),
        ],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": f"{ROOT}{os.pathsep}{ROOT / 'src'}"},
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        deadline = time.monotonic() + 120
        while len(_runs(world)) < 3:  # mid-search: some trials are in
            assert child.poll() is None, "the worker finished before it could be killed"
            assert time.monotonic() < deadline, "the worker made no progress"
            time.sleep(0.1)
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait()
        assert child.stdout is not None
        child.stdout.close()
    killed_at = len(_runs(world))
    assert killed_at < SPEC["search"]["n_trials"]  # type: ignore[index]
    running = world.call("GET", f"/v1/jobs/{job['job_id']}", key=world.owner_a).json()
    assert running["status"] == "running"
    assert running["attempts"] == 1

    worker = training_worker(world.container)
    assert worker is not None
    world.later((datetime.now(UTC) - world.clock.now()).total_seconds())
    assert not worker.run_once()  # the lease still holds
    world.later(2.5)  # ... until it expires (the world's clock is fixed)
    assert worker.run_once()

    done = world.call("GET", f"/v1/jobs/{job['job_id']}", key=world.owner_a).json()
    assert done["status"] == "succeeded", done["error"]
    assert done["attempts"] == 2
    runs = _runs(world)
    assert not [r for r in runs if r["status"] == "running"]
    best = [r for r in runs if r["tags"].get("phantom.best") == "true"]  # type: ignore[attr-defined]
    assert [r["run_id"] for r in best] == [done["result"]["best_run_id"]]
    second = [r for r in runs if r["tags"]["phantom.attempt"] == "2"]  # type: ignore[index]
    assert len(second) == SPEC["search"]["n_trials"]  # type: ignore[index]
    db = world.container.database("training")
    with db.engine.connect() as conn:
        finished = conn.execute(
            select(func.count())
            .select_from(events)
            .where(events.c.type == "training.JobFinished")
        ).scalar_one()
    assert finished == 1
    assert not worker.run_once()
    # the killed worker's points were spooled; the writer drains them
    assert world.container.drain_metric_spool() > 0
    assert world.container.drain_metric_spool() == 0
    scored = [r for r in _runs(world) if r["status"] == "finished"]
    assert all("accuracy" in r["metrics"] for r in scored)  # type: ignore[operator]
