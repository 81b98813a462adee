"""``phantom quickstart`` as a real process: every step, then a summary, exit 0.

It starts its own embedded server in a temporary home, so nothing but a clean
environment is needed. A failing step ends it with the table so far, one
``error:`` line naming the step, and exit status 1.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
TIMEOUT_S = 240.0
STEPS = (
    "Start embedded server",
    "Create tenant",
    "Register dataset",
    "Train (10-trial search)",
    "Register best model",
    "Deploy",
    "Predict (1,000 requests)",
    "Drift report (shifted traffic)",
    "Verify audit chain",
)


def quickstart(
    tmp_path: Path, *args: str, **env: str
) -> subprocess.CompletedProcess[str]:
    """``python -m phantom quickstart ARGS`` with no PHANTOM_* setting of ours."""
    environment = {
        **{
            k: v
            for k, v in os.environ.items()
            if not k.startswith("PHANTOM_") or k.startswith("PHANTOM_TEST_")
        },
        "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), str(ROOT)]),
        "PHANTOM_CONFIG": str(tmp_path / "no-such-phantom.toml"),
        "TMPDIR": str(tmp_path),  # the temporary home goes here
        "COLUMNS": "200",  # one table row per line
        **env,
    }
    return subprocess.run(
        [sys.executable, "-m", "phantom", "quickstart", *args],
        cwd=tmp_path,
        env=environment,
        capture_output=True,
        text=True,
        timeout=TIMEOUT_S,
        check=False,
    )


def table_row(output: str, step: str) -> str:
    """The summary table's line of ``step``."""
    rows = [line for line in output.splitlines() if f" {step} " in line]
    assert rows, output
    return rows[-1]


def test_quickstart_walks_every_step_and_sums_them_up(tmp_path: Path) -> None:
    done = quickstart(tmp_path)
    output = done.stdout
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Traceback" not in output + done.stderr
    assert "error:" not in done.stderr
    for step in STEPS:
        assert "✓" in table_row(output, step)
    assert "✗" not in output
    assert "2,000 rows" in table_row(output, "Register dataset")
    assert "10 trials, best roc_auc" in table_row(output, "Train (10-trial search)")
    assert "churn-model v1" in table_row(output, "Register best model")
    assert "production → churn-model v1" in table_row(output, "Deploy")
    predictions = table_row(output, "Predict (1,000 requests)")
    assert "1,000 requests" in predictions
    assert "p50" in predictions
    assert "p99" in predictions
    drift = table_row(output, "Drift report (shifted traffic)")
    assert "500 shifted rows" in drift
    assert "monthly_spend" in drift
    assert "tenure_months" in drift
    assert "Drift of the shifted traffic" in output
    assert "drifted: tenure_months, monthly_spend" in output
    assert "intact" in table_row(output, "Verify audit chain")
    assert "Total" in output
    # the temporary home is gone
    assert not [p for p in tmp_path.iterdir() if p.name.startswith("phantom-")]


def test_a_failing_step_is_named_and_exits_1(tmp_path: Path) -> None:
    done = quickstart(tmp_path, PHANTOM_MAX_UPLOAD_BYTES="1000")  # no dataset fits
    assert done.returncode == 1, done.stdout + done.stderr
    assert "Traceback" not in done.stdout + done.stderr
    errors = done.stderr.strip().splitlines()
    assert len(errors) == 1, done.stderr
    assert errors[0].startswith("error: quickstart failed at Register dataset: ")
    assert "✓" in table_row(done.stdout, "Create tenant")
    assert "✗" in table_row(done.stdout, "Register dataset")
    assert "Train" not in done.stdout  # nothing ran after the failed step
