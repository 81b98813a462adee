"""The training API through HTTP: datasets, experiments, runs, metrics, artifacts.

Everything as the caller's tenant; another tenant's ids answer 404 and change
nothing; bad input answers problem+json.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from tests.e2e.world import World, open_world
from tests.support import assert_problem

BACKENDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]
CSV = b"age,plan,churned\n34,basic,0\n51,pro,1\n29,basic,0\n,pro,1\n"


@pytest.fixture
def world(home: Path) -> Iterator[World]:
    with open_world(home, max_upload_bytes=64 * 1024) as built:
        yield built


@pytest.fixture(params=BACKENDS)
def any_world(request: pytest.FixtureRequest, home: Path) -> Iterator[World]:
    with open_world(home, request.param) as built:
        yield built


def upload(
    world: World, name: str, body: bytes, key: str | None = None, **q: str
) -> Any:
    return world.call(
        "POST",
        f"/v1/datasets/{name}/versions",
        key=key or world.owner_a,
        content=body,
        params=q,
        headers={"content-type": "text/csv"},
    )


def start(world: World, key: str | None = None, **body: Any) -> dict[str, Any]:
    body.setdefault("experiment", "churn")
    response = world.call("POST", "/v1/runs", key=key or world.owner_a, json=body)
    assert response.status_code == 201, response.text
    result: dict[str, Any] = response.json()
    return result


# --- datasets -------------------------------------------------------------------


def test_a_csv_becomes_a_versioned_profiled_dataset(any_world: World) -> None:
    world = any_world
    first = upload(world, "churn", CSV, description="customers")
    assert first.status_code == 201, first.text
    v1 = first.json()
    assert v1["version"] == 1
    assert v1["format"] == "csv"
    assert v1["row_count"] == 4
    assert v1["columns"] == [
        {"name": "age", "type": "integer"},
        {"name": "plan", "type": "string"},
        {"name": "churned", "type": "integer"},
    ]
    again = upload(world, "churn", CSV).json()
    assert again["version"] == 1  # the same bytes: no new version
    v2 = upload(world, "churn", CSV + b"40,pro,0\n").json()
    assert v2["version"] == 2
    assert v2["digest"] != v1["digest"]

    dataset = world.call("GET", "/v1/datasets/churn", key=world.viewer_a).json()
    assert dataset["latest_version"] == 2
    assert dataset["description"] == "customers"
    versions = world.call("GET", "/v1/datasets/churn/versions", key=world.viewer_a)
    assert [v["version"] for v in versions.json()] == [2, 1]
    profile = world.call(
        "GET", "/v1/datasets/churn/versions/1", key=world.viewer_a
    ).json()["profile"]
    age = profile[0]
    assert (age["count"], age["nulls"], age["min"], age["max"]) == (3, 1, 29.0, 51.0)
    plan = profile[1]
    assert plan["top"] == [{"value": "basic", "count": 2}, {"value": "pro", "count": 2}]
    content = world.call(
        "GET", "/v1/datasets/churn/versions/1/content", key=world.viewer_a
    )
    assert content.content == CSV
    assert content.headers["etag"] == f'"{v1["digest"]}"'
    page = world.call("GET", "/v1/datasets", key=world.viewer_a).json()
    assert [d["name"] for d in page["items"]] == ["churn"]


def test_parquet_is_detected_from_its_bytes(world: World) -> None:
    sink = io.BytesIO()
    pq.write_table(pa.table({"x": [1.5, 2.5], "y": ["a", "b"]}), sink)
    response = upload(world, "pq", sink.getvalue())
    assert response.status_code == 201, response.text
    assert response.json()["format"] == "parquet"


@pytest.mark.parametrize(
    ("body", "query", "needle"),
    [
        (b"\x00\x01\x02garbage\xff\xfe", {}, "could not read"),
        (CSV, {"format": "parquet"}, "format"),
        (b"", {}, "could not read"),
    ],
)
def test_unreadable_uploads_are_refused_clearly(
    world: World, body: bytes, query: dict[str, str], needle: str
) -> None:
    problem = assert_problem(upload(world, "bad", body, **query), 422)
    assert needle in problem["detail"]
    assert world.call("GET", "/v1/datasets/bad", key=world.owner_a).status_code == 404


def test_an_upload_over_the_limit_is_413_and_stores_nothing(world: World) -> None:
    big = b"a,b\n" + b"1,2\n" * 20_000
    assert_problem(upload(world, "big", big), 413)
    assert world.call("GET", "/v1/datasets/big", key=world.owner_a).status_code == 404


def test_viewers_read_but_do_not_upload(world: World) -> None:
    assert_problem(upload(world, "churn", CSV, key=world.viewer_a), 403)


def test_registering_a_server_path_is_off_unless_configured(world: World) -> None:
    response = world.call(
        "POST",
        "/v1/datasets",
        key=world.owner_a,
        json={"name": "x", "path": "/etc/passwd"},
    )
    assert_problem(response, 403)


def test_another_tenants_datasets_do_not_exist_for_me(world: World) -> None:
    upload(world, "churn", CSV)
    for url in (
        "/v1/datasets/churn",
        "/v1/datasets/churn/versions",
        "/v1/datasets/churn/versions/1",
        "/v1/datasets/churn/versions/1/content",
    ):
        assert_problem(world.call("GET", url, key=world.owner_b), 404)
    assert world.call("GET", "/v1/datasets", key=world.owner_b).json()["items"] == []
    # B may use the same name for its own, separate dataset
    assert upload(world, "churn", CSV, key=world.owner_b).json()["version"] == 1


# --- experiments and runs -------------------------------------------------------


def test_experiments_have_unique_names(world: World) -> None:
    created = world.call(
        "POST", "/v1/experiments", key=world.owner_a, json={"name": "exp"}
    )
    assert created.status_code == 201
    again = world.call(
        "POST", "/v1/experiments", key=world.owner_a, json={"name": "exp"}
    )
    assert_problem(again, 409)
    by_name = world.call("GET", "/v1/experiments/exp", key=world.viewer_a).json()
    assert by_name["experiment_id"] == created.json()["experiment_id"]


def test_a_run_logs_params_tags_metrics_and_ends(any_world: World) -> None:
    world = any_world
    upload(world, "churn", CSV)
    run = start(
        world, name="rf-1", params={"depth": "3"}, tags={"team": "a"}, dataset="churn"
    )
    assert run["status"] == "running"
    assert run["dataset_version"] == 1
    run_id = run["run_id"]
    points = [{"key": "loss", "value": 1.0 / (s + 1), "step": s} for s in range(50)]
    written = world.call(
        "POST",
        f"/v1/runs/{run_id}/metrics",
        key=world.owner_a,
        json={"metrics": points},
    )
    assert written.json() == {"written": 50}
    patched = world.call(
        "PATCH",
        f"/v1/runs/{run_id}",
        key=world.owner_a,
        json={"params": {"lr": "0.1"}, "tags": {"team": "b"}, "status": "finished"},
    ).json()
    assert patched["params"] == {"depth": "3", "lr": "0.1"}
    assert patched["tags"] == {"team": "b"}
    assert patched["status"] == "finished"
    assert patched["ended_at"] is not None
    assert patched["metrics"] == {"loss": pytest.approx(1 / 50)}
    history = world.call(
        "GET", f"/v1/runs/{run_id}/metrics/loss", key=world.viewer_a
    ).json()
    assert history["steps"] == list(range(50))
    assert history["values"][0] == 1.0
    assert len(history["timestamps_us"]) == 50
    summary = world.call("GET", f"/v1/runs/{run_id}/metrics", key=world.viewer_a)
    assert summary.json()[0]["count"] == 50
    changed = world.call(
        "PATCH", f"/v1/runs/{run_id}", key=world.owner_a, json={"params": {"lr": "9"}}
    )
    assert_problem(changed, 409)
    ended_otherwise = world.call(
        "PATCH", f"/v1/runs/{run_id}", key=world.owner_a, json={"status": "failed"}
    )
    assert_problem(ended_otherwise, 409)


def test_runs_are_searched_by_params_metrics_and_tags(world: World) -> None:
    ids = []
    for i, depth in enumerate([2, 8, 5]):
        run = start(world, params={"depth": str(depth)}, tags={"i": str(i)})
        world.call(
            "POST",
            f"/v1/runs/{run['run_id']}/metrics",
            key=world.owner_a,
            json={"metrics": [{"key": "acc", "value": depth / 10}]},
        )
        ids.append(run["run_id"])
    found = world.call(
        "GET",
        "/v1/runs",
        key=world.viewer_a,
        params={
            "experiment": "churn",
            "filter": "metrics.acc >= 0.5 and params.depth != '2'",
            "order_by": "metrics.acc desc",
        },
    ).json()
    assert [r["run_id"] for r in found["items"]] == [ids[1], ids[2]]
    bad = world.call("GET", "/v1/runs", key=world.viewer_a, params={"filter": "x >"})
    assert "filter" in assert_problem(bad, 422)["detail"]
    compared = world.call(
        "GET",
        "/v1/runs/compare",
        key=world.viewer_a,
        params=[("ids", ids[0]), ("ids", ids[1])],
    ).json()
    assert compared["differing_params"] == ["depth"]
    assert compared["metric_keys"] == ["acc"]


@pytest.mark.parametrize(
    "points",
    [
        [{"key": "loss", "value": "high"}],
        [{"key": "", "value": 1.0}],
        [{"key": "loss", "value": 1.0, "step": -1}],
        [{"key": "loss", "value": 1.0, "extra": 1}],
        [{"key": "loss", "value": 1.0}] * 10_001,
    ],
)
def test_bad_metric_batches_write_nothing(world: World, points: Any) -> None:
    run_id = start(world)["run_id"]
    response = world.call(
        "POST",
        f"/v1/runs/{run_id}/metrics",
        key=world.owner_a,
        json={"metrics": points},
    )
    assert response.status_code in {413, 422}
    assert (
        world.call("GET", f"/v1/runs/{run_id}/metrics", key=world.owner_a).json() == []
    )


def test_another_tenants_runs_do_not_exist_for_me(world: World) -> None:
    run_id = start(world, params={"p": "1"})["run_id"]
    point = {"metrics": [{"key": "loss", "value": 1.0}]}
    for method, url, body in (
        ("GET", f"/v1/runs/{run_id}", None),
        ("PATCH", f"/v1/runs/{run_id}", {"status": "killed"}),
        ("POST", f"/v1/runs/{run_id}/metrics", point),
        ("GET", f"/v1/runs/{run_id}/metrics", None),
        ("GET", f"/v1/runs/{run_id}/metrics/loss", None),
        ("GET", f"/v1/runs/{run_id}/artifacts", None),
        ("GET", "/v1/experiments/churn", None),
    ):
        response = world.call(method, url, key=world.owner_b, json=body)
        assert_problem(response, 404)
    assert world.call("GET", "/v1/runs", key=world.owner_b).json()["items"] == []
    mine = world.call("GET", f"/v1/runs/{run_id}", key=world.owner_a).json()
    assert mine["status"] == "running"
    assert mine["metrics"] == {}


# --- artifacts --------------------------------------------------------------------


def test_artifacts_round_trip_under_their_names(world: World) -> None:
    run_id = start(world)["run_id"]
    put = world.call(
        "PUT",
        f"/v1/runs/{run_id}/artifacts/plots/roc.png",
        key=world.owner_a,
        content=b"\x89PNG fake",
        headers={"content-type": "image/png"},
    )
    assert put.status_code == 201, put.text
    assert put.json()["media_type"] == "image/png"
    got = world.call(
        "GET", f"/v1/runs/{run_id}/artifacts/plots/roc.png", key=world.viewer_a
    )
    assert got.content == b"\x89PNG fake"
    assert got.headers["content-type"] == "image/png"
    listed = world.call("GET", f"/v1/runs/{run_id}/artifacts", key=world.viewer_a)
    assert [a["name"] for a in listed.json()] == ["plots/roc.png"]
    other = world.call(
        "GET", f"/v1/runs/{run_id}/artifacts/plots/roc.png", key=world.owner_b
    )
    assert_problem(other, 404)


@pytest.mark.parametrize(
    "name",
    ["..%2F..%2Fsentinel", "a/%2e%2e/%2e%2e/sentinel", "%00x", "a\\..\\b", "./x"],
)
def test_hostile_artifact_names_never_reach_the_disk(
    world: World, home: Path, name: str
) -> None:
    sentinel = home.parent / "sentinel"
    sentinel.write_bytes(b"untouched")
    run_id = start(world)["run_id"]
    response = world.call(
        "PUT",
        f"/v1/runs/{run_id}/artifacts/{name}",
        key=world.owner_a,
        content=b"overwrite?",
    )
    if response.status_code == 201:  # a literal, harmless name: stored by hash
        stored = response.json()
        assert "/" not in stored["digest"]
    else:
        assert response.status_code in {404, 422}, response.text
    assert sentinel.read_bytes() == b"untouched"
    stray = [p for p in home.parent.rglob("*") if p.name in {"sentinel", "x", "b"}]
    assert stray == [sentinel]
