"""Batch inference jobs through HTTP: submit, run (the real worker), download Parquet.

A skops model with a signature is registered through the registry's routes and
deployed as ``production``; a dataset is uploaded; ``POST /v1/batch-jobs``
queues a job that the worker (driven from the test with ``run_once``) scores
chunk by chunk into a Parquet file, read back from ``/output``.
"""

from __future__ import annotations

import dataclasses
import hashlib
import io
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow.parquet as pq
import pytest
from sklearn.linear_model import LogisticRegression
from skops import io as sio

from phantom.bootstrap import training_worker
from phantom.training.worker import Worker
from tests.e2e.world import World, open_world
from tests.support import assert_problem

FEATURES = [
    {"name": "f1", "type": "float"},
    {"name": "f2", "type": "float"},
    {"name": "f3", "type": "integer"},
]
ROWS = 50
CHUNK = 16  # 50 rows: three full chunks and a partial one


def training_matrix(seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = np.column_stack(
        [rng.normal(size=80), rng.normal(size=80), rng.integers(-3, 4, size=80)]
    ).astype(np.float64)
    y = (x[:, 0] + 0.5 * x[:, 2] > 0).astype(int)
    return x, y


def fitted_model() -> LogisticRegression:
    x, y = training_matrix()
    return LogisticRegression().fit(x, y)


def scoring_rows(seed: int = 1) -> list[tuple[int, float, float, int]]:
    rng = np.random.default_rng(seed)
    return [
        (
            i,
            round(float(rng.normal()), 6),
            round(float(rng.normal()), 6),
            int(rng.integers(-3, 4)),
        )
        for i in range(ROWS)
    ]


def csv_of(header: list[str], rows: list[tuple[Any, ...]]) -> bytes:
    lines = [",".join(header)] + [",".join(str(v) for v in row) for row in rows]
    return ("\n".join(lines) + "\n").encode()


def upload_dataset(world: World, name: str, body: bytes, key: str) -> None:
    response = world.call(
        "POST",
        f"/v1/datasets/{name}/versions",
        key=key,
        content=body,
        headers={"content-type": "text/csv"},
    )
    assert response.status_code == 201, response.text


def register_model(world: World, name: str, model: LogisticRegression) -> None:
    """Version 1 of ``name`` with :data:`FEATURES` as its signature, in production."""
    run = world.call(
        "POST", "/v1/runs", key=world.owner_a, json={"experiment": "batch"}
    ).json()
    stored = world.call(
        "PUT",
        f"/v1/runs/{run['run_id']}/artifacts/model.skops",
        key=world.owner_a,
        content=sio.dumps(model),
        headers={"content-type": "application/octet-stream"},
    )
    assert stored.status_code in {200, 201}, stored.text
    registered = world.call(
        "POST",
        f"/v1/models/{name}/versions/from-artifact",
        key=world.owner_a,
        json={
            "digest": stored.json()["digest"],
            "format": "skops",
            "signature": FEATURES,
            "run_id": run["run_id"],
        },
    )
    assert registered.status_code == 201, registered.text
    moved = world.call(
        "PUT",
        f"/v1/models/{name}/aliases/production",
        key=world.owner_a,
        json={"version": 1},
    )
    assert moved.status_code == 200, moved.text


@pytest.fixture
def world(home: Path) -> Iterator[World]:
    with open_world(home) as built:
        register_model(built, "scorer", fitted_model())
        upload_dataset(
            built,
            "scoring",
            csv_of(["id", "f1", "f2", "f3"], list(scoring_rows())),
            built.owner_a,
        )
        yield built


@pytest.fixture
def worker(world: World) -> Worker:
    made = training_worker(world.container)
    assert made is not None
    made.settings = dataclasses.replace(made.settings, batch_rows=CHUNK)
    return made


def submit(world: World, key: str | None = None, **body: Any) -> Any:
    body = {"model": "scorer", "dataset": "scoring", **body}
    return world.call("POST", "/v1/batch-jobs", key=key or world.owner_a, json=body)


def run(world: World, worker: Worker, **body: Any) -> dict[str, Any]:
    submitted = submit(world, **body)
    assert submitted.status_code == 201, submitted.text
    assert worker.run_once()
    url = f"/v1/batch-jobs/{submitted.json()['job_id']}"
    job: dict[str, Any] = world.call("GET", url, key=world.owner_a).json()
    return job


def test_a_batch_job_scores_every_row_into_a_parquet_file(
    world: World, worker: Worker
) -> None:
    submitted = submit(world)
    assert submitted.status_code == 201, submitted.text
    job = submitted.json()
    assert (job["kind"], job["status"]) == ("batch", "queued")
    # the production alias's version and the latest dataset version are pinned
    assert job["spec"]["version"] == 1
    assert job["spec"]["alias"] == "production"
    assert job["spec"]["dataset_version"] == 1

    assert worker.run_once()
    url = f"/v1/batch-jobs/{job['job_id']}"
    done = world.call("GET", url, key=world.viewer_a).json()
    assert done["status"] == "succeeded", done["error"]
    assert done["attempts"] == 1
    assert done["progress"] == {"rows_done": ROWS, "rows_total": ROWS}
    result = done["result"]
    assert result["format"] == "parquet"
    assert (result["model"], result["version"], result["rows"]) == ("scorer", 1, ROWS)
    assert result["columns"] == ["f1", "f2", "f3", "prediction", "proba_0", "proba_1"]

    output = world.call("GET", f"{url}/output", key=world.viewer_a)
    assert output.status_code == 200, output.text
    assert output.headers["content-type"] == "application/vnd.apache.parquet"
    digest = hashlib.sha256(output.content).hexdigest()
    assert output.headers["etag"] == f'"{digest}"'
    assert digest == result["output_digest"]
    assert len(output.content) == result["output_bytes"]

    table = pq.read_table(io.BytesIO(output.content))
    assert table.num_rows == ROWS
    assert table.column_names == result["columns"]
    x = np.array([row[1:] for row in scoring_rows()], dtype=np.float64)
    model = fitted_model()
    assert table.column("prediction").to_pylist() == model.predict(x).tolist()
    proba = np.column_stack(
        [table.column("proba_0").to_numpy(), table.column("proba_1").to_numpy()]
    )
    np.testing.assert_allclose(proba, model.predict_proba(x), rtol=1e-9)
    assert table.column("f3").to_pylist() == [row[3] for row in scoring_rows()]

    # the job is a batch job and a job; a search job is not a batch job
    listed = world.call("GET", "/v1/batch-jobs", key=world.owner_a).json()
    assert [j["job_id"] for j in listed["items"]] == [job["job_id"]]
    as_job = world.call("GET", f"/v1/jobs/{job['job_id']}", key=world.owner_a)
    assert as_job.json()["kind"] == "batch"
    logs = world.call("GET", f"/v1/jobs/{job['job_id']}/logs", key=world.owner_a)
    assert any("scoring" in line["line"] for line in logs.json())


def test_a_pinned_version_and_dataset_version_score(
    world: World, worker: Worker
) -> None:
    upload_dataset(
        world,
        "scoring",
        csv_of(["f1", "f2", "f3"], [(0.5, 0.1, 2), (-1.0, 0.0, -1)]),
        world.owner_a,
    )
    latest = run(world, worker, version=1)
    assert latest["status"] == "succeeded", latest["error"]
    assert latest["spec"]["dataset_version"] == 2
    assert latest["spec"].get("alias") is None
    assert latest["result"]["rows"] == 2

    first = run(world, worker, alias="production", dataset_version=1)
    assert first["status"] == "succeeded", first["error"]
    assert first["result"]["rows"] == ROWS


@pytest.mark.parametrize(
    ("body", "status", "expected"),
    [
        ({"model": "no-such-model"}, 404, "no-such-model"),
        ({"version": 9}, 404, ""),
        ({"alias": "staging"}, 404, "staging"),
        ({"dataset": "no-such-data"}, 422, "dataset"),
        ({"dataset_version": 7}, 422, "dataset"),
        ({"version": 1, "alias": "production"}, 422, "alias"),
        ({"model": "bad name!"}, 422, "model"),
        ({"target": "y"}, 422, "target"),
    ],
)
def test_a_bad_submission_is_refused(
    world: World, body: dict[str, Any], status: int, expected: str
) -> None:
    problem = assert_problem(submit(world, **body), status)
    assert expected in json.dumps(problem)  # the detail, or a field error's loc
    listed = world.call("GET", "/v1/batch-jobs", key=world.owner_a).json()
    assert listed["items"] == []


def test_a_batch_job_needs_predict(world: World) -> None:
    assert_problem(submit(world, key=world.viewer_a), 403)


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"target": "y"}, "target: not for kind batch"),
        ({"model": None}, "model: required for kind batch"),
        ({"version": 1, "alias": "production"}, "alias: give a version or an alias"),
    ],
)
def test_a_batch_spec_through_the_jobs_route_is_checked(
    world: World, change: dict[str, Any], expected: str
) -> None:
    spec = {"kind": "batch", "model": "scorer", "dataset": "scoring", **change}
    spec = {k: v for k, v in spec.items() if v is not None}
    response = world.call("POST", "/v1/jobs", key=world.owner_a, json={"spec": spec})
    assert expected in assert_problem(response, 422)["detail"]


