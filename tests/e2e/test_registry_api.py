"""The registry API through HTTP: models, versions, aliases with history.

Everything as the caller's tenant; another tenant's names answer 404 and change
nothing; unsafe model files are refused before anything is stored.
"""

from __future__ import annotations

import pickle
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import skops.io as sio
from sklearn.linear_model import LogisticRegression

from tests.e2e.world import World, open_world
from tests.support import assert_problem

BACKENDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]


@pytest.fixture
def world(home: Path) -> Iterator[World]:
    with open_world(home) as built:
        yield built


@pytest.fixture(params=BACKENDS)
def any_world(request: pytest.FixtureRequest, home: Path) -> Iterator[World]:
    with open_world(home, request.param) as built:
        yield built


def skops_model(seed: int = 0) -> bytes:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(40, 3))
    y = (x[:, 0] > 0).astype(int)
    data: bytes = sio.dumps(LogisticRegression().fit(x, y))
    return data


def upload(world: World, name: str, body: bytes, key: str | None = None) -> Any:
    return world.call(
        "POST",
        f"/v1/models/{name}/versions",
        key=key or world.owner_a,
        content=body,
        headers={"content-type": "application/octet-stream"},
    )


def move(world: World, name: str, alias: str, version: int) -> Any:
    return world.call(
        "PUT",
        f"/v1/models/{name}/aliases/{alias}",
        key=world.owner_a,
        json={"version": version},
    )


class _Canary:
    def __init__(self, path: Path) -> None:
        self.path = path

    def __reduce__(self) -> tuple[Any, ...]:
        return (Path.touch, (self.path,))


def test_uploaded_models_become_numbered_versions(any_world: World) -> None:
    world = any_world
    first_bytes, second_bytes = skops_model(0), skops_model(1)
    first = upload(world, "churn", first_bytes)
    assert first.status_code == 201, first.text
    v1 = first.json()
    assert (v1["version"], v1["format"], v1["status"]) == (1, "skops", "ready")
    assert v1["size_bytes"] == len(first_bytes)
    v2 = upload(world, "churn", second_bytes).json()
    assert v2["version"] == 2

    models = world.call("GET", "/v1/models", key=world.viewer_a).json()
    assert [m["name"] for m in models["items"]] == ["churn"]
    assert models["items"][0]["latest_version"] == 2
    versions = world.call("GET", "/v1/models/churn/versions", key=world.viewer_a)
    assert [v["version"] for v in versions.json()] == [2, 1]
    one = world.call("GET", "/v1/models/churn/versions/1", key=world.viewer_a)
    assert one.json()["digest"] == v1["digest"]
    content = world.call(
        "GET", "/v1/models/churn/versions/2/content", key=world.viewer_a
    )
    assert content.status_code == 200
    assert content.content == second_bytes

    # aliases: production 1 -> 2, with history and time travel
    assert move(world, "churn", "production", 1).status_code == 200
    world.later(60)
    moved = move(world, "churn", "production", 2)
    assert moved.json()["version"] == 2
    again = move(world, "churn", "production", 2)  # unchanged: idempotent
    assert again.json()["valid_from"] == moved.json()["valid_from"]
    history = world.call(
        "GET", "/v1/models/churn/aliases/production/history", key=world.viewer_a
    ).json()
    assert [h["version"] for h in history] == [1, 2]
    assert history[0]["valid_to"] == history[1]["valid_from"]
    assert history[1]["valid_to"] is None
    between = datetime.fromisoformat(history[0]["valid_from"]).timestamp() + 30
    at = datetime.fromtimestamp(between, UTC).isoformat()
    then = world.call(
        "GET",
        "/v1/models/churn/aliases/production",
        key=world.viewer_a,
        params={"at": at},
    )
    assert then.status_code == 200, then.text
    assert then.json()["version"] == 1
    now = world.call("GET", "/v1/models/churn/aliases/production", key=world.owner_a)
    assert now.json()["version"] == 2
    listed = world.call("GET", "/v1/models/churn/aliases", key=world.owner_a).json()
    assert [(a["alias"], a["version"]) for a in listed] == [("production", 2)]


