"""Serving through HTTP: deploy a registered model, predict, and the OIP v2 routes.

The in-process world (``tests/e2e/world.py``) with two tenants: A deploys a skops
model uploaded with a signature; the deploy saga converts it to ONNX, and the
answers must equal the scikit-learn model's own. Refusals are problem+json that
name the instance and the feature; another tenant sees nothing of A's model and
a viewer may not predict. The last test drives a real ``phantom up`` with a
generic Open Inference Protocol v2 client (Triton's ``tritonclient.http``).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from typing import Any

import httpx
import numpy as np
import pytest
import skops.io as sio
from sklearn.linear_model import LogisticRegression

from tests.e2e.world import World, open_world
from tests.support import assert_problem, wait_until

FEATURES = [
    {"name": "f1", "type": "float"},
    {"name": "f2", "type": "float"},
    {"name": "f3", "type": "integer"},
]
NAMES = ("f1", "f2", "f3")
ROWS: list[list[Any]] = [[0.5, 0.1, 2], [-1.0, 0.0, -1], [2.0, -3.5, 0]]
RECORDS = [dict(zip(NAMES, row, strict=True)) for row in ROWS]
STEPS = ["validate", "convert", "warm", "switch", "audit"]


def fitted(seed: int = 0) -> LogisticRegression:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(60, 3))
    y = (x[:, 0] + 0.3 * x[:, 1] > 0).astype(int)
    return LogisticRegression().fit(x, y)


def upload(
    world: World, name: str, model: LogisticRegression, key: str, signature: Any
) -> httpx.Response:
    return world.call(
        "POST",
        f"/v1/models/{name}/versions",
        key=key,
        content=sio.dumps(model),
        headers={"content-type": "application/octet-stream"},
        params={"signature": json.dumps(signature, separators=(",", ":"))},
    )


def deploy(world: World, name: str, version: int, key: str) -> httpx.Response:
    return world.call(
        "POST", "/v1/deployments", key=key, json={"model": name, "version": version}
    )


def predict(world: World, name: str, body: object, key: str | None) -> httpx.Response:
    return world.call("POST", f"/v1/models/{name}/predict", key=key, json=body)


def v2_matrix(rows: list[list[Any]], datatype: str = "FP32") -> dict[str, Any]:
    """One ``[rows, features]`` tensor, flat row-major data."""
    return {
        "inputs": [
            {
                "name": "input",
                "shape": [len(rows), len(rows[0])],
                "datatype": datatype,
                "data": [float(v) for row in rows for v in row],
            }
        ]
    }


@dataclass(frozen=True)
class Deployed:
    world: World
    estimator: LogisticRegression
    deployment: dict[str, Any]

    @property
    def x(self) -> np.ndarray[Any, Any]:
        return np.asarray(ROWS, dtype=np.float64)


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    """One world for the module; built without the developer's PHANTOM_* settings."""
    home = tmp_path_factory.mktemp("serving-api") / "home"
    with ExitStack() as stack:
        with pytest.MonkeyPatch.context() as patch:  # as isolated_environment does
            for name in list(os.environ):
                if name.startswith("PHANTOM_") and not name.startswith("PHANTOM_TEST_"):
                    patch.delenv(name)
            patch.setenv("PHANTOM_CONFIG", str(home.parent / "no-such-phantom.toml"))
            built = stack.enter_context(open_world(home, platform_admin_a=False))
        yield built


@pytest.fixture(scope="module")
def deployed(world: World) -> Deployed:
    """``churn`` v1 in tenant A, uploaded with :data:`FEATURES` and deployed."""
    estimator = fitted()
    created = upload(world, "churn", estimator, world.owner_a, FEATURES)
    assert created.status_code == 201, created.text
    assert created.json()["signature"] == FEATURES
    done = deploy(world, "churn", 1, world.owner_a)
    assert done.status_code == 201, done.text
    return Deployed(world, estimator, done.json())


# -- deploying -----------------------------------------------------------------


