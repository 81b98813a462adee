"""Small generated datasets and specs for the training-job tests."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
from sklearn.datasets import make_classification, make_regression

from phantom.training.jobs.spec import TrainingSpec, parse_spec

ROWS = 240


def write_classification_csv(path: Path, *, rows: int = ROWS, classes: int = 2) -> Path:
    """Five numeric features with some blanks, a colour, and a string label."""
    x, y = make_classification(
        n_samples=rows,
        n_features=5,
        n_informative=3,
        n_classes=classes,
        random_state=0,
    )
    rng = np.random.default_rng(0)
    names = ["bee", "ant", "cat"]
    with path.open("w", newline="") as out:
        writer = csv.writer(out)
        writer.writerow([f"x{i}" for i in range(5)] + ["colour", "label"])
        for row, label in zip(x, y, strict=True):
            values = ["" if rng.random() < 0.05 else f"{v:.6f}" for v in row]
            colour = rng.choice(["red", "green", "blue", ""])
            writer.writerow([*values, colour, names[label]])
    return path


def write_regression_csv(path: Path, *, rows: int = ROWS) -> Path:
    """Four numeric features (one with blanks), a shop name, a numeric target."""
    x, y = make_regression(n_samples=rows, n_features=4, noise=5.0, random_state=0)
    rng = np.random.default_rng(1)
    with path.open("w", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(["a", "b", "c", "d", "shop", "price"])
        for row, target in zip(x, y, strict=True):
            values = [f"{v:.6f}" for v in row]
            if rng.random() < 0.05:
                values[2] = ""
            writer.writerow([*values, rng.choice(["north", "south"]), f"{target:.4f}"])
    return path


SPEC_DEFAULTS: dict[str, object] = {
    "task": "classification",
    "space": "{max_depth: {type: int, low: 2, high: 8}}",
    "params": "{}",
    "extra": "",
    "n_trials": 5,
    "parallelism": 1,
    "sampler": "tpe",
    "split": "cv: {folds: 3}",
}


def search_spec(estimator: str, **options: object) -> TrainingSpec:
    """A parsed search spec over the generated data's target.

    ``options`` override :data:`SPEC_DEFAULTS`; ``space`` and ``params`` are YAML
    flow mappings, ``split`` a ``cv``/``holdout`` line, ``extra`` more YAML lines.
    """
    o = {**SPEC_DEFAULTS, **options}
    target = "label" if o["task"] == "classification" else "price"
    return parse_spec(
        f"""
dataset: generated
target: {target}
task: {o["task"]}
estimator: {estimator}
params: {o["params"]}
{o["split"]}
search:
  sampler: {o["sampler"]}
  n_trials: {o["n_trials"]}
  parallelism: {o["parallelism"]}
  seed: 7
  space: {o["space"]}
{o["extra"]}
"""
    )
