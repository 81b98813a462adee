"""Monitoring through HTTP: drift against the training data, feedback, analytics.

A LogisticRegression over 20 features is trained on a dataset uploaded to tenant
A, registered with that dataset as its lineage and deployed. Traffic drawn from
the training distribution reports no drift; traffic with three features shifted
(fixed seeds) reports exactly those three, records ``DriftDetected`` and shows in
the history. Labels sent as feedback give the metrics scikit-learn gives on the
same labels. Tenant B sees none of it.
"""

from __future__ import annotations

import hashlib
import hmac
import io
import ipaddress
import json
import os
import threading
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar

import numpy as np
import pytest
import skops.io as sio
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score, f1_score, roc_auc_score

from tests.e2e.world import World, open_world
from tests.support import assert_problem, wait_until

FEATURES = [f"f{i}" for i in range(20)]
SHIFTED = ("f3", "f7", "f11")
SIGNATURE = [{"name": name, "type": "float"} for name in FEATURES]


def table(seed: int, rows: int, shift: tuple[str, ...] = ()) -> np.ndarray[Any, Any]:
    rng = np.random.default_rng(seed)
    data = rng.normal(size=(rows, len(FEATURES)))
    for name in shift:
        data[:, FEATURES.index(name)] += 1.0
    return data


