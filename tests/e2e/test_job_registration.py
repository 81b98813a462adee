"""Training jobs with ``register_as`` register their best model in the registry.

Submitted through HTTP, run by the real worker and runner, read back through the
registry's routes: the version is the best run's model file, with its signature,
score, parameters and lineage (dataset version, run, job).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from phantom.bootstrap import training_worker
from phantom.kernel.errors import Unavailable
from phantom.training.worker import RegisterRequest, Worker
from tests.e2e.world import World, open_world
from tests.support import assert_problem
from tests.support.datasets import classification_csv

SPEC: dict[str, Any] = {
    "name": "churn-rf",
    "experiment": "churn",
    "dataset": "churn",
    "target": "churned",
    "task": "classification",
    "estimator": "random_forest",
    "params": {"n_estimators": 10},
    "search": {
        "space": {"max_depth": {"type": "int", "low": 2, "high": 6}},
        "n_trials": 3,
        "seed": 7,
    },
    "cv": {"folds": 2},
    "metric": "accuracy",
    "register_as": "churn-model",
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


def run_job(world: World, worker: Worker, spec: dict[str, Any]) -> dict[str, Any]:
    submitted = world.call("POST", "/v1/jobs", key=world.owner_a, json={"spec": spec})
    assert submitted.status_code == 201, submitted.text
    assert worker.run_once()
    url = f"/v1/jobs/{submitted.json()['job_id']}"
    done: dict[str, Any] = world.call("GET", url, key=world.owner_a).json()
    assert done["status"] == "succeeded", done["error"]
    return done


def test_the_best_model_becomes_a_version_with_its_lineage(
    world: World, worker: Worker
) -> None:
    job = run_job(world, worker, SPEC)
    result = job["result"]
    assert result["registered_model"] == {"name": "churn-model", "version": 1}
    assert "registration_error" not in result

    url = "/v1/models/churn-model/versions/1"
    version = world.call("GET", url, key=world.viewer_a).json()
    assert version["digest"] == result["model_digest"]
    assert version["format"] == "skops"
    assert version["source"] == "artifact"
    assert version["run_id"] == result["best_run_id"]
    assert version["job_id"] == job["job_id"]
    assert version["dataset_id"] == job["spec"]["dataset"]
    assert version["dataset_version"] == 1
    assert version["signature"] == result["signature"]
    assert version["signature"]  # the runner describes every feature
    assert version["metrics"] == {"accuracy": pytest.approx(result["best_score"])}
    assert version["params"]["max_depth"] == str(result["best_params"]["max_depth"])
    assert version["created_by"] == world.a.owner.id
    content = world.call("GET", f"{url}/content", key=world.viewer_a)
    run_model = world.call(
        "GET",
        f"/v1/runs/{result['best_run_id']}/artifacts/model.skops",
        key=world.viewer_a,
    )
    assert content.content == run_model.content

    again = run_job(world, worker, SPEC)  # the next job: the next version
    assert again["result"]["registered_model"] == {"name": "churn-model", "version": 2}
    # another tenant sees neither the model nor its versions
    assert_problem(world.call("GET", url, key=world.owner_b), 404)


def test_a_failed_registration_leaves_the_job_succeeded(
    world: World, worker: Worker
) -> None:
    def refuse(request: RegisterRequest) -> int:
        msg = "the registry is down"
        raise Unavailable(msg)

    worker.settings = dataclasses.replace(worker.settings, register_model=refuse)
    result = run_job(world, worker, SPEC)["result"]
    assert result["registration_error"] == "the registry is down"
    assert "registered_model" not in result
    assert result["model_digest"]  # the model stays the best run's artifact
    artifact = world.call(
        "GET",
        f"/v1/runs/{result['best_run_id']}/artifacts/model.skops",
        key=world.owner_a,
    )
    assert artifact.status_code == 200
    missing = world.call("GET", "/v1/models/churn-model", key=world.owner_a)
    assert_problem(missing, 404)


def test_without_a_registry_the_result_says_so(world: World, worker: Worker) -> None:
    worker.settings = dataclasses.replace(worker.settings, register_model=None)
    result = run_job(world, worker, SPEC)["result"]
    assert result["registration_error"] == "this deployment has no model registry"


def test_registering_the_same_job_twice_keeps_one_version(
    world: World, worker: Worker
) -> None:
    result = run_job(world, worker, SPEC)["result"]
    register = worker.settings.register_model
    assert register is not None
    job_id = world.call("GET", "/v1/jobs", key=world.owner_a).json()["items"][0]
    request = RegisterRequest(
        tenant_id=world.a.tenant.id,
        user_id=world.a.owner.id,
        job_id=job_id["job_id"],
        name="churn-model",
        digest=result["model_digest"],
        model_format="skops",
        run_id=result["best_run_id"],
    )
    assert register(request) == 1  # found, not registered again
    versions = world.call("GET", "/v1/models/churn-model/versions", key=world.owner_a)
    assert [v["version"] for v in versions.json()] == [1]


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"register_as": "churn model!"}, "register_as: a model name"),
        (
            {"kind": "entrypoint", "entrypoint": {"file": "train.py"}},
            "register_as: only for kind search",
        ),
    ],
)
def test_a_register_as_the_registry_would_refuse_is_refused_at_submission(
    world: World, change: dict[str, Any], expected: str
) -> None:
    spec = {**SPEC, **change}
    if change.get("kind") == "entrypoint":
        for field in ("estimator", "search", "cv", "metric", "params", "target"):
            spec.pop(field)
    response = world.call(
        "POST",
        "/v1/jobs",
        key=world.owner_a,
        json={"spec": spec, "files": {"train.py": "print('hi')\n"}},
    )
    problem = assert_problem(response, 422)
    assert expected in problem["detail"]