def test_a_deploy_runs_every_step_and_converts_to_onnx(deployed: Deployed) -> None:
    world, deployment = deployed.world, deployed.deployment
    assert (deployment["kind"], deployment["state"]) == ("deploy", "succeeded")
    assert (deployment["model"], deployment["version"]) == ("churn", 1)
    assert deployment["alias"] == "production"
    assert deployment["previous_version"] is None
    assert deployment["error"] is None
    assert [s["name"] for s in deployment["steps"]] == STEPS
    assert {s["state"] for s in deployment["steps"]} == {"done"}
    details = {s["name"]: s["detail"] for s in deployment["steps"]}
    assert "ONNX" in details["convert"]
    assert "onnx" in details["warm"]

    shown = world.call(
        "GET", f"/v1/deployments/{deployment['deployment_id']}", key=world.owner_a
    )
    assert shown.status_code == 200, shown.text
    assert [(s["name"], s["state"]) for s in shown.json()["steps"]] == [
        (name, "done") for name in STEPS
    ]
    listed = world.call("GET", "/v1/deployments", key=world.viewer_a)
    assert listed.status_code == 200, listed.text
    assert deployment["deployment_id"] in [
        d["deployment_id"] for d in listed.json()["items"]
    ]
    narrowed = world.call(
        "GET", "/v1/deployments", key=world.owner_a, params={"model": "nope"}
    )
    assert narrowed.json()["items"] == []
    alias = world.call("GET", "/v1/models/churn/aliases/production", key=world.owner_a)
    assert alias.json()["version"] == 1


# -- predicting ----------------------------------------------------------------


def test_records_and_arrays_give_the_sklearn_models_own_answers(
    deployed: Deployed,
) -> None:
    world, estimator = deployed.world, deployed.estimator
    arrays = predict(world, "churn", {"instances": ROWS}, world.owner_a)
    assert arrays.status_code == 200, arrays.text
    answer = arrays.json()
    assert (answer["model"], answer["version"]) == ("churn", 1)
    assert answer["prediction_id"]
    assert answer["classes"] == [0, 1]
    assert answer["predictions"] == estimator.predict(deployed.x).tolist()
    np.testing.assert_allclose(
        answer["probabilities"], estimator.predict_proba(deployed.x), atol=1e-5
    )

    records = predict(world, "churn", {"instances": RECORDS}, world.owner_a)
    assert records.status_code == 200, records.text
    by_name = records.json()
    assert by_name["predictions"] == answer["predictions"]
    np.testing.assert_allclose(by_name["probabilities"], answer["probabilities"])
    assert by_name["prediction_id"] != answer["prediction_id"]

    pinned = predict(
        world, "churn", {"instances": ROWS[:1], "version": 1}, world.owner_a
    )
    assert pinned.json()["predictions"] == answer["predictions"][:1]


@pytest.mark.parametrize(
    ("instances", "loc", "message"),
    [
        (
            [RECORDS[0], {"f1": 1.0, "f2": 2.0}],
            ["instances", 1, "f3"],
            "missing feature 'f3'",
        ),
        (
            [{**RECORDS[0], "churned": 1}],
            ["instances", 0, "churned"],
            "unknown feature 'churned'",
        ),
        ([ROWS[0], [1.0, "a", 1]], ["instances", 1, "f2"], "must be a number"),
        ([{**RECORDS[0], "f1": True}], ["instances", 0, "f1"], "not boolean"),
        ([[1.0, 2.0, 0.5]], ["instances", 0, "f3"], "must be a whole number"),
        ([[1.0, 2.0]], ["instances", 0], "the signature has 3 features"),
    ],
    ids=["missing", "extra", "mistyped", "boolean", "fraction", "short-row"],
)
def test_instances_that_do_not_fit_are_a_422_naming_the_feature(
    deployed: Deployed, instances: list[Any], loc: list[Any], message: str
) -> None:
    world = deployed.world
    response = predict(world, "churn", {"instances": instances}, world.owner_a)
    problem = assert_problem(response, 422)
    assert problem["code"] == "invalid-instances"
    assert problem["errors"][0]["loc"] == loc
    assert message in problem["errors"][0]["msg"]
    assert message in problem["detail"]


def test_a_huge_integer_is_a_422_not_a_500(deployed: Deployed) -> None:
    world = deployed.world
    body = '{"instances": [[1' + "0" * 400 + ", 0.1, 2]]}"
    response = world.call(
        "POST",
        "/v1/models/churn/predict",
        key=world.owner_a,
        content=body,
        headers={"content-type": "application/json"},
    )
    problem = assert_problem(response, 422)
    assert problem["errors"][0]["loc"] == ["instances", 0, "f1"]


