"""The deploy saga compensates when each step fails and resumes after a SIGKILL.

Failures run in-process (one :func:`~tests.e2e.world.open_world` for the module):
``PHANTOM_FAILPOINTS`` is read when a failpoint is reached, so setting it for
one request makes that step of that deploy raise. Version 1 serves
``production`` first; a failed deploy of version 2 must end ``compensated``
with the alias, the canary traffic and the answers unchanged.

Crashes need a real ``phantom up``: the failpoint SIGKILLs the server in the
middle of a deploy, and a second ``phantom up`` on the same home finishes the
saga (its switch had taken effect) or compensates it (it had not).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from phantom.kernel.failpoints import ENV_VAR
from phantom.serving.saga import STEPS
from tests.e2e.test_deploy_cli import FEATURES, register_served
from tests.e2e.test_models_cli import Server, skops_model
from tests.e2e.test_up import KEY_LINE, STOP_TIMEOUT_S, phantom_up, wait_for
from tests.e2e.world import World, open_world

pytestmark = pytest.mark.slow

ROW = [[0.5, 0.1, 2]]
KEYS = [f"user-{number}" for number in range(40)]


# -- in-process: a failure at each step -----------------------------------------


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("deploy-saga")


@pytest.fixture(scope="module")
def world(root: Path) -> Iterator[World]:
    with pytest.MonkeyPatch.context() as patch:  # as isolated_environment does
        for name in list(os.environ):
            if name.startswith("PHANTOM_") and not name.startswith("PHANTOM_TEST_"):
                patch.delenv(name)
        patch.setenv("PHANTOM_CONFIG", str(root / "no-such-phantom.toml"))
        with open_world(root / "home") as built:
            yield built


def upload(world: World, root: Path, name: str) -> None:
    """Versions 1 and 2 of ``name`` (different fits), each with a signature."""
    for seed in (0, 1):
        model = skops_model(root / f"{name}-{seed}.skops", seed=seed)
        response = world.call(
            "POST",
            f"/v1/models/{name}/versions",
            key=world.owner_a,
            params={"signature": json.dumps(FEATURES, separators=(",", ":"))},
            content=model.read_bytes(),
            headers={"content-type": "application/octet-stream"},
        )
        assert response.status_code == 201, response.text


def deploy(
    world: World,
    monkeypatch: pytest.MonkeyPatch,
    name: str,
    version: int,
    *,
    failing: str | None = None,
    **options: Any,
) -> dict[str, Any]:
    """``POST /v1/deployments``, with the ``failing`` step's failpoint set to error."""
    if failing is not None:
        monkeypatch.setenv(ENV_VAR, f"serving.deploy.{failing}=error")
    try:
        response = world.call(
            "POST",
            "/v1/deployments",
            key=world.owner_a,
            json={"model": name, "version": version, **options},
        )
    finally:
        monkeypatch.delenv(ENV_VAR, raising=False)
    assert response.status_code == 201, response.text
    answer: dict[str, Any] = response.json()
    return answer


def alias_version(world: World, name: str) -> int:
    response = world.call(
        "GET", f"/v1/models/{name}/aliases/production", key=world.owner_a
    )
    assert response.status_code == 200, response.text
    version: int = response.json()["version"]
    return version


def answered_by(world: World, name: str, key: str | None = None) -> int:
    """The version that answers a prediction of ``name`` (``production``)."""
    body: dict[str, Any] = {"instances": ROW}
    if key is not None:
        body["key"] = key
    response = world.call(
        "POST", f"/v1/models/{name}/predict", key=world.owner_a, json=body
    )
    assert response.status_code == 200, response.text
    version: int = response.json()["version"]
    return version


def states(deployment: dict[str, Any]) -> dict[str, str]:
    return {step["name"]: step["state"] for step in deployment["steps"]}


def assert_compensated_at(deployment: dict[str, Any], step: str) -> None:
    """Ended ``compensated`` at ``step``: earlier steps undone, later never begun."""
    assert deployment["state"] == "compensated", deployment
    assert deployment["error"].startswith(f"{step}: "), deployment["error"]
    assert f"serving.deploy.{step}" in deployment["error"]
    before = STEPS[: STEPS.index(step)]
    # a failed switch is undone too (it may have half taken effect), so its last
    # recorded state is "compensated"; any other failed step stays "failed"
    failed = "compensated" if step == "switch" else "failed"
    assert states(deployment) == {
        **dict.fromkeys(before, "compensated"),
        step: failed,
    }
    assert [s["name"] for s in deployment["steps"]] == [*before, step]


@pytest.mark.parametrize("step", STEPS)
def test_a_deploy_failing_at_a_step_compensates_and_serves_the_old_version(
    world: World, root: Path, monkeypatch: pytest.MonkeyPatch, step: str
) -> None:
    name = f"fails-at-{step}"
    upload(world, root, name)
    assert deploy(world, monkeypatch, name, 1)["state"] == "succeeded"
    assert answered_by(world, name) == 1

    failed = deploy(world, monkeypatch, name, 2, failing=step)
    assert (failed["kind"], failed["version"], failed["previous_version"]) == (
        "deploy",
        2,
        1,
    )
    assert_compensated_at(failed, step)
    stored = world.call(
        "GET", f"/v1/deployments/{failed['deployment_id']}", key=world.owner_a
    ).json()
    assert stored == failed  # the answer is what was recorded
    listed = world.call(
        "GET", "/v1/deployments", key=world.owner_a, params={"model": name}
    ).json()["items"]
    assert [(d["version"], d["state"]) for d in listed] == [
        (2, "compensated"),
        (1, "succeeded"),
    ]

    assert alias_version(world, name) == 1
    assert answered_by(world, name) == 1
    # nothing is left running or broken: the same deploy now succeeds
    assert deploy(world, monkeypatch, name, 2)["state"] == "succeeded"
    assert alias_version(world, name) == 2
    assert answered_by(world, name) == 2


