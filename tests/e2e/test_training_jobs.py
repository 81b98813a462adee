"""Training jobs through HTTP: submit, run (a real runner subprocess), read, cancel.

The worker is driven from the test (``run_once``) so each step is deterministic;
the runner it starts is the real ``python -m phantom.training.jobs.runner``.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from phantom.bootstrap import training_worker
from phantom.training.worker import Worker
from tests.e2e.world import World, open_world
from tests.support import assert_problem
from tests.support.datasets import classification_csv

SEARCH: dict[str, Any] = {
    "name": "churn-rf",
    "experiment": "churn",
    "dataset": "churn",
    "target": "churned",
    "task": "classification",
    "estimator": "random_forest",
    "params": {"n_estimators": 20},
    "search": {
        "space": {"max_depth": {"type": "int", "low": 2, "high": 8}},
        "n_trials": 10,
        "seed": 7,
    },
    "cv": {"folds": 3},
    "metric": "accuracy",
}


@pytest.fixture
def world(home: Path) -> Iterator[World]:
    with open_world(home) as built:
        response = built.call(
            "POST",
            "/v1/datasets/churn/versions",
            key=built.owner_a,
            content=classification_csv(),
            headers={"content-type": "text/csv"},
        )
        assert response.status_code == 201, response.text
        yield built


@pytest.fixture
def worker(world: World) -> Worker:
    made = training_worker(world.container)
    assert made is not None
    return made


def submit(world: World, spec: Any, key: str | None = None) -> Any:
    return world.call("POST", "/v1/jobs", key=key or world.owner_a, json={"spec": spec})


def test_a_search_job_trains_scores_and_keeps_the_best_model(
    world: World, worker: Worker
) -> None:
    submitted = submit(world, SEARCH)
    assert submitted.status_code == 201, submitted.text
    job = submitted.json()
    assert job["status"] == "queued"
    assert job["spec"]["dataset_version"] == 1  # pinned at submission
    assert worker.run_once()
    done = world.call("GET", f"/v1/jobs/{job['job_id']}", key=world.viewer_a).json()
    assert done["status"] == "succeeded", done["error"]
    assert done["attempts"] == 1
    result = done["result"]
    assert result["n_trials"] == 10
    assert result["model_format"] == "skops"
    assert done["progress"]["trials_done"] == 10

    runs = world.call(
        "GET",
        "/v1/runs",
        key=world.viewer_a,
        params={
            "experiment": "churn",
            "order_by": "metrics.accuracy desc",
            "limit": 50,
        },
    ).json()["items"]
    assert len(runs) == 10
    assert all(run["job_id"] == job["job_id"] for run in runs)
    assert all(run["status"] == "finished" for run in runs)
    best = next(run for run in runs if run["run_id"] == result["best_run_id"])
    assert best["metrics"]["accuracy"] == pytest.approx(result["best_score"])
    assert best["metrics"]["accuracy"] == max(r["metrics"]["accuracy"] for r in runs)
    assert best["tags"]["phantom.best"] == "true"
    assert best["dataset_version"] == 1
    (model,) = best["artifacts"]
    assert model["name"] == "model.skops"
    assert model["digest"] == result["model_digest"]
    blob = world.call(
        "GET", f"/v1/runs/{best['run_id']}/artifacts/model.skops", key=world.viewer_a
    )
    assert blob.status_code == 200
    assert len(blob.content) == model["size_bytes"]

    logs = world.call("GET", f"/v1/jobs/{job['job_id']}/logs", key=world.viewer_a)
    lines = logs.json()
    assert any('"event":"finished"' in line["line"] for line in lines)
    later = world.call(
        "GET",
        f"/v1/jobs/{job['job_id']}/logs",
        key=world.viewer_a,
        params={"after": lines[-1]["seq"]},
    )
    assert later.json() == []
    assert not worker.run_once()  # nothing left to do


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"estimator": "os.system"}, "estimator"),
        ({"metric": "rmse"}, "metric"),
        ({"surprise": 1}, "surprise"),
        ({"dataset": "missing"}, "dataset"),
        (
            {"search": {"space": {"max_depth": {"type": "int", "low": 9, "high": 2}}}},
            "search",
        ),
    ],
)
def test_an_invalid_spec_is_refused_naming_the_field(
    world: World, change: dict[str, Any], field: str
) -> None:
    problem = assert_problem(submit(world, {**SEARCH, **change}), 422)
    assert field in problem["detail"]
    assert world.call("GET", "/v1/jobs", key=world.owner_a).json()["items"] == []


def test_yaml_specs_are_accepted(world: World) -> None:
    text = "dataset: churn\ntarget: churned\ntask: classification\nestimator: knn\n"
    response = submit(world, text)
    assert response.status_code == 201, response.text
    assert response.json()["spec"]["estimator"] == "knn"


def test_a_queued_job_is_cancelled_at_once(world: World, worker: Worker) -> None:
    job = submit(world, SEARCH).json()
    cancelled = world.call(
        "POST", f"/v1/jobs/{job['job_id']}/cancel", key=world.owner_a
    ).json()
    assert cancelled["status"] == "cancelled"
    assert not worker.run_once()
    again = world.call("POST", f"/v1/jobs/{job['job_id']}/cancel", key=world.owner_a)
    assert again.json()["status"] == "cancelled"


def test_viewers_cannot_submit_and_other_tenants_cannot_see(world: World) -> None:
    assert_problem(submit(world, SEARCH, key=world.viewer_a), 403)
    job = submit(world, SEARCH).json()
    for method, url in (
        ("GET", f"/v1/jobs/{job['job_id']}"),
        ("GET", f"/v1/jobs/{job['job_id']}/logs"),
        ("POST", f"/v1/jobs/{job['job_id']}/cancel"),
    ):
        assert_problem(world.call(method, url, key=world.owner_b), 404)
    assert world.call("GET", "/v1/jobs", key=world.owner_b).json()["items"] == []
    # B cannot train on A's dataset either: it does not exist for B
    problem = assert_problem(submit(world, SEARCH, key=world.owner_b), 422)
    assert "dataset" in problem["detail"]


def test_a_failing_job_is_retried_then_failed(world: World, worker: Worker) -> None:
    broken = {**SEARCH, "target": "no_such_column", "max_retries": 1}
    job = submit(world, broken).json()
    assert worker.run_once()
    first = world.call("GET", f"/v1/jobs/{job['job_id']}", key=world.owner_a).json()
    assert first["status"] == "queued"  # back in the queue, after a backoff
    assert first["error"]
    world.later(60)
    assert worker.run_once()
    last = world.call("GET", f"/v1/jobs/{job['job_id']}", key=world.owner_a).json()
    assert last["status"] == "failed"
    assert last["attempts"] == 2
    assert "target" in last["error"]
