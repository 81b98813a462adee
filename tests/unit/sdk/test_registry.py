"""``client.models``: what it sends to the registry and predict routes, how it reads."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from phantom.sdk import (
    Client,
    ConflictError,
    NotFoundError,
    PhantomSdkError,
    ValidationError,
)
from tests.unit.sdk.fake import KEY, NOW, URL, Recorder, client_for, ok, problem

MODEL = {
    "model_id": "m1",
    "name": "churn",
    "description": "",
    "latest_version": 2,
    "archived": False,
    "created_by": "u1",
    "created_at": NOW,
    "updated_at": NOW,
}
SIGNATURE = [{"name": "age", "type": "integer"}, {"name": "plan", "type": "string"}]


def version_body(version: int = 1, **extra: Any) -> dict[str, Any]:
    return {
        "model_id": "m1",
        "name": "churn",
        "version": version,
        "digest": "a" * 64,
        "size_bytes": 5,
        "format": "skops",
        "signature": [],
        "metrics": {},
        "params": {},
        "description": "",
        "source": "upload",
        "dataset_id": None,
        "dataset_version": None,
        "run_id": None,
        "job_id": None,
        "parent_version": None,
        "status": "ready",
        "created_by": "u1",
        "created_at": NOW,
        "a_member_from_a_newer_server": 1,
    } | extra


def assignment(version: int, valid_to: str | None = None) -> dict[str, Any]:
    return {
        "alias": "production",
        "version": version,
        "valid_from": NOW,
        "valid_to": valid_to,
        "set_by": "u1",
    }


def test_list_follows_the_pages_of_models() -> None:
    second = MODEL | {"name": "fraud"}
    server = Recorder(
        ok({"items": [MODEL], "next_after": "churn"}),
        ok({"items": [second], "next_after": None}),
    )
    models = client_for(server).models.list()
    assert [m.name for m in models] == ["churn", "fraud"]
    assert server.requests[1].url.params["after"] == "churn"


def test_a_model_file_is_uploaded_raw_with_its_description(tmp_path: Path) -> None:
    source = tmp_path / "model.skops"
    source.write_bytes(b"PK\x03\x04model")
    server = Recorder(ok(version_body(), 201))
    version = client_for(server).models.register(
        "my model", source, description="first"
    )
    request = server.last
    assert version.version == 1
    assert request.method == "POST"
    assert request.url.raw_path.startswith(b"/v1/models/my%20model/versions?")
    assert request.url.params["description"] == "first"
    assert "signature" not in request.url.params
    assert request.content == b"PK\x03\x04model"
    assert request.headers["content-type"] == "application/octet-stream"
    assert request.headers["content-length"] == "9"


def test_a_signature_travels_with_the_upload_and_must_come_back() -> None:
    server = Recorder(ok(version_body(signature=SIGNATURE), 201))
    client = client_for(server)
    version = client.models.register("churn", b"bytes", signature=SIGNATURE)
    assert json.loads(server.last.url.params["signature"]) == SIGNATURE
    assert version.signature == SIGNATURE

    ignored = Recorder(ok(version_body(3), 201))
    with pytest.raises(PhantomSdkError, match="v3 was registered without"):
        client_for(ignored).models.register("churn", b"x", signature=SIGNATURE)


def test_bad_files_and_signatures_are_refused_before_sending(tmp_path: Path) -> None:
    server = Recorder()
    client = client_for(server)
    with pytest.raises(ValidationError, match="cannot read"):
        client.models.register("churn", tmp_path / "missing.skops")
    with pytest.raises(ValidationError, match="not a file"):
        client.models.register("churn", tmp_path)
    with pytest.raises(ValidationError, match=r"signature\[1\]"):
        client.models.register("churn", b"x", signature=[{"name": "a"}, {"n": 1}])
    with pytest.raises(ValidationError, match="list of"):
        client.models.register("churn", b"x", signature="age")  # type: ignore[arg-type]
    wide = [{"name": f"feature_{i:05d}", "type": "float"} for i in range(400)]
    with pytest.raises(ValidationError, match="register_artifact"):
        client.models.register("churn", b"x", signature=wide)
    assert server.requests == []


def test_an_artifact_is_registered_by_digest_with_its_facts() -> None:
    server = Recorder(ok(version_body(source="artifact"), 201))
    client_for(server).models.register_artifact(
        "churn",
        "b" * 64,
        signature=SIGNATURE,
        metrics={"auc": 0.9},
        run_id="r1",
    )
    request = server.last
    assert request.url.path == "/v1/models/churn/versions/from-artifact"
    assert json.loads(request.content) == {
        "digest": "b" * 64,
        "signature": SIGNATURE,
        "metrics": {"auc": 0.9},
        "run_id": "r1",
    }
    assert request.headers["idempotency-key"]


def test_versions_and_one_version_are_typed() -> None:
    server = Recorder(
        ok([version_body(2), version_body(1)]),
        ok(version_body(1, signature=SIGNATURE, metrics={"auc": 0.5})),
    )
    client = client_for(server)
    assert [v.version for v in client.models.versions("churn")] == [2, 1]
    one = client.models.version("churn", 1)
    assert one.signature[0] == {"name": "age", "type": "integer"}
    assert one.metrics == {"auc": 0.5}
    assert server.last.url.path == "/v1/models/churn/versions/1"


def test_aliases_are_set_read_at_a_time_and_removed() -> None:
    server = Recorder(
        ok(assignment(2)),
        ok(assignment(1, valid_to=NOW)),
        ok([assignment(1, valid_to=NOW), assignment(2)]),
        httpx.Response(204),
    )
    client = client_for(server)
    moved = client.models.set_alias("churn", "production", 2)
    assert moved.version == 2
    assert server.last.method == "PUT"
    assert json.loads(server.last.content) == {"version": 2}
    then = client.models.alias_at(
        "churn", "production", datetime(2026, 5, 1, 12, tzinfo=UTC)
    )
    assert then.version == 1
    assert then.valid_to is not None
    assert server.last.url.path == "/v1/models/churn/aliases/production"
    assert server.last.url.params["at"] == "2026-05-01T12:00:00+00:00"
    history = client.models.alias_history("churn", "production")
    assert [h.version for h in history] == [1, 2]
    assert server.last.url.path.endswith("/aliases/production/history")
    client.models.remove_alias("churn", "production")
    assert server.last.method == "DELETE"


def test_problems_become_typed_errors() -> None:
    server = Recorder(
        problem(404, "not-found", "no model 'nope' in this tenant"),
        problem(409, "conflict", "alias(es) production point at version 1"),
    )
    client = client_for(server)
    with pytest.raises(NotFoundError, match="no model 'nope'"):
        client.models.get("nope")
    with pytest.raises(ConflictError, match="production"):
        client.models.archive("churn", 1)


def test_archiving_is_retried_as_it_is_idempotent() -> None:
    server = Recorder(
        problem(503, "unavailable"), ok(version_body(1, status="archived"))
    )
    archived = client_for(server).models.archive("churn", 1)
    assert archived.status == "archived"
    assert len(server.requests) == 2


def test_predict_sends_instances_and_routing_and_reads_probabilities() -> None:
    answer = {
        "model": "churn",
        "version": 2,
        "prediction_id": "p1",
        "predictions": [1, 0],
        "probabilities": [[0.2, 0.8], [0.9, 0.1]],
        "classes": [0, 1],
    }
    server = Recorder(ok(answer))
    result = client_for(server).models.predict(
        "churn", [(34, "basic"), [51, None]], alias="staging", key="user-7"
    )
    assert json.loads(server.last.content) == {
        "instances": [[34, "basic"], [51, None]],
        "alias": "staging",
        "key": "user-7",
    }
    assert server.last.url.path == "/v1/models/churn/predict"
    assert result.predictions == [1, 0]
    assert result.top_probabilities == [0.8, 0.9]
    assert result.classes == [0, 1]


def test_predict_without_probabilities_and_with_records() -> None:
    answer = {
        "model": "price",
        "version": 1,
        "prediction_id": "p2",
        "predictions": [12.5],
        "probabilities": None,
        "classes": None,
    }
    server = Recorder(ok(answer))
    result = client_for(server).models.predict(
        "price", [{"age": 3, "plan": "pro"}], version=1
    )
    assert json.loads(server.last.content) == {
        "instances": [{"age": 3, "plan": "pro"}],
        "version": 1,
    }
    assert result.top_probabilities is None
    assert result.predictions == [12.5]


@pytest.mark.parametrize(
    ("instances", "message"),
    [
        ([], "must not be empty"),
        ("a,b", "list of arrays"),
        ([1, 2], r"instances\[0\]"),
        ([[1], "x"], r"instances\[1\]"),
    ],
)
def test_predict_refuses_what_is_not_instances(instances: Any, message: str) -> None:
    server = Recorder()
    with pytest.raises(ValidationError, match=message):
        client_for(server).models.predict("churn", instances)
    assert server.requests == []


def test_the_client_exposes_models_and_deployments() -> None:
    client = Client(URL, KEY, transport=httpx.MockTransport(Recorder()))
    assert type(client.models).__name__ == "Models"
    assert type(client.deployments).__name__ == "Deployments"
