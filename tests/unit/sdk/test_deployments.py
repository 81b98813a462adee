"""``client.deployments``: deploys, rollbacks and their sagas' answers."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from phantom.sdk import ServerError
from tests.unit.sdk.fake import NOW, Recorder, client_for, ok, problem


def deployment_body(**extra: Any) -> dict[str, Any]:
    return {
        "deployment_id": "d1",
        "model": "churn",
        "version": 2,
        "alias": "production",
        "kind": "deploy",
        "canary_percent": None,
        "state": "succeeded",
        "steps": [
            {"name": name, "state": "done", "detail": ""}
            for name in ("validate", "convert", "warm", "switch", "audit")
        ],
        "previous_version": 1,
        "error": None,
        "created_by": "u1",
        "created_at": NOW,
        "updated_at": NOW,
    } | extra


def test_a_deploy_posts_the_saga_and_reads_its_steps() -> None:
    server = Recorder(ok(deployment_body(), 201))
    done = client_for(server).deployments.deploy("churn", 2)
    request = server.last
    assert request.url.path == "/v1/deployments"
    assert json.loads(request.content) == {
        "model": "churn",
        "version": 2,
        "alias": "production",
        "shadow": False,
    }
    assert request.headers["idempotency-key"]
    assert done.state == "succeeded"
    assert [s.name for s in done.steps] == [
        "validate",
        "convert",
        "warm",
        "switch",
        "audit",
    ]
    assert done.previous_version == 1


def test_a_canary_and_a_shadow_say_so() -> None:
    server = Recorder(
        ok(deployment_body(kind="canary", canary_percent=10), 201),
        ok(deployment_body(kind="shadow"), 201),
    )
    client = client_for(server)
    canary = client.deployments.deploy("churn", 2, alias="live", canary_percent=10)
    assert json.loads(server.last.content) == {
        "model": "churn",
        "version": 2,
        "alias": "live",
        "shadow": False,
        "canary_percent": 10,
    }
    assert canary.canary_percent == 10
    client.deployments.deploy("churn", 2, shadow=True)
    assert json.loads(server.last.content)["shadow"] is True


def test_a_failed_saga_is_answered_not_raised() -> None:
    steps = [
        {"name": "validate", "state": "done", "detail": ""},
        {"name": "warm", "state": "failed", "detail": "no signature"},
    ]
    server = Recorder(
        ok(deployment_body(state="compensated", steps=steps, error="x"), 201)
    )
    done = client_for(server).deployments.deploy("churn", 2)
    assert done.state == "compensated"
    assert done.steps[1].detail == "no signature"
    assert done.error == "x"


def test_a_rollback_is_never_repeated_on_a_server_error() -> None:
    server = Recorder(problem(503, "unavailable"), ok(deployment_body(), 201))
    with pytest.raises(ServerError):
        client_for(server).deployments.rollback("churn")
    assert len(server.requests) == 1
    assert json.loads(server.last.content) == {
        "model": "churn",
        "alias": "production",
    }
    assert server.last.url.path == "/v1/deployments/rollback"
    assert "idempotency-key" not in server.last.headers


def test_list_pages_through_a_models_deployments_and_get_reads_one() -> None:
    server = Recorder(
        ok({"items": [deployment_body()], "next_after": "d1"}),
        ok({"items": [deployment_body(deployment_id="d0")], "next_after": None}),
        ok(deployment_body(kind="rollback")),
    )
    client = client_for(server)
    found = client.deployments.list(model="churn")
    assert [d.deployment_id for d in found] == ["d1", "d0"]
    assert [r.url.params.get("model") for r in server.requests] == ["churn"] * 2
    assert server.requests[1].url.params["after"] == "d1"
    one = client.deployments.get("d/1")
    assert one.kind == "rollback"
    assert server.last.url.raw_path == b"/v1/deployments/d%2F1"


def test_list_without_a_model_sends_no_filter() -> None:
    server = Recorder(ok({"items": [], "next_after": None}))
    assert client_for(server).deployments.list() == []
    assert "model" not in server.last.url.params
    assert isinstance(server.last, httpx.Request)