def test_a_null_for_a_model_that_cannot_take_one_is_not_answered_with_nan(
    deployed: Deployed,
) -> None:
    world = deployed.world
    response = predict(world, "churn", {"instances": [[None, 0.1, 2]]}, world.owner_a)

    def refuse(token: str) -> None:
        msg = f"not JSON: {token}"
        raise ValueError(msg)

    json.loads(response.text, parse_constant=refuse)  # strict JSON, whatever status
    assert response.status_code == 422


@pytest.mark.parametrize(
    ("body", "loc"),
    [
        ({"instances": {"f1": 1.0}}, ["body", "instances"]),
        ({"instances": "rows"}, ["body", "instances"]),
        ({"instances": []}, ["body", "instances"]),
        ({"instances": [[0.0, 0.0, 0]] * 10_001}, ["body", "instances"]),
        ({"rows": ROWS}, ["body", "instances"]),
        ({"instances": ROWS, "colour": "red"}, ["body", "colour"]),
        ({"instances": ROWS, "version": 0}, ["body", "version"]),
    ],
    ids=["object", "string", "empty", "10001", "no-instances", "extra", "version-0"],
)
def test_a_malformed_body_is_a_422(
    deployed: Deployed, body: dict[str, Any], loc: list[str]
) -> None:
    world = deployed.world
    problem = assert_problem(predict(world, "churn", body, world.owner_a), 422)
    assert loc in [error["loc"] for error in problem["errors"]]


def test_a_body_that_is_not_json_is_refused(deployed: Deployed) -> None:
    world = deployed.world
    response = world.call(
        "POST",
        "/v1/models/churn/predict",
        key=world.owner_a,
        content=b"instances=1,2,3",
        headers={"content-type": "application/json"},
    )
    # The gateway's convention for a body that does not parse: 400 malformed-body.
    assert assert_problem(response, 400)["code"] == "malformed-body"


def test_a_version_and_an_alias_together_are_refused(deployed: Deployed) -> None:
    world = deployed.world
    body = {"instances": ROWS, "version": 1, "alias": "production"}
    problem = assert_problem(predict(world, "churn", body, world.owner_a), 422)
    assert problem["errors"][0]["loc"] == ["alias"]


def test_unknown_models_versions_and_aliases_are_404(deployed: Deployed) -> None:
    world = deployed.world
    key = world.owner_a
    assert_problem(predict(world, "nope", {"instances": ROWS}, key), 404)
    assert_problem(predict(world, "churn", {"instances": ROWS, "version": 9}, key), 404)
    assert_problem(
        predict(world, "churn", {"instances": ROWS, "alias": "staging"}, key), 404
    )
    assert_problem(world.call("GET", "/v1/deployments/no-such-id", key=key), 404)
    assert_problem(deploy(world, "churn", 9, key), 404)
    assert_problem(deploy(world, "nope", 1, key), 404)
    infer = world.call("POST", "/v2/models/nope/infer", key=key, json=v2_matrix(ROWS))
    assert_problem(infer, 404)
    assert_problem(world.call("GET", "/v2/models/nope", key=key), 404)


# -- who may ---------------------------------------------------------------------


def test_another_tenant_cannot_see_deploy_or_use_the_model(deployed: Deployed) -> None:
    world = deployed.world
    b = world.owner_b
    listed = world.call("GET", "/v1/models", key=b)
    assert listed.status_code == 200
    assert "churn" not in [m["name"] for m in listed.json()["items"]]
    assert_problem(world.call("GET", "/v1/models/churn", key=b), 404)
    assert_problem(world.call("GET", "/v1/models/churn/versions/1", key=b), 404)
    assert_problem(deploy(world, "churn", 1, b), 404)
    assert_problem(predict(world, "churn", {"instances": ROWS}, b), 404)
    assert_problem(predict(world, "churn", {"instances": ROWS, "version": 1}, b), 404)
    infer = world.call("POST", "/v2/models/churn/infer", key=b, json=v2_matrix(ROWS))
    assert_problem(infer, 404)
    pinned = world.call(
        "POST", "/v2/models/churn/versions/1/infer", key=b, json=v2_matrix(ROWS)
    )
    assert_problem(pinned, 404)
    assert_problem(world.call("GET", "/v2/models/churn", key=b), 404)
    assert_problem(world.call("GET", "/v2/models/churn/ready", key=b), 404)
    deployment_id = deployed.deployment["deployment_id"]
    assert_problem(world.call("GET", f"/v1/deployments/{deployment_id}", key=b), 404)
    theirs = world.call("GET", "/v1/deployments", key=b).json()["items"]
    assert deployment_id not in [d["deployment_id"] for d in theirs]
    rollback = world.call(
        "POST", "/v1/deployments/rollback", key=b, json={"model": "churn"}
    )
    assert_problem(rollback, 404)