def labels_of(data: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
    return (data[:, 0] + data[:, 1] > 0).astype(int)


@dataclass(frozen=True)
class Monitored:
    world: World
    model: LogisticRegression


@pytest.fixture(scope="module")
def monitored(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Monitored]:
    home = tmp_path_factory.mktemp("monitoring-api") / "home"
    with ExitStack() as stack:
        with pytest.MonkeyPatch.context() as patch:
            for name in list(os.environ):
                if name.startswith("PHANTOM_") and not name.startswith("PHANTOM_TEST_"):
                    patch.delenv(name)
            patch.setenv("PHANTOM_CONFIG", str(home.parent / "no-such-phantom.toml"))
            world = stack.enter_context(open_world(home, platform_admin_a=False))
        train = table(1, 3_000)
        model = LogisticRegression().fit(train, labels_of(train))
        csv = io.StringIO()
        np.savetxt(csv, np.column_stack([train, labels_of(train)]), delimiter=",")
        header = ",".join([*FEATURES, "target"]) + "\n"
        uploaded = world.call(
            "POST",
            "/v1/datasets/reference/versions",
            key=world.owner_a,
            content=(header + csv.getvalue()).encode(),
            headers={"content-type": "text/csv"},
        )
        assert uploaded.status_code == 201, uploaded.text
        dataset = uploaded.json()
        digest = world.container.artifacts.put(world.a.tenant.id, sio.dumps(model))
        registered = world.call(
            "POST",
            "/v1/models/credit/versions/from-artifact",
            key=world.owner_a,
            json={
                "digest": digest.digest,
                "signature": SIGNATURE,
                "dataset_id": dataset["dataset_id"],
                "dataset_version": dataset["version"],
            },
        )
        assert registered.status_code == 201, registered.text
        deployed = world.call(
            "POST",
            "/v1/deployments",
            key=world.owner_a,
            json={"model": "credit", "version": 1},
        )
        assert deployed.status_code == 201, deployed.text
        yield Monitored(world, model)


def send(world: World, data: np.ndarray[Any, Any]) -> list[str]:
    return [answer["prediction_id"] for answer in answers(world, data)]


def answers(world: World, data: np.ndarray[Any, Any]) -> list[dict[str, Any]]:
    found = []
    for start in range(0, len(data), 200):
        rows = data[start : start + 200].tolist()
        answer = world.call(
            "POST",
            "/v1/models/credit/predict",
            key=world.owner_a,
            json={"instances": rows},
        )
        assert answer.status_code == 200, answer.text
        found.append(answer.json())
    return found


def logged(world: World, count: int) -> None:
    analytics = world.container.analytics()

    def enough() -> bool:
        found = analytics.recent_predictions(
            world.a.tenant.id, "credit", limit=10_000, status="ok"
        )
        return len(found) >= count

    assert wait_until(enough, timeout=10, step=0.1)


def window(world: World, hours: float) -> dict[str, str]:
    now = world.clock.now()
    since = now.timestamp() - hours * 3600
    return {
        "since": np.datetime_as_string(np.datetime64(int(since * 1e6), "us")) + "Z",
        "until": np.datetime_as_string(
            np.datetime64(int(now.timestamp() * 1e6) + 1, "us")
        )
        + "Z",
    }


def test_drift_flags_exactly_the_shifted_features(monitored: Monitored) -> None:
    world = monitored.world
    send(world, table(2, 2_000))
    logged(world, 10)
    calm = world.call(
        "GET", "/v1/models/credit/drift", key=world.viewer_a, params=window(world, 1)
    )
    assert calm.status_code == 200, calm.text
    body = calm.json()
    assert body["reference_source"] == "dataset"
    assert body["reference_rows"] == 3_000
    assert body["report"]["current_rows"] == 2_000
    assert body["report"]["drifted_features"] == []
    assert body["report_id"] is None

    world.later(7_200)
    send(world, table(3, 2_000, SHIFTED))
    logged(world, 20)
    recorded = world.call(
        "POST", "/v1/models/credit/drift", key=world.owner_a, params=window(world, 1)
    )
    assert recorded.status_code == 200, recorded.text
    report = recorded.json()["report"]
    assert sorted(report["drifted_features"]) == sorted(SHIFTED)
    assert report["current_rows"] == 2_000
    crossed = {c["name"]: c for c in report["features"] if c["drifted"]}
    assert set(crossed) == set(SHIFTED)
    assert all(c["value"] >= c["threshold"] for c in crossed.values())

    history = world.call(
        "GET", "/v1/models/credit/drift/history", key=world.viewer_a
    ).json()
    assert history[0]["report_id"] == recorded.json()["report_id"]
    assert sorted(history[0]["drifted"]) == sorted(SHIFTED)
    detected = _events(world, "monitoring.DriftDetected")
    assert sorted(c["name"] for c in detected[-1]["columns"]) == sorted(SHIFTED)


def test_recording_needs_monitoring_write_and_other_tenants_see_nothing(
    monitored: Monitored,
) -> None:
    world = monitored.world
    assert_problem(
        world.call("POST", "/v1/models/credit/drift", key=world.viewer_a), 403
    )
    for path in ("drift", "drift/history", "performance", "drift/policy"):
        assert_problem(
            world.call("GET", f"/v1/models/credit/{path}", key=world.owner_b), 404
        )
    served = world.call("GET", "/v1/monitoring/serving", key=world.owner_b)
    assert served.status_code == 200
    assert served.json() == []


def test_feedback_metrics_equal_sklearns(monitored: Monitored) -> None:
    world, model = monitored.world, monitored.model
    world.later(7_200)
    data = table(4, 600)
    answered = answers(world, data)
    ids = [answer["prediction_id"] for answer in answered]
    logged(world, 23)
    truth = labels_of(data)
    truth[::7] = 1 - truth[::7]  # the model is wrong on some of them
    feedback = [
        {"prediction_id": ids[i // 200], "row": i % 200, "label": int(truth[i])}
        for i in range(len(data))
    ]
    sent = world.call(
        "POST",
        "/v1/models/credit/feedback",
        key=world.owner_a,
        json={"feedback": feedback},
    )
    assert sent.status_code == 201, sent.text
    assert sent.json() == {"stored": 600}
    found = world.call(
        "GET",
        "/v1/models/credit/performance",
        key=world.viewer_a,
        params=window(world, 1),
    ).json()
    # the served answers (an ONNX copy's float32 probabilities), as logged
    predicted = np.concatenate([a["predictions"] for a in answered])
    proba = np.concatenate([np.asarray(a["probabilities"])[:, 1] for a in answered])
    assert (predicted == model.predict(data)).mean() > 0.99
    assert found["task"] == "classification"
    assert found["labelled"] == 600
    metrics = found["metrics"]
    assert metrics["accuracy"] == pytest.approx(accuracy_score(truth, predicted))
    assert metrics["f1_macro"] == pytest.approx(
        f1_score(truth, predicted, average="macro")
    )
    assert metrics["roc_auc"] == pytest.approx(roc_auc_score(truth, proba))
    assert 0.5 < found["estimated"]["expected_accuracy"] <= 1.0


@pytest.mark.parametrize(
    "body",
    [
        {"feedback": []},
        {"feedback": [{"prediction_id": "p", "label": {"a": 1}}]},
        {"feedback": [{"prediction_id": "p", "label": 1, "row": -1}]},
        {"feedback": [{"prediction_id": "", "label": 1}]},
        {"items": []},
    ],
)
def test_bad_feedback_is_a_422(monitored: Monitored, body: dict[str, Any]) -> None:
    world = monitored.world
    response = world.call(
        "POST", "/v1/models/credit/feedback", key=world.owner_a, json=body
    )
    assert_problem(response, 422)


def test_serving_analytics_per_version(monitored: Monitored) -> None:
    world = monitored.world
    found = world.call(
        "GET",
        "/v1/monitoring/serving",
        key=world.viewer_a,
        params={"model": "credit", "since": "2000-01-01T00:00:00Z"},
    ).json()
    (primary,) = [s for s in found if s["route"] == "primary"]
    assert primary["version"] == 1
    assert primary["requests"] >= 20
    assert primary["errors"] == 0
    assert 0 < primary["latency_p50_ms"] <= primary["latency_p99_ms"]


def test_a_drift_policy_changes_the_verdicts(monitored: Monitored) -> None:
    world = monitored.world
    policy = world.call(
        "GET", "/v1/models/credit/drift/policy", key=world.viewer_a
    ).json()
    strict = {**policy, "overrides": {"f0": {"statistic": "psi", "threshold": 1e-9}}}
    done = world.call(
        "PUT", "/v1/models/credit/drift/policy", key=world.owner_a, json=strict
    )
    assert done.status_code == 200, done.text
    report = world.call(
        "GET",
        "/v1/models/credit/drift",
        key=world.viewer_a,
        params={"since": "2000-01-01T00:00:00Z"},
    ).json()["report"]
    assert "f0" in report["drifted_features"]
    bad = world.call(
        "PUT",
        "/v1/models/credit/drift/policy",
        key=world.owner_a,
        json={"numeric": {"statistic": "nope", "threshold": 1}},
    )
    assert_problem(bad, 422)
    unknown = world.call(
        "PUT", "/v1/models/credit/drift/policy", key=world.owner_a, json={"bogus": 1}
    )
    assert "bogus" in str(assert_problem(unknown, 422))


def _events(world: World, event_type: str) -> list[dict[str, Any]]:
    db = world.container.database("monitoring")
    with db.system_engine.connect() as conn:
        envelopes = world.container.stores["monitoring"].read_all(conn, limit=10_000)
    found = [e.data for e in envelopes if e.type == event_type]
    assert json.dumps(found)
    return found


def test_the_schedule_reports_versions_with_new_traffic_only(
    monitored: Monitored,
) -> None:
    world = monitored.world
    monitoring = world.container.monitoring
    assert monitoring is not None
    world.later(600)
    send(world, table(5, 400, SHIFTED))
    logged(world, 25)
    before = len(_events(world, "monitoring.DriftReported"))
    assert monitoring.run_scheduled() == 1
    assert len(_events(world, "monitoring.DriftReported")) == before + 1
    assert monitoring.run_scheduled() == 0  # nothing new since that report
    latest = monitoring.latest[(world.a.tenant.id, "credit", 1)]
    assert set(SHIFTED) <= set(latest.drifted_features())


# -- alerts ---------------------------------------------------------------------


class Hook(BaseHTTPRequestHandler):
    seen: ClassVar[list[tuple[dict[str, str], bytes]]] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.seen.append((dict(self.headers), body))
        self.send_response(204)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def hook() -> Iterator[str]:
    Hook.seen = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), Hook)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/alerts"
    server.shutdown()
    server.server_close()


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8080/hook",
        "http://169.254.169.254/latest/meta-data/",
        "http://localhost/hook",
        "http://[::1]/hook",
        "file:///etc/passwd",
    ],
)
def test_a_webhook_to_a_private_target_is_refused(
    monitored: Monitored, url: str
) -> None:
    world = monitored.world
    rule = {"name": "x", "metric": "requests", "op": ">", "threshold": 1}
    refused = world.call(
        "POST",
        "/v1/alerts/rules",
        key=world.owner_a,
        json={**rule, "webhook_url": url},
    )
    assert_problem(refused, 422)
    assert world.call("GET", "/v1/alerts", key=world.owner_a).json() == []


