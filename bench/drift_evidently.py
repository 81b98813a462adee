"""The Evidently half of ``bench.drift``: run by Evidently's virtualenv's Python.

Evidently lives in its own virtualenv (``bench/.venvs/``): 0.7.23 does not import
under pandas 3, which Phantom uses, and declares no upper bound, so its
virtualenv pins ``pandas<3``. This script imports nothing of Phantom or of
``bench``: the standard library, NumPy, pandas and Evidently only. It prints one
JSON object on stdout::

    python bench/drift_evidently.py DATA.npz [--method default|ks] [--repeat 1]
    python bench/drift_evidently.py version

``DATA.npz`` holds ``reference`` and ``current`` (rows x columns, float64) and
``names``. Timed, per sample: building ``Report([DataDriftPreset(...)],
include_tests=True)`` and ``report.run(current, reference)`` on the two
DataFrames, which is where Evidently computes everything; turning the arrays
into DataFrames is not timed, nor is reading the verdicts out of the snapshot.
A warm-up report on two of the columns runs first (imports, first calls).

``--method default`` is the preset as it comes (for numeric columns with more
than 1,000 reference rows: Wasserstein distance over the reference's standard
deviation, drift at ``>= 0.1``); ``--method ks`` is ``DataDriftPreset(method=
"ks")`` (two-sample Kolmogorov-Smirnov, drift at ``p < 0.05``). Per column, the
verdict is the status of the preset's own per-column test (``FAIL``: drift).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from importlib import metadata
from typing import Any


def _versions() -> dict[str, str]:
    names = ("evidently", "pandas", "numpy", "scipy")
    return {name: metadata.version(name) for name in names}


def _report(method: str) -> Any:
    from evidently import Report  # type: ignore[import-not-found,unused-ignore]
    from evidently.presets import (  # type: ignore[import-not-found,unused-ignore]
        DataDriftPreset,
    )

    preset = (
        DataDriftPreset() if method == "default" else DataDriftPreset(method=method)
    )
    return Report([preset], include_tests=True)


def _verdicts(snapshot: Any) -> dict[str, Any]:
    """Per column: method, threshold, score and the per-column test's verdict."""
    data = snapshot.dict()
    scores: dict[str, float] = {}
    dataset: dict[str, float] = {}
    for metric in data["metrics"]:
        config = metric["config"]
        if config["type"].endswith(":ValueDrift"):
            scores[metric["id"]] = float(metric["value"])
        elif config["type"].endswith(":DriftedColumnsCount"):
            dataset = {k: float(v) for k, v in metric["value"].items()}
    columns: dict[str, Any] = {}
    dataset_test: str | None = None
    for test in data["tests"]:
        status = str(getattr(test["status"], "value", test["status"]))
        params = test["metric_config"]["params"]
        if test["id"] == "drift":
            columns[params["column"]] = {
                "method": params.get("method"),
                "threshold": params.get("threshold"),
                "score": scores.get(test["metric_config"]["metric_id"]),
                "drifted": status == "FAIL",
                "test_status": status,
            }
        elif params["type"].endswith(":DriftedColumnsCount"):
            dataset_test = status
    return {
        "columns": columns,
        "drifted": sorted(name for name, c in columns.items() if c["drifted"]),
        "dataset": dataset,
        # the preset's dataset test passes while the share is below drift_share
        "dataset_drifted": None if dataset_test is None else dataset_test == "FAIL",
    }


def run(path: str, method: str, repeat: int) -> dict[str, Any]:
    """Warm up, then time ``repeat`` reports on the whole data."""
    import numpy as np
    import pandas as pd

    with np.load(path) as data:
        names = [str(n) for n in data["names"]]
        reference = pd.DataFrame(data["reference"], columns=names)
        current = pd.DataFrame(data["current"], columns=names)
    started = time.perf_counter()
    _report(method).run(current[names[:2]], reference[names[:2]])
    warmup = time.perf_counter() - started
    seconds: list[float] = []
    snapshot: Any = None
    for _ in range(repeat):
        started = time.perf_counter()
        snapshot = _report(method).run(current, reference)
        seconds.append(time.perf_counter() - started)
    return {
        "method": method,
        "rows": [len(reference), len(current)],
        "columns_count": len(names),
        "warmup_seconds": warmup,
        "seconds": seconds,
        **_verdicts(snapshot),
        "versions": _versions(),
    }


def main(argv: list[str] | None = None) -> int:
    """Parse the command line, print the JSON result."""
    args = list(sys.argv[1:] if argv is None else argv)
    if args[:1] == ["version"]:
        print(json.dumps(_versions()))
        return 0
    parser = argparse.ArgumentParser(prog="drift_evidently.py")
    parser.add_argument("data")
    parser.add_argument("--method", default="default", choices=("default", "ks"))
    parser.add_argument("--repeat", type=int, default=1)
    parsed = parser.parse_args(args)
    print(json.dumps(run(parsed.data, parsed.method, parsed.repeat)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
