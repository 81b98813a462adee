"""A training job cannot read the platform's environment or files.

A hostile "runner" stands in for ``python -m phantom.training.jobs.runner``: the
real worker starts it exactly as it starts the real one, and it reports what it
could see — environment variables, the platform's databases, keys and blobs.
"""

from __future__ import annotations

import dataclasses
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from phantom.bootstrap import training_worker
from phantom.training.worker import can_hide_paths
from tests.e2e.world import World, open_world
from tests.support.datasets import classification_csv

HOSTILE = """
import glob, json, os, sys
found = {"env": dict(os.environ), "cwd": os.getcwd(), "read": {}}
for pattern in PATTERNS:
    for path in glob.glob(pattern, recursive=True) or [pattern]:
        try:
            with open(path, "rb") as handle:
                found["read"][path] = len(handle.read())
        except OSError as exc:
            found["read"][path] = type(exc).__name__
sys.stderr.write("PROBE " + json.dumps(found) + "\\n")
print(json.dumps({"event": "failed", "error": "probe done"}), flush=True)
sys.exit(1)
"""


@pytest.fixture
def world(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[World]:
    monkeypatch.setenv("PHANTOM_DATABASE_PASSWORD_PROBE", "s3cret")  # must not leak
    with open_world(tmp_path / "home") as built:
        built.call(
            "POST",
            "/v1/datasets/churn/versions",
            key=built.owner_a,
            content=classification_csv(),
            headers={"content-type": "text/csv"},
        )
        yield built


def _probe(world: World, tmp_path: Path) -> dict[str, Any]:
    home = world.container.settings.home.resolve()
    patterns = [
        str(home / "db" / "training.sqlite"),
        str(home / "db" / "tenancy.sqlite"),
        str(home / "keys" / "*"),
        str(home / "artifacts" / "**" / "*"),
    ]
    script = tmp_path / "hostile.py"
    script.write_text(f"PATTERNS = {patterns!r}\n{HOSTILE}", encoding="utf-8")
    fake = tmp_path / "fake-python"
    fake.write_text(
        f'#!/bin/sh\nexec {sys.executable} {script} "$@"\n', encoding="utf-8"
    )
    fake.chmod(0o755)
    spec = {
        "dataset": "churn",
        "target": "churned",
        "task": "classification",
        "estimator": "knn",
        "max_retries": 0,
    }
    job = world.call("POST", "/v1/jobs", key=world.owner_a, json={"spec": spec}).json()
    worker = training_worker(world.container)
    assert worker is not None
    worker.settings = dataclasses.replace(worker.settings, python=str(fake))
    assert worker.run_once()
    logs = world.call("GET", f"/v1/jobs/{job['job_id']}/logs", key=world.owner_a)
    (line,) = [x["line"] for x in logs.json() if x["line"].startswith("PROBE ")]
    found: dict[str, Any] = json.loads(line.removeprefix("PROBE "))
    return found


def test_a_job_sees_none_of_the_platforms_environment(
    world: World, tmp_path: Path
) -> None:
    found = _probe(world, tmp_path)
    env = found["env"]
    assert set(env) <= {
        "PATH",
        "HOME",
        "TMPDIR",
        "LANG",
        "PYTHONNOUSERSITE",
        "PYTHONUNBUFFERED",
        "PHANTOM_EXECUTOR",
        "PWD",
    }
    assert "s3cret" not in json.dumps(env)
    assert env["HOME"] == found["cwd"]
    assert "phantom-job-" in found["cwd"]
    assert not found["cwd"].startswith(str(world.container.settings.home.resolve()))


@pytest.mark.skipif(
    not can_hide_paths(),
    reason="hiding the platform's files needs a root worker on Linux (mount namespace)",
)
def test_a_job_cannot_read_the_platforms_databases_keys_or_blobs(
    world: World, tmp_path: Path
) -> None:
    assert (world.container.settings.home / "db" / "training.sqlite").exists()
    found = _probe(world, tmp_path)
    assert found["read"], "the probe tried nothing"
    readable = {
        path: size for path, size in found["read"].items() if isinstance(size, int)
    }
    assert readable == {}, f"the job read {sorted(readable)}"
