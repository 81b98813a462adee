"""``DeploySaga.resume_incomplete`` after crashes at places a failpoint cannot reach.

A crash is simulated in-process: a ``BaseException`` escapes the saga (which only
catches ``Exception``), so nothing more is recorded and the deployment stays
``running``, as it would after a SIGKILL. ``resume_incomplete`` (what a restarted
server runs) must then finish or compensate it; the alias, the canary traffic and
the answers show which. ``tests/e2e/test_deploy_saga.py`` kills a real server.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from phantom.serving.saga import DeploySaga
from phantom.tenancy.api import Principal
from tests.e2e.test_deploy_saga import KEYS, alias_version, answered_by, states, upload
from tests.e2e.world import World, open_world

pytestmark = pytest.mark.slow


class Crash(BaseException):
    """The process dies here."""


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("saga-resume")


@pytest.fixture(scope="module")
def world(root: Path) -> Iterator[World]:
    with pytest.MonkeyPatch.context() as patch:
        for name in list(os.environ):
            if name.startswith("PHANTOM_") and not name.startswith("PHANTOM_TEST_"):
                patch.delenv(name)
        patch.setenv("PHANTOM_CONFIG", str(root / "no-such-phantom.toml"))
        with open_world(root / "home") as built:
            yield built


@pytest.fixture
def saga(world: World) -> DeploySaga:
    assert world.container.deployments is not None
    return world.container.deployments


@pytest.fixture
def owner(world: World) -> Principal:
    assert world.container.tenancy is not None
    return world.container.tenancy.authenticate_key(world.owner_a)


def crash_at(monkeypatch: pytest.MonkeyPatch, name: str) -> None:
    """The saga's failpoint ``name`` kills the 'process'."""

    def failpoint(reached: str) -> None:
        if reached == name:
            raise Crash(reached)

    monkeypatch.setattr("phantom.serving.saga.failpoint", failpoint)


def resumed(saga: DeploySaga, deployment_id: str) -> dict[str, Any]:
    ended = {d.deployment_id: d for d in saga.resume_incomplete()}
    assert set(ended) == {deployment_id}  # the one left running, and only it
    return ended[deployment_id].model_dump(mode="json")


def running_id(saga: DeploySaga, owner: Principal, name: str) -> str:
    (latest, *_) = saga.page(owner, model=name).items
    assert latest.state == "running"
    return latest.deployment_id


def test_a_switch_that_failed_half_way_is_undone_after_a_crash(
    world: World,
    root: Path,
    saga: DeploySaga,
    owner: Principal,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The alias moved, setting the traffic failed, the process died before undoing."""
    upload(world, root, "half-switched")
    saga.deploy(owner, "half-switched", 1)

    def traffic_fails(*args: object) -> None:
        raise RuntimeError("the database went away")

    def dies(*args: object) -> str:
        raise Crash

    with monkeypatch.context() as patch:
        patch.setattr(saga, "_traffic", traffic_fails)
        patch.setattr(saga, "_undo", dies)
        with pytest.raises(Crash):
            saga.deploy(owner, "half-switched", 2)
    deployment_id = running_id(saga, owner, "half-switched")
    assert alias_version(world, "half-switched") == 2  # the half that took effect

    ended = resumed(saga, deployment_id)
    assert ended["state"] == "compensated", ended
    assert states(ended)["switch"] == "compensated"
    assert alias_version(world, "half-switched") == 1
    assert answered_by(world, "half-switched") == 1


def test_a_canary_whose_switch_took_effect_runs_after_a_crash(
    world: World,
    root: Path,
    saga: DeploySaga,
    owner: Principal,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    upload(world, root, "canary-kept")
    saga.deploy(owner, "canary-kept", 1)
    with monkeypatch.context() as patch:
        crash_at(patch, "serving.deploy.after_switch")
        with pytest.raises(Crash):
            saga.deploy(owner, "canary-kept", 2, canary_percent=50)
    deployment_id = running_id(saga, owner, "canary-kept")

    ended = resumed(saga, deployment_id)
    assert (ended["state"], ended["kind"], ended["canary_percent"]) == (
        "succeeded",
        "canary",
        50,
    )
    assert states(ended) == {
        "validate": "done",
        "convert": "done",
        "warm": "done",
        "switch": "done",
        "audit": "done",
    }
    assert alias_version(world, "canary-kept") == 1
    assert {answered_by(world, "canary-kept", key) for key in KEYS} == {1, 2}


def test_a_canary_that_crashed_before_its_switch_is_compensated(
    world: World,
    root: Path,
    saga: DeploySaga,
    owner: Principal,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    upload(world, root, "canary-undone")
    saga.deploy(owner, "canary-undone", 1)
    with monkeypatch.context() as patch:
        crash_at(patch, "serving.deploy.switch")
        with pytest.raises(Crash):
            saga.deploy(owner, "canary-undone", 2, canary_percent=50)
    deployment_id = running_id(saga, owner, "canary-undone")

    ended = resumed(saga, deployment_id)
    assert ended["state"] == "compensated"
    assert ended["error"] == "interrupted by a restart"
    assert states(ended) == dict.fromkeys(
        ("validate", "convert", "warm", "switch"), "compensated"
    )
    assert {answered_by(world, "canary-undone", key) for key in KEYS} == {1}
    # nothing is left running: the same canary now starts
    again = saga.deploy(owner, "canary-undone", 2, canary_percent=50)
    assert again.state == "succeeded"
