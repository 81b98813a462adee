"""Trials on Ray pick exactly what they pick in process, batch for batch."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from phantom.training.jobs.executors import LocalExecutor, executor_for
from phantom.training.jobs.frames import Frame
from phantom.training.jobs.ray_executor import RayExecutor
from phantom.training.jobs.trainer import SearchResult, load_frame, run_search
from phantom.training.jobs.trials import TrialOutcome
from tests.unit.training.jobs.datasets import search_spec, write_classification_csv

pytestmark = pytest.mark.slow

SPACE = (
    "{num_leaves: {type: int, low: 4, high: 31},"
    " learning_rate: {type: float, low: 0.01, high: 0.3, log: true},"
    " min_child_samples: {type: int, low: 2, high: 30}}"
)


@pytest.fixture(scope="module")
def local_ray() -> Iterator[None]:
    import ray

    ray.init(
        address="local",
        num_cpus=2,
        include_dashboard=False,
        log_to_driver=False,
        configure_logging=False,
    )
    yield
    ray.shutdown()


@pytest.fixture(scope="module")
def frame(tmp_path_factory: pytest.TempPathFactory) -> Frame:
    path = tmp_path_factory.mktemp("ray") / "data.csv"
    return load_frame(write_classification_csv(path), "csv")


def seeded_search(frame: Frame, executor) -> SearchResult:
    spec = search_spec(
        "lightgbm",
        params="{n_estimators: 20}",
        space=SPACE,
        n_trials=6,
        parallelism=2,
    )
    return run_search(spec, frame, executor=executor, on_trial=lambda _: None)


def test_ray_and_local_executors_find_the_same_best(local_ray: None, frame: Frame):
    import ray

    local = seeded_search(frame, LocalExecutor())
    executor = RayExecutor()
    try:
        remote = seeded_search(frame, executor)
    finally:
        executor.close()

    assert remote.best_params == local.best_params
    assert remote.best_score == local.best_score
    assert remote.best_number == local.best_number
    assert [t.params for t in remote.trials] == [t.params for t in local.trials]
    assert [t.score for t in remote.trials] == [t.score for t in local.trials]
    assert ray.is_initialized(), "close() stopped a Ray it did not start"


def _double(shared: int, item: int) -> int:
    return shared * item


def test_ray_map_keeps_item_order_and_ships_shared_data_once(local_ray: None):
    executor = RayExecutor()
    shared = 3

    first = executor.map(_double, shared, list(range(8)))
    reference = executor._shared
    second = executor.map(_double, shared, [5, 1])

    assert first == [0, 3, 6, 9, 12, 15, 18, 21]
    assert second == [15, 3]
    assert executor._shared is reference
    executor.close()


def _explode(shared: int, item: int) -> TrialOutcome:
    msg = f"boom {shared + item}"
    raise ValueError(msg)


def test_ray_map_raises_the_function_error(local_ray: None):
    executor = RayExecutor()

    with pytest.raises(ValueError, match="boom 3"):
        executor.map(_explode, 1, [2])
    executor.close()


def test_ray_executor_is_chosen_by_name():
    assert isinstance(executor_for("ray"), RayExecutor)
    chosen = executor_for("ray://head.example:10001")
    assert isinstance(chosen, RayExecutor)
    assert chosen.address == "ray://head.example:10001"


def test_runner_with_ray_starts_and_stops_its_own_instance(tmp_path: Path):
    job = tmp_path / "job"
    job.mkdir()
    write_classification_csv(job / "data.csv")
    spec = search_spec(
        "lightgbm", params="{n_estimators: 20}", space=SPACE, n_trials=4, parallelism=2
    )
    (job / "spec.json").write_text(spec.model_dump_json())
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(tmp_path),
        "PHANTOM_EXECUTOR": "ray",
    }

    done = subprocess.run(
        [sys.executable, "-m", "phantom.training.jobs.runner", str(job)],
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )

    assert done.returncode == 0, done.stderr[-3000:]
    events = [json.loads(line) for line in done.stdout.splitlines()]
    assert events[0]["executor"] == "ray"
    assert [e["event"] for e in events].count("trial") == 4
    assert events[-1]["event"] == "finished"