def test_the_same_bytes_in_another_tenant_are_another_model(deployed: Deployed) -> None:
    """B uploads A's very file (same digest) under A's name, with its own signature."""
    world = deployed.world
    own = [{"name": n, "type": "float"} for n in ("g1", "g2", "g3")]
    created = upload(world, "churn", deployed.estimator, world.owner_b, own)
    assert created.status_code == 201, created.text
    assert created.json()["version"] == 1
    done = deploy(world, "churn", 1, world.owner_b)
    assert done.json()["state"] == "succeeded", done.text
    theirs = [{"g1": r["f1"], "g2": r["f2"], "g3": r["f3"]} for r in RECORDS]
    answer = predict(world, "churn", {"instances": theirs}, world.owner_b)
    assert answer.status_code == 200, answer.text
    assert (
        answer.json()["predictions"] == deployed.estimator.predict(deployed.x).tolist()
    )
    problem = assert_problem(
        predict(world, "churn", {"instances": RECORDS}, world.owner_b), 422
    )
    assert problem["errors"][0] == {  # B's model reads g1..g3, not A's f1..f3
        "loc": ["instances", 0, "g1"],
        "msg": "missing feature 'g1'",
        "type": "value_error",
    }
    mine = predict(world, "churn", {"instances": RECORDS}, world.owner_a)
    assert mine.status_code == 200, mine.text  # A still has its own signature
    bad_for_a = predict(world, "churn", {"instances": theirs}, world.owner_a)
    assert assert_problem(bad_for_a, 422)["errors"][0]["loc"] == ["instances", 0, "f1"]


def test_a_viewer_may_read_deployments_but_not_predict_or_deploy(
    deployed: Deployed,
) -> None:
    world = deployed.world
    viewer = world.viewer_a
    assert_problem(predict(world, "churn", {"instances": ROWS}, viewer), 403)
    infer = world.call(
        "POST", "/v2/models/churn/infer", key=viewer, json=v2_matrix(ROWS)
    )
    assert_problem(infer, 403)
    assert_problem(world.call("GET", "/v2/models/churn", key=viewer), 403)
    assert_problem(deploy(world, "churn", 1, viewer), 403)
    rollback = world.call(
        "POST", "/v1/deployments/rollback", key=viewer, json={"model": "churn"}
    )
    assert_problem(rollback, 403)
    assert world.call("GET", "/v1/deployments", key=viewer).status_code == 200


def test_predictions_need_credentials(deployed: Deployed) -> None:
    world = deployed.world
    assert_problem(predict(world, "churn", {"instances": ROWS}, None), 401)
    assert_problem(
        world.call("POST", "/v2/models/churn/infer", json=v2_matrix(ROWS)), 401
    )
    assert_problem(world.call("GET", "/v2/models/churn"), 401)


# -- observing -------------------------------------------------------------------


def test_predictions_are_counted_and_logged_to_analytics(deployed: Deployed) -> None:
    world = deployed.world
    answer = predict(world, "churn", {"instances": ROWS}, world.owner_a).json()
    prediction_id = answer["prediction_id"]
    analytics = world.container.analytics()
    tenant = world.a.tenant.id

    def logged() -> bool:
        recent = analytics.recent_predictions(tenant, "churn", limit=500)
        return prediction_id in [r.prediction_id for r in recent]

    assert wait_until(logged, timeout=5, step=0.1)
    (record,) = [
        r
        for r in analytics.recent_predictions(tenant, "churn", limit=500)
        if r.prediction_id == prediction_id
    ]
    assert (record.model, record.version, record.route, record.rows) == (
        "churn",
        1,
        "primary",
        3,
    )
    assert json.loads(record.inputs) == ROWS
    assert json.loads(record.outputs)["predictions"] == answer["predictions"]
    others = analytics.recent_predictions(world.b.tenant.id, "churn", limit=500)
    assert prediction_id not in [r.prediction_id for r in others]

    metrics = world.call("GET", "/metrics")
    assert metrics.status_code == 200
    samples = {
        line.split(" ")[0]: float(line.split(" ")[1])
        for line in metrics.text.splitlines()
        if line and not line.startswith("#")
    }
    assert samples["phantom_predictions_total"] >= 1
    assert samples["phantom_prediction_log_dropped_total"] == 0
    assert samples["phantom_prediction_log_written_total"] >= 1
    assert samples["phantom_model_cache_entries"] >= 1


