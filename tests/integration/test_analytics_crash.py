"""Acknowledged metric batches survive SIGKILL; the file has one writer process."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

import pytest

from phantom.kernel.analytics import open_analytics
from phantom.kernel.errors import Unavailable

ROOT = Path(__file__).resolve().parents[2]
BATCH = 1_000


def start_writer(path: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tests.integration.analytics_writer",
            str(path),
            str(BATCH),
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def wait_for_acks(writer: subprocess.Popen[str], batches: int) -> int:
    assert writer.stdout is not None
    acked = 0
    for _ in range(batches):
        line = writer.stdout.readline()
        if not line:
            writer.wait(timeout=10)
            assert writer.stderr is not None
            pytest.fail(f"writer died: {writer.stderr.read()[-2000:]}")
        acked = int(line.split()[1])
    return acked


def kill(writer: subprocess.Popen[str]) -> None:
    writer.send_signal(signal.SIGKILL)
    writer.wait(timeout=10)
    assert writer.returncode == -signal.SIGKILL
    for stream in (writer.stdout, writer.stderr):
        if stream is not None:
            stream.close()


def test_every_acknowledged_batch_survives_a_kill_9(tmp_path: Path) -> None:
    path = tmp_path / "a.duckdb"
    writer = start_writer(path)
    try:
        acked = wait_for_acks(writer, 25)
    finally:
        kill(writer)  # most likely in the middle of the next batch
    store = open_analytics(f"duckdb://{path}")
    try:
        history = store.metric_history("t1", "r1", "loss")
    finally:
        store.close()
    stored = len(history)
    assert stored >= acked
    assert stored % BATCH == 0, "a batch was written in part"
    assert history.steps == list(range(stored))
    assert history.values == [step * 0.5 for step in range(stored)]


def test_a_second_process_cannot_open_the_file(tmp_path: Path) -> None:
    path = tmp_path / "a.duckdb"
    writer = start_writer(path)
    try:
        wait_for_acks(writer, 1)
        with pytest.raises(Unavailable, match="open in another process"):
            open_analytics(f"duckdb://{path}")
    finally:
        kill(writer)
