"""The MLflow half of ``bench.tracking``: run by the MLflow virtualenv's Python.

MLflow lives in its own virtualenv (``bench/.venvs/``) because it pins
packages below ours, so this script imports nothing of Phantom or of ``bench``:
the standard library and MLflow only. ``bench.tracking`` calls it once per
measurement; it prints one JSON object on stdout::

    python bench/tracking_mlflow.py URL log-batch --points 100000 [--batch 1000]
    python bench/tracking_mlflow.py URL log-metric --points 2000
    python bench/tracking_mlflow.py URL read --run-id ID [--repeat 5]
    python bench/tracking_mlflow.py URL version

Timed: the logging loop only (building each batch's ``Metric`` objects, with a
timestamp per point, is inside it, as a user's loop would be); creating the run
is not. ``read`` times ``MlflowClient.get_metric_history`` and reports each
sample and the number of points it returned.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import uuid
from importlib import metadata
from typing import Any

import mlflow  # type: ignore[import-not-found,unused-ignore]
from mlflow.entities import Metric  # type: ignore[import-not-found,unused-ignore]
from mlflow.tracking import (  # type: ignore[import-not-found,unused-ignore]
    MlflowClient,
)

KEY = "loss"


def _new_run(client: Any) -> str:
    experiment = client.create_experiment(f"bench-{uuid.uuid4().hex[:12]}")
    run_id: str = client.create_run(experiment).info.run_id
    return run_id


def log_batch(client: Any, points: int, batch: int) -> dict[str, Any]:
    """``log_batch`` with ``batch`` metrics per call (MLflow's maximum is 1,000)."""
    run_id = _new_run(client)
    started = time.perf_counter()
    for first in range(0, points, batch):
        metrics = [
            Metric(KEY, step * 0.001, time.time_ns() // 1_000_000, step)
            for step in range(first, min(first + batch, points))
        ]
        client.log_batch(run_id, metrics=metrics)
    seconds = time.perf_counter() - started
    return {"run_id": run_id, "points": points, "seconds": seconds}


def log_metric(client: Any, points: int) -> dict[str, Any]:
    """``log_metric``: one request per point."""
    run_id = _new_run(client)
    started = time.perf_counter()
    for step in range(points):
        client.log_metric(run_id, KEY, step * 0.001, step=step)
    seconds = time.perf_counter() - started
    return {"run_id": run_id, "points": points, "seconds": seconds}


def read(client: Any, run_id: str, repeat: int) -> dict[str, Any]:
    """``get_metric_history`` ``repeat`` times."""
    samples: list[float] = []
    count = 0
    for _ in range(repeat):
        started = time.perf_counter()
        history = client.get_metric_history(run_id, KEY)
        samples.append(time.perf_counter() - started)
        count = len(history)
    return {"run_id": run_id, "points": count, "seconds": samples}


def main(argv: list[str] | None = None) -> int:
    """Run one measurement and print its JSON."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("url")
    parser.add_argument(
        "command", choices=["log-batch", "log-metric", "read", "version"]
    )
    parser.add_argument("--points", type=int, default=100_000)
    parser.add_argument("--batch", type=int, default=1_000)
    parser.add_argument("--run-id")
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args(argv)
    client = MlflowClient(tracking_uri=args.url)
    if args.command == "log-batch":
        result = log_batch(client, args.points, args.batch)
    elif args.command == "log-metric":
        result = log_metric(client, args.points)
    elif args.command == "read":
        result = read(client, args.run_id, args.repeat)
    else:
        result = {"python": sys.version.split()[0], "mlflow": mlflow.__version__}
        for name in ("mlflow-skinny", "sqlalchemy", "alembic", "uvicorn", "fastapi"):
            try:
                result[name] = metadata.version(name)
            except metadata.PackageNotFoundError:
                result[name] = None
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