def test_a_missing_feature_column_fails_the_job_at_once_naming_it(
    world: World, worker: Worker
) -> None:
    rows = [(row[0], row[1], row[2]) for row in scoring_rows()]
    upload_dataset(world, "partial", csv_of(["id", "f1", "f2"], rows), world.owner_a)
    job = run(world, worker, dataset="partial")
    assert job["status"] == "failed"
    assert job["attempts"] == 1  # not retried: it would fail the same way
    assert "'f3'" in job["error"]
    assert "no column" in job["error"]
    output = world.call(
        "GET", f"/v1/batch-jobs/{job['job_id']}/output", key=world.owner_a
    )
    assert_problem(output, 409)


def test_a_value_that_does_not_fit_the_signature_fails_naming_feature_and_row(
    world: World, worker: Worker
) -> None:
    rows: list[tuple[Any, ...]] = [(0.5, 0.1, 2), (0.2, 0.3, 1.5), (0.1, 0.1, 0)]
    upload_dataset(world, "fractions", csv_of(["f1", "f2", "f3"], rows), world.owner_a)
    job = run(world, worker, dataset="fractions")
    assert job["status"] == "failed"
    assert "row 2 of the dataset" in job["error"]
    assert "'f3'" in job["error"]


def test_missing_values_reach_the_model_as_missing(
    world: World, worker: Worker
) -> None:
    upload_dataset(
        world,
        "holes",
        b"f1,f2,f3\n0.5,,2\n-1.0,0.0,-1\n",
        world.owner_a,
    )
    job = run(world, worker, dataset="holes")
    # a logistic regression cannot take NaN: the model's refusal is the error
    assert job["status"] == "failed"
    assert "could not score" in job["error"]


