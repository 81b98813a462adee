"""``phantom up`` as a real process: it serves, answers probes and stops cleanly."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from phantom.testing.services import temporary_postgres_database

ROOT = Path(__file__).resolve().parents[2]
KEY_LINE = re.compile(
    r"^PHANTOM_API_KEY=(phk_[a-z2-7]{10}_[A-Za-z0-9_-]{43})$", re.MULTILINE
)
START_TIMEOUT_S = 60.0
STOP_TIMEOUT_S = 10.0


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def wait_for(url: str, process: subprocess.Popen[bytes], log: Path) -> httpx.Response:
    """GET ``url`` until it answers 200 (bounded), failing early if the server died."""
    deadline = time.monotonic() + START_TIMEOUT_S
    last: object = None
    with httpx.Client(timeout=2.0) as client:
        while time.monotonic() < deadline:
            if process.poll() is not None:
                pytest.fail(
                    f"phantom up exited with {process.returncode}: {log.read_text()}"
                )
            try:
                response = client.get(url)
            except httpx.TransportError as exc:
                last = exc
            else:
                if response.status_code == 200:
                    return response
                last = response.text
            time.sleep(0.1)
    pytest.fail(f"{url} did not answer 200 within {START_TIMEOUT_S} s: {last}")


@contextmanager
def phantom_up(
    home: Path, tmp_path: Path, **env: str
) -> Iterator[tuple[str, subprocess.Popen[bytes], Path]]:
    """Start ``python -m phantom up`` on a free port; always stop it afterwards."""
    port = free_port()
    log = tmp_path / "phantom-up.log"
    environment = {
        **{
            k: v
            for k, v in os.environ.items()
            if not k.startswith("PHANTOM_") or k.startswith("PHANTOM_TEST_")
        },
        "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), str(ROOT)]),
        "PHANTOM_HOME": str(home),
        "PHANTOM_CONFIG": str(tmp_path / "no-such-phantom.toml"),
        **env,
    }
    with log.open("wb") as output:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "phantom",
                "up",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
            ],
            cwd=tmp_path,
            env=environment,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
        try:
            yield f"http://127.0.0.1:{port}", process, log
        finally:
            if process.poll() is None:
                process.kill()
                process.wait(timeout=STOP_TIMEOUT_S)


def stop(process: subprocess.Popen[bytes], sig: signal.Signals) -> int:
    process.send_signal(sig)
    try:
        return process.wait(timeout=STOP_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        pytest.fail(f"phantom up did not stop within {STOP_TIMEOUT_S} s of {sig.name}")


def json_lines(log: Path) -> list[dict[str, object]]:
    return [
        json.loads(line)
        for line in log.read_text().splitlines()
        if line.startswith("{")
    ]


def test_up_serves_probes_and_stops_cleanly_on_sigint(
    home: Path, tmp_path: Path
) -> None:
    with phantom_up(home, tmp_path) as (base, process, log):
        assert wait_for(f"{base}/healthz", process, log).json() == {"status": "ok"}
        ready = wait_for(f"{base}/readyz", process, log).json()
        assert ready["status"] == "ready"
        assert ready["checks"]["database:system"] == "ok"
        with httpx.Client(timeout=5.0) as client:
            traced = client.get(
                f"{base}/nowhere", headers={"x-request-id": "up-test-1"}
            )
        assert traced.status_code == 404
        assert traced.headers["x-request-id"] == "up-test-1"
        assert stop(process, signal.SIGINT) == 0
    output = log.read_text()
    assert "Traceback" not in output
    assert f"{base}/docs" in output  # the banner
    assert (home / "db" / "system.sqlite").is_file()
    access = [line for line in json_lines(log) if line.get("event") == "http.request"]
    assert any(line.get("request_id") == "up-test-1" for line in access)


def test_up_stops_cleanly_on_sigterm(home: Path, tmp_path: Path) -> None:
    with phantom_up(home, tmp_path) as (base, process, log):
        wait_for(f"{base}/healthz", process, log)
        assert stop(process, signal.SIGTERM) == 0
    assert "Traceback" not in log.read_text()


@pytest.mark.postgres
def test_up_on_postgresql_is_ready(home: Path, tmp_path: Path) -> None:
    with temporary_postgres_database() as url:
        with phantom_up(home, tmp_path, PHANTOM_DATABASE_URL=url) as (
            base,
            process,
            log,
        ):
            ready = wait_for(f"{base}/readyz", process, log).json()
            assert ready["checks"]["database:system"] == "ok"
            assert stop(process, signal.SIGINT) == 0
        assert "Traceback" not in log.read_text()


def test_up_creates_the_first_tenant_once_and_prints_a_working_key(
    home: Path, tmp_path: Path
) -> None:
    with phantom_up(home, tmp_path) as (base, process, log):
        wait_for(f"{base}/healthz", process, log)
        keys = KEY_LINE.findall(log.read_text())
        assert len(keys) == 1, log.read_text()
        with httpx.Client(timeout=5.0) as client:
            anonymous = client.get(f"{base}/v1/tenant")
            tenant = client.get(
                f"{base}/v1/tenant", headers={"Authorization": f"Bearer {keys[0]}"}
            )
        assert anonymous.status_code == 401
        assert tenant.status_code == 200, tenant.text
        assert tenant.json()["slug"] == "default"
        assert stop(process, signal.SIGINT) == 0
    output = log.read_text()
    assert "Owner API key" in output  # the banner says where it is
    assert output.count(keys[0]) == 1  # printed once, never logged
    second_log = tmp_path / "second"
    second_log.mkdir()
    with phantom_up(home, second_log) as (base, process, log):
        wait_for(f"{base}/healthz", process, log)
        assert stop(process, signal.SIGINT) == 0
    assert KEY_LINE.findall(log.read_text()) == []
