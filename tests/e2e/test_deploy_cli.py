"""``phantom deploy|deployments|predict`` against a real ``phantom up``.

These need the serving routes (``POST /v1/deployments``, ``/v1/deployments/
rollback``, ``GET /v1/deployments[/{id}]``, ``POST /v1/models/{name}/predict``;
see the serving contract). Models with a signature are registered as a run's
artifact through the SDK (``from-artifact`` takes a signature today), except in
the last test, which needs the raw upload to take one too
(``phantom models register ... --signature``).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest

from phantom.sdk import Client
from tests.e2e.test_models_cli import (
    Server,
    as_json,
    cli,
    ok,
    one_error_line,
    running_server,
    skops_model,
)
from tests.support import wait_until

pytestmark = pytest.mark.slow

FEATURES = [
    {"name": "f1", "type": "float"},
    {"name": "f2", "type": "float"},
    {"name": "f3", "type": "integer"},
]
ROWS = [[0.5, 0.1, 2], [-1.0, 0.0, -1]]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    with running_server(tmp_path_factory.mktemp("deploy-cli")) as running:
        yield running


@pytest.fixture(scope="module")
def strict(server: Server) -> str:
    """A deployed model whose signature is :data:`FEATURES`."""
    register_served(server, "strict", versions=1)
    ok(server, "deploy", "strict", "1")
    return "strict"


def register_served(server: Server, name: str, versions: int = 2) -> None:
    """``versions`` versions of ``name``, each with :data:`FEATURES` as signature."""
    with Client(server.url, server.key) as client:
        run = client.runs.start("serving-cli", name)
        for seed in range(versions):
            path = skops_model(server.files / f"{name}-{seed}.skops", seed=seed)
            artifact = client.runs.log_artifact(run.run_id, path, path.name)
            client.models.register_artifact(
                name, artifact.digest, signature=FEATURES, run_id=run.run_id
            )


def predicted(server: Server, *args: str) -> Any:
    return as_json(server, "predict", *args)


def test_a_deploy_shows_its_steps_moves_the_alias_and_rolls_back(
    server: Server,
) -> None:
    register_served(server, "walk")
    first = ok(server, "deploy", "walk", "1")
    assert "validate" in first.stdout
    assert "state: succeeded" in first.stdout
    shown = as_json(server, "models", "show", "walk")
    assert [(a["alias"], a["version"]) for a in shown["aliases"]] == [("production", 1)]

    second = as_json(server, "deploy", "walk", "2")
    assert (second["kind"], second["state"], second["version"]) == (
        "deploy",
        "succeeded",
        2,
    )
    assert second["previous_version"] == 1
    assert second["steps"][0]["name"] == "validate"
    assert all(s["state"] == "done" for s in second["steps"])
    again = as_json(server, "deployments", "show", second["deployment_id"])
    assert again["deployment_id"] == second["deployment_id"]
    assert (
        "state: succeeded"
        in ok(server, "deployments", "show", second["deployment_id"]).stdout
    )

    back = as_json(server, "deploy", "walk", "--rollback")
    assert (back["kind"], back["state"], back["version"]) == (
        "rollback",
        "succeeded",
        1,
    )
    shown = as_json(server, "models", "show", "walk")
    assert [a["version"] for a in shown["aliases"]] == [1]

    listed = as_json(server, "deployments", "list", "--model", "walk")
    assert {d["deployment_id"] for d in listed} >= {
        second["deployment_id"],
        back["deployment_id"],
    }
    assert all(d["model"] == "walk" for d in listed)
    assert len(listed) == 3
    table = ok(server, "deployments", "list", "--model", "walk").stdout
    assert back["deployment_id"] in table


def test_predictions_take_arrays_records_and_files(server: Server) -> None:
    register_served(server, "scored")
    ok(server, "deploy", "scored", "1")
    arrays = predicted(server, "scored", "--data", json.dumps(ROWS))
    assert (arrays["model"], arrays["version"]) == ("scored", 1)
    assert len(arrays["predictions"]) == 2
    assert len(arrays["probabilities"]) == 2
    assert arrays["prediction_id"]

    records = [dict(zip(("f1", "f2", "f3"), row, strict=True)) for row in ROWS]
    by_name = predicted(server, "scored", "--data", json.dumps(records))
    assert by_name["predictions"] == arrays["predictions"]
    wrapped = predicted(server, "scored", "--data", json.dumps({"instances": ROWS}))
    assert wrapped["predictions"] == arrays["predictions"]

    table = ok(server, "predict", "scored", "--data", json.dumps(ROWS)).stdout
    assert table.startswith("scored v1 (prediction ")
    assert "probability" in table

    as_file = server.files / "rows.json"
    as_file.write_text(json.dumps(records), encoding="utf-8")
    from_json = predicted(server, "scored", "--file", str(as_file))
    assert from_json["predictions"] == arrays["predictions"]
    as_csv = server.files / "rows.csv"
    as_csv.write_text("f1,f2,f3\n0.5,0.1,2\n-1,0,-1\n", encoding="utf-8")
    from_csv = predicted(server, "scored", "--file", str(as_csv), "--version", "2")
    assert from_csv["version"] == 2
    assert len(from_csv["predictions"]) == 2

    ok(server, "models", "alias", "scored", "staging", "2")
    staged = predicted(server, "scored", "--alias", "staging", "--data", "[[0,0,0]]")
    assert staged["version"] == 2


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ([{"f1": 1.0, "f2": 2.0}], "missing feature 'f3'"),
        ([{"f1": 1.0, "f2": 2.0, "f3": 1, "f4": 0}], "unknown feature 'f4'"),
        ([[1.0, "a", 1]], "f2"),
        ([[1.0, 2.0, 0.5]], "f3"),
    ],
)
def test_instances_that_do_not_fit_name_the_feature(
    strict: str, server: Server, data: object, message: str
) -> None:
    refused = cli(server, "predict", strict, "--data", json.dumps(data))
    assert message in one_error_line(refused)


def test_a_csv_with_a_column_outside_the_signature_is_refused_by_name(
    server: Server,
) -> None:
    register_served(server, "tabled", versions=1)
    ok(server, "deploy", "tabled", "1")
    extra = server.files / "with-target.csv"
    extra.write_text("f1,f2,f3,churned\n1,2,3,0\n", encoding="utf-8")
    refused = cli(server, "predict", "tabled", "--file", str(extra))
    assert "churned" in one_error_line(refused)


def test_missing_models_aliases_and_deployments_are_one_error(server: Server) -> None:
    register_served(server, "undeployed", versions=1)
    for args in (
        ("predict", "nope", "--data", "[[1, 2, 3]]"),
        ("predict", "undeployed", "--data", "[[1, 2, 3]]"),  # no production alias
        ("predict", "undeployed", "--version", "9", "--data", "[[1, 2, 3]]"),
        ("deploy", "nope", "1"),
        ("deploy", "undeployed", "9"),
        ("deployments", "show", "no-such-deployment"),
    ):
        line = one_error_line(cli(server, *args))
        assert "No route matches" not in line, args  # the routes exist


def test_a_canary_is_sticky_per_key_and_a_shadow_never_answers(
    server: Server,
) -> None:
    register_served(server, "split")
    ok(server, "deploy", "split", "1")
    canary = as_json(server, "deploy", "split", "2", "--canary", "50")
    assert (canary["kind"], canary["canary_percent"]) == ("canary", 50)
    seen: dict[str, int] = {}
    for number in range(20):
        key = f"user-{number}"
        first = predicted(server, "split", "--key", key, "--data", "[[0, 0, 0]]")
        second = predicted(server, "split", "--key", key, "--data", "[[1, 1, 1]]")
        assert first["version"] == second["version"], key
        seen[key] = first["version"]
    assert set(seen.values()) == {1, 2}

    as_json(server, "deploy", "split", "--rollback")
    shadow = as_json(server, "deploy", "split", "2", "--shadow")
    assert shadow["kind"] == "shadow"
    for number in range(5):
        answer = predicted(
            server, "split", "--key", f"k{number}", "--data", "[[0,0,0]]"
        )
        assert answer["version"] == 1


def test_a_deploy_that_does_not_succeed_exits_1(server: Server) -> None:
    register_served(server, "retired", versions=2)
    ok(server, "deploy", "retired", "1")
    ok(server, "models", "archive", "retired", "2")
    refused = cli(server, "deploy", "retired", "2")
    assert refused.exit_code == 1
    assert "archived" in refused.output
    still = predicted(server, "retired", "--data", "[[0, 0, 0]]")
    assert still["version"] == 1  # compensated: the alias did not move


def test_a_model_uploaded_without_a_signature_serves_its_own_width(
    server: Server,
) -> None:
    model = skops_model(server.files / "unsigned.skops")
    ok(server, "models", "register", "unsigned", str(model))  # no signature
    ok(server, "deploy", "unsigned", "1")
    answer = predicted(server, "unsigned", "--data", "[[0, 0, 0]]")
    assert len(answer["predictions"]) == 1
    refused = cli(server, "predict", "unsigned", "--data", "[[0, 0]]")
    assert refused.exit_code == 1


def test_an_uploaded_model_with_a_signature_serves_predictions(
    server: Server,
) -> None:
    """Needs ``POST /v1/models/{name}/versions`` to take a ``signature``."""
    signature = server.files / "signature.json"
    signature.write_text(json.dumps(FEATURES), encoding="utf-8")
    model = skops_model(server.files / "signed.skops")
    version = as_json(
        server,
        "models",
        "register",
        "signed",
        str(model),
        "--signature",
        str(signature),
    )
    assert version["signature"] == FEATURES
    ok(server, "deploy", "signed", "1")
    assert len(predicted(server, "signed", "--data", "[[0, 0, 0]]")["predictions"]) == 1


def test_monitor_reports_drift_performance_and_traffic_from_the_cli(
    server: Server, strict: str
) -> None:
    rng = np.random.default_rng(11)
    with Client(server.url, server.key) as client:
        ids = []
        for _ in range(12):  # 1,200 rows: enough for a reference from traffic
            rows = [
                [float(a), float(b), int(c)]
                for a, b, c in zip(
                    rng.normal(size=100),
                    rng.normal(size=100),
                    rng.integers(-3, 4, size=100),
                    strict=True,
                )
            ]
            ids.append(client.models.predict(strict, rows).prediction_id)
        client.monitoring.feedback(
            strict, [{"prediction_id": pid, "label": 1} for pid in ids]
        )

        def logged() -> bool:
            traffic = client.monitoring.serving(model=strict)
            return sum(s["requests"] for s in traffic) >= 12

        assert wait_until(logged, timeout=10, step=0.2)
    table = ok(server, "monitor", "report", strict).stdout
    assert f"{strict} v1: " in table
    assert "reference rows (traffic)" in table
    for feature in ("f1", "f2", "f3", "prediction"):
        assert feature in table
    assert "dataset: not drifted" in table
    recorded = as_json(server, "monitor", "report", strict, "--record")
    assert recorded["report_id"]
    assert recorded["report"]["drifted_features"] == []
    performance = as_json(server, "monitor", "performance", strict)
    assert performance["labelled"] == 12
    assert 0.0 <= performance["metrics"]["accuracy"] <= 1.0
    shown = ok(server, "monitor", "performance", strict).stdout
    assert "accuracy" in shown
    traffic = as_json(server, "monitor", "serving", "--model", strict)
    assert traffic[0]["requests"] >= 12
    assert "p99 ms" in ok(server, "monitor", "serving").stdout
    missing = one_error_line(cli(server, "monitor", "report", "no-such-model"))
    assert "no-such-model" in missing
