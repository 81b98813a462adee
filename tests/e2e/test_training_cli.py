"""The training walk-through from the command line against a real ``phantom up``.

CSV → ``phantom datasets register`` → ``phantom train submit spec.yaml --follow``
(a 10-trial search run by the server's in-process worker) → the best run and its
model artifact through ``phantom runs``; then a standalone ``phantom worker``
takes a job while the server runs, and its trials' metrics reach the server.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.test_up import ROOT, phantom_up, wait_for
from tests.support.datasets import classification_csv

pytestmark = pytest.mark.slow

SPEC = """\
name: churn-search
experiment: churn
dataset: churn
target: churned
task: classification
estimator: random_forest
params: {n_estimators: 20}
search:
  space:
    max_depth: {type: int, low: 2, high: 10}
    min_samples_leaf: {type: int, low: 1, high: 10}
  n_trials: 10
  seed: 1
cv: {folds: 3}
metric: accuracy
"""


@dataclass(frozen=True)
class Deployment:
    home: Path
    url: str
    key: str


def environment(deployment: Deployment | None, home: Path) -> dict[str, str]:
    values = {
        **{k: v for k, v in os.environ.items() if not k.startswith("PHANTOM_")},
        "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), str(ROOT)]),
        "PHANTOM_HOME": str(home),
        "PHANTOM_CONFIG": str(home / "no-such-phantom.toml"),
        "PHANTOM_CONFIG_DIR": str(home / "sdk-config"),
        "PHANTOM_LOG_LEVEL": "WARNING",
    }
    if deployment is not None:
        values |= {"PHANTOM_URL": deployment.url, "PHANTOM_API_KEY": deployment.key}
    return values


def phantom(
    deployment: Deployment, *args: str, check: bool = True
) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(
        [sys.executable, "-m", "phantom", *args],
        env=environment(deployment, deployment.home),
        cwd=deployment.home.parent,
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    if check:
        assert done.returncode == 0, done.stderr + done.stdout
    return done


def as_json(deployment: Deployment, *args: str) -> Any:
    return json.loads(phantom(deployment, *args, "--json").stdout)


@pytest.fixture(scope="module")
def deployment(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deployment]:
    root = tmp_path_factory.mktemp("training-cli")
    home = root / "home"
    init = subprocess.run(
        [sys.executable, "-m", "phantom", "admin", "init", "--json"],
        env=environment(None, home),
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    key = json.loads(init.stdout)["api_key"]
    with phantom_up(home, root, PHANTOM_WORKER_LEASE_S="5") as (base, process, log):
        wait_for(f"{base}/readyz", process, log)
        yield Deployment(home, base, key)


def test_csv_to_a_searched_model_from_the_cli(
    deployment: Deployment, tmp_path: Path
) -> None:
    data = tmp_path / "churn.csv"
    data.write_bytes(classification_csv(400))
    registered = as_json(
        deployment, "datasets", "register", str(data), "--name", "churn"
    )
    assert registered["version"] == 1
    assert registered["row_count"] == 400
    shown = phantom(deployment, "datasets", "show", "churn").stdout
    assert "segment" in shown

    spec = tmp_path / "spec.yaml"
    spec.write_text(SPEC, encoding="utf-8")
    followed = phantom(deployment, "train", "submit", str(spec), "--follow")
    assert "succeeded" in followed.stdout
    assert "best accuracy" in followed.stdout

    (job,) = as_json(deployment, "train", "list")
    assert job["status"] == "succeeded"
    result = job["result"]
    runs = as_json(
        deployment,
        "runs",
        "list",
        "--experiment",
        "churn",
        "--order-by",
        "metrics.accuracy desc",
    )
    assert len(runs) == 10
    best = runs[0]
    assert best["run_id"] == result["best_run_id"]
    assert best["tags"]["phantom.best"] == "true"
    assert [a["name"] for a in best["artifacts"]] == ["model.skops"]
    assert best["artifacts"][0]["digest"] == result["model_digest"]
    compared = as_json(
        deployment, "runs", "compare", runs[0]["run_id"], runs[1]["run_id"]
    )
    assert "max_depth" in compared["param_keys"]

    bad = tmp_path / "bad.yaml"
    bad.write_text(SPEC.replace("random_forest", "os.system"), encoding="utf-8")
    refused = phantom(deployment, "train", "submit", str(bad), check=False)
    assert refused.returncode == 1
    assert "estimator" in refused.stderr
    assert "Traceback" not in refused.stderr


def test_a_standalone_worker_runs_jobs_beside_the_server(
    deployment: Deployment, tmp_path: Path
) -> None:
    data = tmp_path / "churn.csv"
    data.write_bytes(classification_csv(200, seed=5))
    phantom(deployment, "datasets", "register", str(data), "--name", "churn2")
    spec = tmp_path / "spec.yaml"
    spec.write_text(
        SPEC.replace("dataset: churn", "dataset: churn2")
        .replace("experiment: churn", "experiment: standalone")
        .replace("n_trials: 10", "n_trials: 4"),
        encoding="utf-8",
    )
    # the server's own worker is busy or idle; a second worker joins the pool
    worker = subprocess.Popen(
        [sys.executable, "-m", "phantom", "worker"],
        env=environment(None, deployment.home),
        cwd=deployment.home.parent,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        job = as_json(deployment, "train", "submit", str(spec))
        deadline = time.monotonic() + 240
        while True:
            status = as_json(deployment, "train", "status", job["job_id"])
            if status["status"] in {"succeeded", "failed", "cancelled"}:
                break
            assert time.monotonic() < deadline, status
            time.sleep(0.5)
        assert status["status"] == "succeeded", status["error"]
        deadline = time.monotonic() + 30
        while True:  # points spooled by a standalone worker arrive within a second
            runs = as_json(deployment, "runs", "list", "--experiment", "standalone")
            if all("accuracy" in r["metrics"] for r in runs):
                break
            assert time.monotonic() < deadline, runs
            time.sleep(0.5)
        assert len(runs) == 4
    finally:
        worker.send_signal(signal.SIGINT)
        try:
            worker.wait(timeout=30)
        except subprocess.TimeoutExpired:
            worker.kill()
            worker.wait()


ENTRYPOINT = """\
import os

