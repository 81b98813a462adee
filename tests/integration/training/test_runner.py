"""The job runner as the worker starts it: a subprocess with a clean environment.

Failure paths that need no second process run :func:`run_job` in process: the
same code and events, without paying the subprocess's imports each time.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import skops.io as sio

from phantom.training.jobs.runner import EXIT_FAILED, EventWriter, run_job
from tests.unit.training.jobs.datasets import search_spec, write_classification_csv

RUNNER = [sys.executable, "-m", "phantom.training.jobs.runner"]


def clean_env(home: Path, **extra: str) -> dict[str, str]:
    return {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(home), **extra}


def make_job(root: Path, spec_json: str, *, data: bool = True) -> Path:
    job = root / "job"
    job.mkdir()
    (job / "spec.json").write_text(spec_json)
    if data:
        write_classification_csv(job / "data.csv")
    return job


def run(job: Path, home: Path, **env: str) -> tuple[int, list[dict[str, Any]], str]:
    done = subprocess.run(
        [*RUNNER, str(job)],
        env=clean_env(home, **env),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    events = [json.loads(line) for line in done.stdout.splitlines()]
    return done.returncode, events, done.stderr


def run_here(job: Path, executor: str = "local") -> tuple[int, list[dict[str, Any]]]:
    out = io.StringIO()
    status = run_job(job, EventWriter(out), executor_name=executor)
    return status, [json.loads(line) for line in out.getvalue().splitlines()]


def lightgbm_spec(n_trials: int = 4, parallelism: int = 2) -> str:
    return search_spec(
        "lightgbm",
        params="{n_estimators: 20}",
        space="{num_leaves: {type: int, low: 4, high: 31},"
        " learning_rate: {type: float, low: 0.01, high: 0.3, log: true}}",
        n_trials=n_trials,
        parallelism=parallelism,
    ).model_dump_json()


def test_runner_streams_trials_then_writes_the_model(tmp_path: Path):
    job = make_job(tmp_path, lightgbm_spec())

    status, events, stderr = run(job, tmp_path)

    assert status == 0, stderr
    kinds = [e["event"] for e in events]
    assert kinds[0] == "started"
    assert kinds[-1] == "finished"
    assert kinds.count("trial") == 4
    assert events[0]["executor"] == "local"
    assert events[0]["metric"] == "accuracy"
    trials = [e for e in events if e["event"] == "trial"]
    assert [t["number"] for t in trials] == [0, 1, 2, 3]
    assert all(t["state"] == "complete" and len(t["fold_scores"]) == 3 for t in trials)
    bests = [e["score"] for e in events if e["event"] == "best"]
    assert bests == sorted(bests)
    assert len(set(bests)) == len(bests)
    finished = events[-1]
    assert finished["best_score"] == bests[-1] == max(t["score"] for t in trials)
    assert finished["model_file"] == "model.skops"
    assert finished["model_format"] == "skops"
    assert finished["classes"] == ["ant", "bee"]
    assert [s["name"] for s in finished["signature"]][-1] == "colour"
    model_bytes = (job / "model.skops").read_bytes()
    assert hashlib.sha256(model_bytes).hexdigest() == finished["model_sha256"]
    model = sio.loads(model_bytes, trusted=finished["trusted_types"])
    assert model.classes_.tolist() == ["ant", "bee"]
    result = json.loads((job / "result.json").read_text())
    assert result["best_params"] == finished["best_params"]
    assert len(result["trials"]) == 4
    assert "INFO" in stderr


def test_cancel_file_stops_the_job_after_the_current_batch(tmp_path: Path):
    spec = search_spec(
        "random_forest", params="{n_estimators: 5}", n_trials=1000
    ).model_dump_json()
    job = make_job(tmp_path, spec)
    events = []
    with subprocess.Popen(
        [*RUNNER, str(job)],
        env=clean_env(tmp_path),
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    ) as process:
        try:
            assert process.stdout is not None
            for line in process.stdout:
                events.append(json.loads(line))
                if events[-1]["event"] == "trial":
                    (job / "cancel").touch()
                    break
            events += [json.loads(line) for line in process.stdout]
            status = process.wait(timeout=60)
        finally:
            process.kill()

    assert status == 3
    assert events[-1]["event"] == "cancelled"
    trials = [e for e in events if e["event"] == "trial"]
    assert events[-1]["n_trials"] == len(trials) < 1000
    assert not (job / "model.skops").exists()
    assert not (job / "result.json").exists()


def test_cancel_file_present_at_start_runs_no_trial(tmp_path: Path):
    job = make_job(tmp_path, lightgbm_spec())
    (job / "cancel").touch()

    status, events, _ = run(job, tmp_path)

    assert status == 3
    assert [e["event"] for e in events] == ["started", "cancelled"]


def test_corrupt_data_file_fails_the_job(tmp_path: Path):
    job = make_job(tmp_path, lightgbm_spec(), data=False)
    (job / "data.parquet").write_bytes(b"PAR1 this is not parquet PAR1")

    status, events, _ = run(job, tmp_path)

    assert status == 1
    assert events[-1]["event"] == "failed"
    assert "could not read the dataset as parquet" in events[-1]["error"]


def test_missing_data_file_fails_the_job(tmp_path: Path):
    job = make_job(tmp_path, lightgbm_spec(), data=False)

    status, events = run_here(job)

    assert status == EXIT_FAILED
    assert events == [
        {
            "event": "failed",
            "error": "the job needs exactly one of data.csv, data.parquet",
        }
    ]


def test_invalid_spec_fails_the_job_naming_the_field(tmp_path: Path):
    job = make_job(tmp_path, '{"dataset": "d", "target": "label", "oops": 1}')

    status, events = run_here(job)

    assert status == EXIT_FAILED
    assert events[-1]["error"].startswith("oops: unknown field")


def test_entrypoint_jobs_are_refused(tmp_path: Path):
    job = make_job(tmp_path, '{"kind": "entrypoint", "entrypoint": {"file": "t.py"}}')

    status, events = run_here(job)

    assert status == EXIT_FAILED
    assert "only searches" in events[-1]["error"]


def test_unknown_executor_fails_listing_the_known_ones(tmp_path: Path):
    job = make_job(tmp_path, lightgbm_spec())

    status, events = run_here(job, executor="spark")

    assert status == 1
    assert "known: local, ray, ray://host:port" in events[-1]["error"]


def test_every_stdout_line_is_a_json_event_even_when_libraries_print(tmp_path: Path):
    spec = search_spec(
        "lightgbm", params="{n_estimators: 5, verbose: 1}", space="{}"
    ).model_dump_json()
    job = make_job(tmp_path, spec)

    status, events, stderr = run(job, tmp_path)

    assert status == 0, stderr
    assert [e["event"] for e in events] == ["started", "trial", "best", "finished"]
    assert "[LightGBM]" in stderr


@pytest.mark.parametrize("corrupt", ["{", "[]"])
def test_unparsable_spec_fails_the_job(corrupt: str, tmp_path: Path):
    job = make_job(tmp_path, corrupt)

    status, events = run_here(job)

    assert status == EXIT_FAILED
    assert events[-1]["error"].startswith("spec: ")
