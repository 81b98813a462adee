"""The job queue's rules through the real worker: priority, per-tenant limits,
cancelling a running job, timeouts, and registering a server file by path."""

from __future__ import annotations

import dataclasses
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from phantom.bootstrap import training_worker
from phantom.kernel.events.sql import to_us
from phantom.training.adapters import jobs_sql
from tests.e2e.world import World, open_world
from tests.support import assert_problem, wait_until
from tests.support.datasets import classification_csv

SEARCH: dict[str, Any] = {
    "dataset": "churn",
    "target": "churned",
    "task": "classification",
    "estimator": "knn",
    "max_retries": 0,
}


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    imports = tmp_path / "imports"
    imports.mkdir()
    with open_world(
        tmp_path / "home", dataset_import_roots=[imports], max_running_jobs_per_tenant=1
    ) as built:
        for key in (built.owner_a, built.owner_b):
            built.call(
                "POST",
                "/v1/datasets/churn/versions",
                key=key,
                content=classification_csv(),
                headers={"content-type": "text/csv"},
            )
        yield built


def submit(world: World, key: str, **change: Any) -> dict[str, Any]:
    response = world.call(
        "POST", "/v1/jobs", key=key, json={"spec": {**SEARCH, **change}}
    )
    assert response.status_code == 201, response.text
    job: dict[str, Any] = response.json()
    return job


def lease(world: World, worker: str) -> jobs_sql.JobRecord | None:
    return jobs_sql.lease(
        world.container.database("training"),
        worker=worker,
        now_us=to_us(world.clock.now()),
        lease_us=30_000_000,
        max_running_per_tenant=1,
    )


def test_higher_priority_first_and_one_running_job_per_tenant(world: World) -> None:
    low = submit(world, world.owner_a, priority=1)
    high = submit(world, world.owner_a, priority=9)
    other = submit(world, world.owner_b, priority=0)
    first = lease(world, "w1")
    assert first is not None
    assert first.job_id == high["job_id"]
    second = lease(world, "w2")  # A is at its limit: B's job goes ahead
    assert second is not None
    assert second.job_id == other["job_id"]
    assert lease(world, "w3") is None  # A's other job waits for A's running one
    with world.container.training.store.write(first.tenant_id) as tx:  # type: ignore[union-attr]
        assert jobs_sql.release(
            tx.connection,
            tenant_id=first.tenant_id,
            job_id=first.job_id,
            worker="w1",
            status="succeeded",
            now_us=to_us(world.clock.now()),
        )
    third = lease(world, "w3")
    assert third is not None
    assert third.job_id == low["job_id"]


def test_a_running_job_is_cancelled_by_its_worker(world: World) -> None:
    job = submit(
        world,
        world.owner_a,
        estimator="random_forest",
        params={"n_estimators": 50},
        search={
            "space": {"max_depth": {"type": "int", "low": 2, "high": 12}},
            "n_trials": 500,
        },
        cv={"folds": 3},
    )
    worker = training_worker(world.container)
    assert worker is not None
    thread = threading.Thread(target=worker.run_once)
    thread.start()
    try:
        assert wait_until(lambda: _progress(world, job["job_id"]) >= 1, timeout=60)
        cancelled = world.call(
            "POST", f"/v1/jobs/{job['job_id']}/cancel", key=world.owner_a
        ).json()
        assert cancelled["cancel_requested"] is True
    finally:
        thread.join(timeout=90)
    assert not thread.is_alive()
    done = world.call("GET", f"/v1/jobs/{job['job_id']}", key=world.owner_a).json()
    assert done["status"] == "cancelled"
    assert done["progress"]["trials_done"] < 500


def _progress(world: World, job_id: str) -> int:
    job = world.call("GET", f"/v1/jobs/{job_id}", key=world.owner_a).json()
    return int((job.get("progress") or {}).get("trials_done") or 0)


def test_a_job_past_its_timeout_is_killed_and_not_retried(
    world: World, tmp_path: Path
) -> None:
    sleeper = tmp_path / "sleeper"
    sleeper.write_text(
        f"#!/bin/sh\nexec {sys.executable} -c 'import time; time.sleep(600)'\n",
        encoding="utf-8",
    )
    sleeper.chmod(0o755)
    job = submit(world, world.owner_a, max_retries=3, resources={"timeout_s": 1})
    worker = training_worker(world.container)
    assert worker is not None
    worker.settings = dataclasses.replace(
        worker.settings, python=str(sleeper), lease_s=3
    )
    started = time.monotonic()
    assert worker.run_once()
    assert time.monotonic() - started < 30
    done = world.call("GET", f"/v1/jobs/{job['job_id']}", key=world.owner_a).json()
    assert done["status"] == "failed"
    assert "timeout" in done["error"]


def test_administrators_register_server_files_inside_the_import_roots(
    world: World, tmp_path: Path
) -> None:
    inside = tmp_path / "imports" / "big.csv"
    inside.write_bytes(classification_csv(50))
    outside = tmp_path / "secret.csv"
    outside.write_bytes(b"a,b\n1,2\n")
    (tmp_path / "imports" / "link.csv").symlink_to(outside)
    owner = world.owner_a  # A's owner is a platform administrator in this world
    done = world.call(
        "POST", "/v1/datasets", key=owner, json={"name": "big", "path": str(inside)}
    )
    assert done.status_code == 201, done.text
    assert done.json()["source"] == "path"
    assert done.json()["row_count"] == 50
    for path in (str(outside), str(tmp_path / "imports" / "link.csv"), "/etc/passwd"):
        refused = world.call(
            "POST", "/v1/datasets", key=owner, json={"name": "x", "path": path}
        )
        assert "path" in assert_problem(refused, 422)["detail"]
    not_admin = world.call(
        "POST",
        "/v1/datasets",
        key=world.owner_b,
        json={"name": "y", "path": str(inside)},
    )
    assert_problem(not_admin, 403)


def test_a_job_over_its_memory_limit_fails(world: World, tmp_path: Path) -> None:
    hog = tmp_path / "hog"
    hog.write_text(
        f"#!/bin/sh\nexec {sys.executable} -c 'bytearray(1024 * 1024 * 1024)'\n",
        encoding="utf-8",
    )
    hog.chmod(0o755)
    job = submit(world, world.owner_a, resources={"memory_mb": 512})
    worker = training_worker(world.container)
    assert worker is not None
    worker.settings = dataclasses.replace(worker.settings, python=str(hog))
    assert worker.run_once()
    done = world.call("GET", f"/v1/jobs/{job['job_id']}", key=world.owner_a).json()
    assert done["status"] == "failed"
    logs = world.call("GET", f"/v1/jobs/{job['job_id']}/logs", key=world.owner_a)
    assert any("MemoryError" in line["line"] for line in logs.json())