def test_a_pickle_is_refused_and_nothing_is_stored(
    world: World, tmp_path: Path
) -> None:
    canary = tmp_path / "canary"
    payload = pickle.dumps(_Canary(canary))
    usage = world.container.artifacts.usage(world.a.tenant.id)
    response = upload(world, "evil", payload)
    body = assert_problem(response, 422)
    assert body["code"] == "unsafe-model"
    assert not canary.exists()
    assert world.container.artifacts.usage(world.a.tenant.id) == usage
    assert_problem(world.call("GET", "/v1/models/evil", key=world.owner_a), 404)


def test_aliases_are_removed_and_refuse_archived_versions(world: World) -> None:
    upload(world, "churn", skops_model(0))
    upload(world, "churn", skops_model(1))
    assert move(world, "churn", "staging", 1).status_code == 200
    archive = "/v1/models/churn/versions/1/archive"
    assert_problem(world.call("POST", archive, key=world.owner_a), 409)
    removed = world.call(
        "DELETE", "/v1/models/churn/aliases/staging", key=world.owner_a
    )
    assert removed.status_code == 204
    assert_problem(
        world.call("GET", "/v1/models/churn/aliases/staging", key=world.owner_a), 404
    )
    archived = world.call("POST", archive, key=world.owner_a)
    assert archived.status_code == 200, archived.text
    assert archived.json()["status"] == "archived"
    assert_problem(move(world, "churn", "production", 1), 409)
    assert_problem(move(world, "churn", "Bad_Name", 2), 422)
    assert_problem(move(world, "churn", "production", 9), 422)
    kept = world.call("GET", "/v1/models/churn/versions/1/content", key=world.owner_a)
    assert kept.status_code == 200  # an archived version keeps its bytes
    history = world.call(
        "GET", "/v1/models/churn/aliases/staging/history", key=world.owner_a
    ).json()
    assert len(history) == 1
    assert history[0]["valid_to"] is not None


def test_a_stored_artifact_is_registered_by_digest_in_its_tenant_only(
    world: World,
) -> None:
    data = skops_model(2)
    ref = world.container.artifacts.put(world.a.tenant.id, data)
    body = {"digest": ref.digest, "metrics": {"auc": 0.9}, "run_id": "run-1"}
    created = world.call(
        "POST",
        "/v1/models/from-run/versions/from-artifact",
        key=world.owner_a,
        json=body,
    )
    assert created.status_code == 201, created.text
    version = created.json()
    assert (version["version"], version["format"]) == (1, "skops")
    assert version["metrics"] == {"auc": 0.9}
    assert version["run_id"] == "run-1"
    other = world.call(
        "POST",
        "/v1/models/from-run/versions/from-artifact",
        key=world.owner_b,
        json=body,
    )
    problem = assert_problem(other, 422)
    assert "digest" in str(problem)
    unsafe = world.container.artifacts.put(world.a.tenant.id, pickle.dumps({"a": 1}))
    refused = world.call(
        "POST",
        "/v1/models/from-run/versions/from-artifact",
        key=world.owner_a,
        json={"digest": unsafe.digest},
    )
    assert assert_problem(refused, 422)["code"] == "unsafe-model"


def test_other_tenants_see_nothing_and_viewers_write_nothing(world: World) -> None:
    upload(world, "churn", skops_model(0))
    move(world, "churn", "production", 1)
    for url in (
        "/v1/models/churn",
        "/v1/models/churn/versions",
        "/v1/models/churn/versions/1",
        "/v1/models/churn/versions/1/content",
        "/v1/models/churn/aliases",
        "/v1/models/churn/aliases/production",
        "/v1/models/churn/aliases/production/history",
    ):
        assert_problem(world.call("GET", url, key=world.owner_b), 404)
    assert world.call("GET", "/v1/models", key=world.owner_b).json()["items"] == []
    assert_problem(
        world.call("POST", "/v1/models/churn/versions/1/archive", key=world.owner_b),
        404,
    )
    assert_problem(upload(world, "churn", skops_model(1), key=world.viewer_a), 403)
    viewer_move = world.call(
        "PUT",
        "/v1/models/churn/aliases/staging",
        key=world.viewer_a,
        json={"version": 1},
    )
    assert_problem(viewer_move, 403)