@pytest.mark.parametrize("step", ["switch", "audit"])
def test_a_canary_failing_at_its_switch_or_audit_leaves_traffic_unchanged(
    world: World, root: Path, monkeypatch: pytest.MonkeyPatch, step: str
) -> None:
    name = f"canary-fails-at-{step}"
    upload(world, root, name)
    deploy(world, monkeypatch, name, 1)

    failed = deploy(world, monkeypatch, name, 2, failing=step, canary_percent=50)
    assert (failed["kind"], failed["canary_percent"]) == ("canary", 50)
    assert_compensated_at(failed, step)
    assert alias_version(world, name) == 1
    assert {answered_by(world, name, key) for key in KEYS} == {1}

    # the same keys do reach version 2 once a canary of 50% really runs
    assert deploy(world, monkeypatch, name, 2, canary_percent=50)["state"] == (
        "succeeded"
    )
    assert {answered_by(world, name, key) for key in KEYS} == {1, 2}


# -- a real server: SIGKILL in the middle of a deploy ------------------------------


@contextmanager
def server_on(
    home: Path, run: Path, key: str | None = None, **env: str
) -> Iterator[tuple[Server, subprocess.Popen[bytes], Path]]:
    """``phantom up`` on ``home`` (logs in ``run``), ready; its process too.

    No demo tenant: its deploy would run (and reach the failpoint) beside ours.
    """
    run.mkdir(parents=True)
    quiet = {"PHANTOM_LOG_LEVEL": "WARNING", "PHANTOM_DEMO": "0", **env}
    with phantom_up(home, run, **quiet) as started:
        base, process, log = started
        wait_for(f"{base}/readyz", process, log)
        if key is None:  # a fresh home prints its first owner's key; later, none
            keys = KEY_LINE.findall(log.read_text())
            assert len(keys) == 1, log.read_text()
            key = keys[0]
        files = run / "files"
        files.mkdir()
        yield Server(base, key, home, files), process, log


def crash_a_deploy(tmp_path: Path, name: str, failpoint: str) -> Server:
    """Version 1 on ``production``, then a deploy of 2 that SIGKILLs the server."""
    home = tmp_path / "home"
    kill = f"serving.deploy.{failpoint}=kill"
    with server_on(home, tmp_path / "first", PHANTOM_FAILPOINTS=kill) as started:
        server, process, log = started
        register_served(server, name)
        with httpx.Client(
            base_url=server.url,
            headers={"Authorization": f"Bearer {server.key}"},
            timeout=30,
        ) as client:
            # the alias is set directly: a deploy would reach the failpoint too
            moved = client.put(
                f"/v1/models/{name}/aliases/production", json={"version": 1}
            )
            assert moved.status_code == 200, moved.text
            with pytest.raises(httpx.TransportError):  # the connection drops
                client.post("/v1/deployments", json={"model": name, "version": 2})
        returncode = process.wait(timeout=STOP_TIMEOUT_S)
        assert returncode == -signal.SIGKILL, log.read_text()
    return server


def after_restart(server: Server, tmp_path: Path, name: str) -> dict[str, Any]:
    """The deployment of ``name`` once ``phantom up`` restarted (no failpoint)."""
    with server_on(server.home, tmp_path / "second", key=server.key) as started:
        again, _, log = started
        with httpx.Client(
            base_url=again.url,
            headers={"Authorization": f"Bearer {again.key}"},
            timeout=30,
        ) as client:
            listed = client.get("/v1/deployments", params={"model": name})
            assert listed.status_code == 200, listed.text
            (deployment,) = listed.json()["items"]
            alias = client.get(f"/v1/models/{name}/aliases/production")
            predicted = client.post(
                f"/v1/models/{name}/predict", json={"instances": ROW}
            )
            assert predicted.status_code == 200, predicted.text
        assert "serving.deploy.resume_failed" not in log.read_text()
    result: dict[str, Any] = {
        **deployment,
        "alias_version": alias.json()["version"],
        "answered_by": predicted.json()["version"],
    }
    return result


def test_a_deploy_killed_after_its_switch_succeeds_on_restart(
    tmp_path: Path,
) -> None:
    server = crash_a_deploy(tmp_path, "killed-after-switch", "after_switch")
    resumed = after_restart(server, tmp_path, "killed-after-switch")
    assert (resumed["version"], resumed["state"], resumed["error"]) == (
        2,
        "succeeded",
        None,
    )
    assert states(resumed) == dict.fromkeys(STEPS, "done")
    (switch,) = [s for s in resumed["steps"] if s["name"] == "switch"]
    assert "restart" in switch["detail"]
    assert (resumed["alias_version"], resumed["answered_by"]) == (2, 2)


def test_a_deploy_killed_before_its_switch_is_compensated_on_restart(
    tmp_path: Path,
) -> None:
    server = crash_a_deploy(tmp_path, "killed-at-switch", "switch")
    resumed = after_restart(server, tmp_path, "killed-at-switch")
    assert (resumed["version"], resumed["state"]) == (2, "compensated")
    assert "restart" in resumed["error"]
    assert states(resumed) == {
        "validate": "compensated",
        "convert": "compensated",
        "warm": "compensated",
        "switch": "compensated",
    }
    assert (resumed["alias_version"], resumed["answered_by"]) == (1, 1)