def test_a_cancelled_batch_job_does_not_run(world: World, worker: Worker) -> None:
    job = submit(world).json()
    cancelled = world.call(
        "POST", f"/v1/jobs/{job['job_id']}/cancel", key=world.owner_a
    )
    assert cancelled.json()["status"] == "cancelled"
    assert not worker.run_once()


def test_another_tenant_sees_neither_the_job_nor_the_model(
    world: World, worker: Worker
) -> None:
    job = run(world, worker)
    assert job["status"] == "succeeded", job["error"]
    url = f"/v1/batch-jobs/{job['job_id']}"
    assert_problem(world.call("GET", url, key=world.owner_b), 404)
    assert_problem(world.call("GET", f"{url}/output", key=world.owner_b), 404)
    listed = world.call("GET", "/v1/batch-jobs", key=world.owner_b).json()
    assert listed["items"] == []
    # B has a dataset of the same name but not A's model
    upload_dataset(
        world, "scoring", csv_of(["f1", "f2", "f3"], [(1.0, 2.0, 3)]), world.owner_b
    )
    assert_problem(submit(world, key=world.owner_b), 404)


def test_a_search_job_is_not_a_batch_job(world: World) -> None:
    search = {
        "dataset": "scoring",
        "target": "f3",
        "task": "regression",
        "estimator": "ridge",
    }
    queued = world.call("POST", "/v1/jobs", key=world.owner_a, json={"spec": search})
    assert queued.status_code == 201, queued.text
    job_id = queued.json()["job_id"]
    assert_problem(
        world.call("GET", f"/v1/batch-jobs/{job_id}", key=world.owner_a), 404
    )
    listed = world.call("GET", "/v1/batch-jobs", key=world.owner_a).json()
    assert listed["items"] == []