# -- Open Inference Protocol v2 ---------------------------------------------------


def test_v2_health_and_server_metadata_need_no_credentials(world: World) -> None:
    live = world.call("GET", "/v2/health/live")
    ready = world.call("GET", "/v2/health/ready")
    assert (live.status_code, live.json()) == (200, {"live": True})
    assert (ready.status_code, ready.json()) == (200, {"ready": True})
    server = world.call("GET", "/v2")
    assert server.status_code == 200
    assert server.json()["name"] == "phantom"


def test_v2_model_metadata_and_readiness(deployed: Deployed) -> None:
    world = deployed.world
    meta = world.call("GET", "/v2/models/churn", key=world.owner_a)
    assert meta.status_code == 200, meta.text
    body = meta.json()
    assert body["name"] == "churn"
    assert body["versions"] == ["1"]
    assert body["platform"] == "phantom-onnx"
    assert body["inputs"] == [{"name": "input", "datatype": "FP64", "shape": [-1, 3]}]
    assert [(o["name"], o["shape"]) for o in body["outputs"]] == [
        ("predict", [-1]),
        ("predict_proba", [-1, 2]),
    ]
    assert body["parameters"] == {"features": list(NAMES), "classes": [0, 1]}
    one = world.call("GET", "/v2/models/churn/versions/1", key=world.owner_a)
    assert one.json()["versions"] == ["1"]
    ready = world.call("GET", "/v2/models/churn/ready", key=world.owner_a)
    assert ready.json() == {"name": "churn", "version": "1", "ready": True}


def test_v2_infer_with_one_fp32_matrix(deployed: Deployed) -> None:
    world, estimator = deployed.world, deployed.estimator
    rows = ROWS[:2]
    body = {**v2_matrix(rows), "id": "request-1"}
    response = world.call(
        "POST", "/v2/models/churn/infer", key=world.owner_a, json=body
    )
    assert response.status_code == 200, response.text
    answer = response.json()
    assert (answer["model_name"], answer["model_version"]) == ("churn", "1")
    assert answer["id"] == "request-1"
    assert answer["parameters"]["prediction_id"]
    outputs = {o["name"]: o for o in answer["outputs"]}
    assert set(outputs) == {"predict", "predict_proba"}
    assert outputs["predict"]["shape"] == [2]
    assert outputs["predict_proba"]["shape"] == [2, 2]
    assert outputs["predict_proba"]["datatype"] == "FP64"
    x = np.asarray(rows, dtype=np.float64)
    assert outputs["predict"]["data"] == estimator.predict(x).tolist()
    np.testing.assert_allclose(
        np.reshape(outputs["predict_proba"]["data"], (2, 2)),
        estimator.predict_proba(x),
        atol=1e-5,
    )
    pinned = world.call(
        "POST", "/v2/models/churn/versions/1/infer", key=world.owner_a, json=body
    )
    assert pinned.json()["outputs"] == answer["outputs"]


def test_v2_infer_with_one_tensor_per_feature_and_chosen_outputs(
    deployed: Deployed,
) -> None:
    world, estimator = deployed.world, deployed.estimator
    columns = list(zip(*ROWS, strict=True))
    body = {
        "inputs": [
            {"name": name, "shape": [len(ROWS)], "datatype": kind, "data": list(col)}
            for name, kind, col in zip(
                NAMES, ("FP64", "FP64", "INT64"), columns, strict=True
            )
        ],
        "outputs": [{"name": "predict"}],
    }
    response = world.call(
        "POST", "/v2/models/churn/infer", key=world.owner_a, json=body
    )
    assert response.status_code == 200, response.text
    (output,) = response.json()["outputs"]
    assert output["name"] == "predict"
    assert output["data"] == estimator.predict(deployed.x).tolist()


def tensor(shape: list[int], datatype: str, data: list[Any]) -> dict[str, Any]:
    return {
        "inputs": [
            {"name": "input", "shape": shape, "datatype": datatype, "data": data}
        ]
    }