def test_an_alert_fires_delivers_a_signed_webhook_and_resolves(
    monitored: Monitored, hook: str
) -> None:
    world = monitored.world
    alerts = world.container.alerts
    assert alerts is not None
    allowed = alerts.sender.allowed
    alerts.sender.allowed = (ipaddress.ip_network("127.0.0.1/32"),)  # the admin's
    try:
        world.later(3_600)
        rule = world.call(
            "POST",
            "/v1/alerts/rules",
            key=world.owner_a,
            json={
                "name": "refusals",
                "metric": "error_rate",
                "op": ">",
                "threshold": 0.2,
                "model": "credit",
                "severity": "critical",
                "webhook_url": hook,
            },
        )
        assert rule.status_code == 201, rule.text
        for _ in range(3):  # refused: an unknown feature
            bad = {"instances": [{"nope": 1.0}]}
            world.call("POST", "/v1/models/credit/predict", key=world.owner_a, json=bad)
        send(world, table(6, 200))
        logged(world, 26)
        fired = world.call("POST", "/v1/alerts/evaluate", key=world.owner_a).json()
        assert [(a["event"], a["name"]) for a in fired] == [
            ("monitoring.AlertFired", "refusals")
        ]
        assert fired[0]["value"] == pytest.approx(0.75)
        alerts.wait_deliveries()
        headers, body = Hook.seen[-1]
        secret = world.call(
            "GET", "/v1/alerts/webhook-secret", key=world.owner_a
        ).json()["secret"]
        mac = hmac.new(
            bytes.fromhex(secret),
            headers["X-Phantom-Timestamp"].encode() + b"." + body,
            hashlib.sha256,
        )
        assert headers["X-Phantom-Signature"] == f"sha256={mac.hexdigest()}"
        assert json.loads(body)["event"] == "monitoring.AlertFired"
        listed = world.call("GET", "/v1/alerts", key=world.viewer_a).json()
        (state,) = listed[0]["states"]
        assert state["state"] == "firing"
        assert state["last_delivery"]["delivered"] is True

        world.later(600)  # the refusals leave the 5-minute window
        send(world, table(7, 200))
        logged(world, 27)
        resolved = world.call("POST", "/v1/alerts/evaluate", key=world.owner_a).json()
        assert [a["event"] for a in resolved] == ["monitoring.AlertResolved"]
        assert [e["rule_id"] for e in _events(world, "monitoring.AlertFired")] == [
            rule.json()["rule_id"]
        ]
    finally:
        alerts.sender.allowed = allowed