import phantom

with phantom.start_run(
    experiment=os.environ["PHANTOM_EXPERIMENT"], params={"source": "entrypoint"}
) as run:
    with open(os.environ["PHANTOM_DATASET_FILE"], encoding="utf-8") as data:
        rows = sum(1 for _ in data) - 1
    for step in range(100):
        run.log_metric("loss", 1.0 / (step + 1), step=step)
    run.log_metric("rows", float(rows))
    run.set_tag("job", os.environ["PHANTOM_JOB_ID"])
print("trained on", rows, "rows", flush=True)
"""


def test_an_entrypoint_job_runs_the_users_file_with_the_sdk_configured(
    deployment: Deployment, tmp_path: Path
) -> None:
    data = tmp_path / "churn.csv"
    data.write_bytes(classification_csv(150, seed=9))
    phantom(deployment, "datasets", "register", str(data), "--name", "churn3")
    (tmp_path / "train.py").write_text(ENTRYPOINT, encoding="utf-8")
    spec = tmp_path / "job.yaml"
    spec.write_text(
        "kind: entrypoint\nexperiment: mine\ndataset: churn3\n"
        "entrypoint: {file: train.py}\n",
        encoding="utf-8",
    )
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "phantom",
            "train",
            "submit",
            "job.yaml",
            "--file",
            "train.py",
            "--follow",
            "--json",
        ],
        env=environment(deployment, deployment.home),
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr + done.stdout
    job = json.loads(done.stdout[done.stdout.index("{") :])
    assert job["status"] == "succeeded", job["error"]
    (run,) = as_json(deployment, "runs", "list", "--experiment", "mine")
    assert run["status"] == "finished"
    assert run["params"] == {"source": "entrypoint"}
    assert run["tags"]["job"] == job["job_id"]
    assert run["metrics"]["rows"] == 150.0
    logs = phantom(deployment, "train", "logs", job["job_id"]).stdout
    assert "trained on 150 rows" in logs