@pytest.mark.parametrize(
    ("body", "loc"),
    [
        ({**v2_matrix(ROWS), "outputs": [{"name": "logits"}]}, None),
        (tensor([2, 3], "FP32", [1.0]), ["inputs", 0, "data"]),
        (tensor([1, 3], "FP99", [1, 2, 3]), ["body", "inputs", 0, "datatype"]),
        # row 0, feature f2 (named "instances" though a v2 body has "inputs")
        (tensor([1, 3], "FP32", [1.0, "a", 3.0]), ["instances", 0, "f2"]),
        ({"inputs": []}, ["body", "inputs"]),
    ],
    ids=["unknown-output", "short-data", "bad-datatype", "mistyped", "no-inputs"],
)
def test_v2_infer_refusals(
    deployed: Deployed, body: dict[str, Any], loc: list[Any] | None
) -> None:
    world = deployed.world
    response = world.call(
        "POST", "/v2/models/churn/infer", key=world.owner_a, json=body
    )
    problem = assert_problem(response, 422)
    if loc is None:
        assert "logits" in problem["detail"]
    else:
        assert loc in [error["loc"] for error in problem["errors"]], problem


# -- a generic OIP v2 client against a real server --------------------------------


@dataclass(frozen=True)
class V2Server:
    url: str
    key: str
    estimator: LogisticRegression


@pytest.fixture(scope="module")
def v2_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[V2Server]:
    """A real ``phantom up`` with ``fraud`` v1 (signature :data:`FEATURES`) deployed."""
    from tests.e2e.test_models_cli import running_server

    estimator = fitted(3)
    with running_server(tmp_path_factory.mktemp("serving-v2-client")) as server:
        with httpx.Client(
            base_url=server.url, headers={"x-api-key": server.key}, timeout=30
        ) as http:
            created = http.post(
                "/v1/models/fraud/versions",
                content=sio.dumps(estimator),
                headers={"content-type": "application/octet-stream"},
                params={"signature": json.dumps(FEATURES)},
            )
            assert created.status_code == 201, created.text
            done = http.post("/v1/deployments", json={"model": "fraud", "version": 1})
            assert done.json()["state"] == "succeeded", done.text
        yield V2Server(server.url, server.key, estimator)


def triton_infer(server: V2Server, headers: dict[str, str]) -> Any:
    """Metadata, readiness and one inference through Triton's generic v2 client."""
    import tritonclient.http as httpclient

    client = httpclient.InferenceServerClient(url=server.url.removeprefix("http://"))
    try:
        assert client.is_server_live()
        assert client.is_server_ready()
        assert client.is_model_ready("fraud", headers=headers)
        meta = client.get_model_metadata("fraud", headers=headers)
        assert meta["inputs"][0]["shape"] == [-1, 3]
        x = np.asarray(ROWS[:2], dtype=np.float32)
        tensor = httpclient.InferInput("input", list(x.shape), "FP32")
        tensor.set_data_from_numpy(x, binary_data=False)
        wanted = [
            httpclient.InferRequestedOutput("predict", binary_data=False),
            httpclient.InferRequestedOutput("predict_proba", binary_data=False),
        ]
        return client.infer(
            "fraud", [tensor], outputs=wanted, headers=headers, request_id="r-1"
        )
    finally:
        client.close()


@pytest.mark.slow
def test_a_generic_v2_client_infers_against_phantom_up(v2_server: V2Server) -> None:
    headers = {"x-api-key": v2_server.key}  # exactly what a v2 client sends
    result = triton_infer(v2_server, headers)
    labels = result.as_numpy("predict")
    proba = result.as_numpy("predict_proba")
    assert result.get_response()["id"] == "r-1"
    assert labels is not None
    assert proba is not None
    assert labels.shape == (2,)
    assert proba.shape == (2, 2)
    expected = np.asarray(ROWS[:2], dtype=np.float64)
    assert labels.tolist() == v2_server.estimator.predict(expected).tolist()
    np.testing.assert_allclose(
        proba, v2_server.estimator.predict_proba(expected), atol=1e-5
    )


@pytest.mark.slow
def test_a_generic_v2_client_needs_no_content_type_header(v2_server: V2Server) -> None:
    from tritonclient import utils

    try:
        result = triton_infer(v2_server, {"x-api-key": v2_server.key})
    except utils.InferenceServerException as exc:
        if exc.status() == "422" and "valid dictionary" in str(exc):
            pytest.fail("a JSON body without a Content-Type was not parsed")
        raise
    assert result.as_numpy("predict").shape == (2,)
