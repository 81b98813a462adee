"""The MLflow half of ``bench.serving``: run by the MLflow virtualenv's Python.

MLflow lives in its own virtualenv (``bench/.venvs/``), so this script imports
nothing of Phantom or of ``bench``: the standard library, NumPy, scikit-learn and
MLflow (with pandas and skops, which it brings) only. It trains the benchmark's
models on the data ``bench.serving`` wrote (the same arrays, estimators,
hyperparameters and seed as Phantom's copies) and saves each with
``mlflow.sklearn.save_model``; it prints one JSON object on stdout with each
model's predictions on the probe rows, which ``bench.serving`` compares with its
own to prove both are the same model::

    python bench/serving_mlflow.py save --data DIR --out DIR --spec JSON
    python bench/serving_mlflow.py version
"""

from __future__ import annotations

import argparse
import json
import sys
from importlib import metadata
from pathlib import Path
from typing import Any

import mlflow.sklearn  # type: ignore[import-not-found,unused-ignore]
import numpy as np
import pandas as pd  # type: ignore[import-untyped,unused-ignore]
import skops.io  # type: ignore[import-untyped,unused-ignore]
from mlflow.models import infer_signature  # type: ignore[import-not-found,unused-ignore]
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LogisticRegression

ESTIMATORS: dict[str, Any] = {
    "LogisticRegression": LogisticRegression,
    "RandomForestClassifier": RandomForestClassifier,
}


def save(data: Path, out: Path, spec: dict[str, Any]) -> dict[str, Any]:
    """Train every model in ``spec`` on ``data``; save it under ``out/<name>``."""
    x, y = np.load(data / "x_train.npy"), np.load(data / "y_train.npy")
    probe = np.load(data / "x_probe.npy")
    columns = [f"f{i}" for i in range(x.shape[1])]
    found: dict[str, Any] = {}
    for name, (estimator, params) in spec["models"].items():
        model = ESTIMATORS[estimator](**params).fit(x, y)
        frame = pd.DataFrame(probe, columns=columns)
        signature = infer_signature(frame, model.predict(probe))
        # we made these files: trust the types skops flags (the forest's Tree)
        trusted = skops.io.get_untrusted_types(data=skops.io.dumps(model))
        mlflow.sklearn.save_model(
            model, str(out / name), signature=signature, skops_trusted_types=trusted
        )
        found[name] = {
            "path": str(out / name),
            "labels": model.predict(probe).tolist(),
            "probabilities": model.predict_proba(probe).tolist(),
        }
    return found


def main() -> int:
    """Parse the command line, do it, print the JSON."""
    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers(dest="command", required=True)
    saving = sub.add_parser("save")
    saving.add_argument("--data", type=Path, required=True)
    saving.add_argument("--out", type=Path, required=True)
    saving.add_argument("--spec", required=True, help="the models, as JSON")
    sub.add_parser("version")
    args = parser.parse_args()
    if args.command == "version":
        names = ("mlflow", "scikit-learn", "numpy", "pandas", "uvicorn", "fastapi")
        result: dict[str, Any] = {n: metadata.version(n) for n in names}
        result["python"] = sys.version.split()[0]
    else:
        result = save(args.data, args.out, json.loads(args.spec))
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