def test_alert_rules_are_tenant_scoped_and_checked(monitored: Monitored) -> None:
    world = monitored.world
    created = world.call(
        "POST",
        "/v1/alerts/rules",
        key=world.owner_a,
        json={
            "name": "drift",
            "metric": "drifted_features",
            "op": ">=",
            "threshold": 3,
        },
    )
    assert created.status_code == 201, created.text
    rule_id = created.json()["rule_id"]
    assert world.call("GET", "/v1/alerts", key=world.owner_b).json() == []
    assert_problem(
        world.call("DELETE", f"/v1/alerts/rules/{rule_id}", key=world.owner_b), 404
    )
    assert_problem(
        world.call(
            "POST",
            "/v1/alerts/rules",
            key=world.viewer_a,
            json={"name": "x", "metric": "requests", "op": ">", "threshold": 1},
        ),
        403,
    )
    for bad in (
        {"name": "x", "metric": "vibes", "op": ">", "threshold": 1},
        {"name": "x", "metric": "feature_drift", "op": ">", "threshold": 1},
        {"name": "x", "metric": "requests", "op": "!=", "threshold": 1},
        {"name": "x", "metric": "requests", "op": ">", "threshold": 1, "for_s": -5},
    ):
        assert_problem(
            world.call("POST", "/v1/alerts/rules", key=world.owner_a, json=bad), 422
        )
    done = world.call("DELETE", f"/v1/alerts/rules/{rule_id}", key=world.owner_a)
    assert done.status_code == 204
    assert rule_id not in [
        r["rule_id"] for r in world.call("GET", "/v1/alerts", key=world.owner_a).json()
    ]


def test_drift_and_performance_are_prometheus_gauges(monitored: Monitored) -> None:
    world = monitored.world
    world.call("GET", "/v1/models/credit/drift", key=world.viewer_a)
    world.call("GET", "/v1/models/credit/performance", key=world.viewer_a)
    scraped = world.call("GET", "/metrics").text
    tenant = world.a.tenant.id
    drifted = [
        line
        for line in scraped.splitlines()
        if line.startswith("phantom_drift_column_drifted{")
        and f'tenant_id="{tenant}"' in line
    ]
    assert any('column="f3"' in line and line.endswith(" 1.0") for line in drifted)
    assert any('column="f0"' in line for line in drifted)
    assert (
        f'phantom_drift_share{{model="credit",tenant_id="{tenant}",version="1"}}'
        in (scraped)
    )
    assert 'metric="expected_accuracy",model="credit",source="estimate"' in scraped
