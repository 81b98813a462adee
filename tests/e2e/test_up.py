"""``phantom up`` as a real process: it serves, answers probes and stops cleanly."""

from __future__ import annotations

import json
import os
import re
import shutil
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
CURL_LINE = re.compile(
    r"^curl -s (?P<url>http://\S+) "
    r'-H "X-API-Key: (?P<key>phk_[a-z2-7]{10}_[A-Za-z0-9_-]{43})" '
    r"-H \"content-type: application/json\" -d '(?P<body>\{.+\})'$",
    re.MULTILINE,
)
START_TIMEOUT_S = 60.0
DEMO_TIMEOUT_S = 90.0
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


def wait_for_line(
    pattern: re.Pattern[str], process: subprocess.Popen[bytes], log: Path
) -> re.Match[str]:
    """Wait (bounded) until the output holds a line matching ``pattern``."""
    deadline = time.monotonic() + DEMO_TIMEOUT_S
    while time.monotonic() < deadline:
        found = pattern.search(log.read_text())
        if found is not None:
            return found
        if process.poll() is not None:
            pytest.fail(
                f"phantom up exited with {process.returncode}: {log.read_text()}"
            )
        time.sleep(0.2)
    pytest.fail(f"no line matching {pattern.pattern} in: {log.read_text()}")


@contextmanager
def phantom_up(
    home: Path, tmp_path: Path, *args: str, **env: str
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
        "PHANTOM_DEMO": "0",  # the demo's tests turn it on; others need no CPU for it
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
                *args,
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


@pytest.mark.slow
def test_up_starts_with_a_deployed_demo_model_and_a_curl_that_works(
    home: Path, tmp_path: Path
) -> None:
    with phantom_up(home, tmp_path, PHANTOM_DEMO="1") as (base, process, log):
        wait_for(f"{base}/readyz", process, log)
        curl = wait_for_line(CURL_LINE, process, log)
        (owner_key,) = KEY_LINE.findall(log.read_text())
        assert curl["url"] == f"{base}/v1/models/demo/predict"
        assert curl["key"] != owner_key  # the demo tenant's own key
        with httpx.Client(timeout=10.0) as client:
            answer = client.post(
                curl["url"],
                headers={
                    "X-API-Key": curl["key"],
                    "content-type": "application/json",
                },
                content=curl["body"],
            )
            assert answer.status_code == 200, answer.text
            scored = answer.json()
            assert (scored["model"], scored["version"]) == ("demo", 1)
            assert scored["predictions"][0] in (0, 1)
            assert len(scored["probabilities"][0]) == 2
            tenants = client.get(
                f"{base}/v1/tenants", headers={"X-API-Key": owner_key}
            ).json()["items"]
            assert sorted(t["slug"] for t in tenants) == ["default", "demo"]
            other = client.get(
                f"{base}/v1/models/demo", headers={"X-API-Key": owner_key}
            )
            assert other.status_code == 404  # the demo lives in its own tenant
        if shutil.which("curl") and shutil.which("sh"):  # pasted as printed
            pasted = subprocess.run(
                ["sh", "-c", curl.group(0)],
                capture_output=True,
                text=True,
                timeout=30,
                check=True,
            )
            assert json.loads(pasted.stdout)["predictions"] == scored["predictions"]
        assert stop(process, signal.SIGINT) == 0
    output = log.read_text()
    assert "Traceback" not in output
    assert "Demo tenant" in output  # the banner says it is coming
    assert output.count(owner_key) == 1
    second_log = tmp_path / "second"
    second_log.mkdir()
    with phantom_up(home, second_log, PHANTOM_DEMO="1") as (base, process, log):
        wait_for(f"{base}/readyz", process, log)
        assert stop(process, signal.SIGINT) == 0
    assert "Demo tenant" not in log.read_text()  # once, on the first run
    assert CURL_LINE.search(log.read_text()) is None


@pytest.mark.parametrize(
    ("args", "env"),
    [(("--no-demo",), {"PHANTOM_DEMO": "1"}), ((), {"PHANTOM_DEMO": "0"})],
)
def test_up_without_the_demo_creates_only_the_first_tenant(
    home: Path, tmp_path: Path, args: tuple[str, ...], env: dict[str, str]
) -> None:
    with phantom_up(home, tmp_path, *args, **env) as (base, process, log):
        wait_for(f"{base}/readyz", process, log)
        (owner_key,) = KEY_LINE.findall(log.read_text())
        with httpx.Client(timeout=5.0) as client:
            tenants = client.get(
                f"{base}/v1/tenants", headers={"X-API-Key": owner_key}
            ).json()["items"]
        assert [t["slug"] for t in tenants] == ["default"]
        assert stop(process, signal.SIGINT) == 0
    output = log.read_text()
    assert "Demo tenant" not in output
    assert CURL_LINE.search(output) is None
