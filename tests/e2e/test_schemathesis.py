"""Property-based fuzzing of the OpenAPI spec with three identities.

schemathesis generates requests for every operation of ``/openapi.json``; each is
sent as the owner of A, a viewer of A and the owner of B (none a platform
administrator). No answer may be a 5xx, no 2xx body may carry another tenant's
id, and a request naming another tenant's user or key id must never succeed.
Bounded: a few examples per operation, well under a minute in all.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

schemathesis = pytest.importorskip("schemathesis")

import skops.io as sio  # noqa: E402 - after the skip
from hypothesis import HealthCheck, given, reject, settings  # noqa: E402 - after the skip
from hypothesis.errors import Unsatisfiable  # noqa: E402 - after the skip
from sklearn.linear_model import LogisticRegression  # noqa: E402 - after the skip

from tests.e2e.world import World, open_world  # noqa: E402 - after the skip

MAX_EXAMPLES = 10


@pytest.fixture
def fuzz_world(home: Path) -> Iterator[World]:
    with open_world(home, platform_admin_a=False) as world:
        world.training_ids = {  # type: ignore[attr-defined]
            world.a.tenant.id: _training_objects(world, world.owner_a),
            world.b.tenant.id: _training_objects(world, world.owner_b),
        }
        yield world


def _training_objects(world: World, key: str) -> dict[str, str]:
    """A dataset, an experiment, a run and a model of the key's tenant.

    The model is named after the dataset's id, so the one ``name`` path
    parameter names an object of the tenant on dataset and model routes alike.
    """
    tenancy, training = world.container.tenancy, world.container.training
    registry = world.container.registry
    assert tenancy is not None
    assert training is not None
    assert registry is not None
    owner = tenancy.authenticate_key(key)
    dataset = training.upload_dataset(owner, "fuzz-data", b"x,y\n1,2\n")
    run = training.start_run(owner, experiment="fuzz-exp")
    model = sio.dumps(LogisticRegression().fit([[0.0], [1.0]], [0, 1]))
    registry.upload_version(owner, dataset.dataset_id, model)
    registry.set_alias(owner, dataset.dataset_id, "production", 1)
    return {
        "name": dataset.dataset_id,
        "experiment": run.experiment_id,
        "run_id": run.run_id,
    }


def _identities(world: World) -> list[tuple[str, str, str]]:
    """``(name, key, tenant id)`` of each identity."""
    a, b = world.a.tenant.id, world.b.tenant.id
    return [
        ("owner of A", world.owner_a, a),
        ("viewer of A", world.viewer_a, a),
        ("owner of B", world.owner_b, b),
    ]


def _other_tenants_ids(world: World, tenant_id: str) -> dict[str, str]:
    other = world.b if tenant_id == world.a.tenant.id else world.a
    training: dict[str, str] = world.training_ids[other.tenant.id]  # type: ignore[attr-defined]
    return {"user_id": other.owner.id, "key_id": other.owner_key.key.id, **training}


def _tenant_ids(value: Any) -> Iterator[str]:
    if isinstance(value, dict):
        for key, item in value.items():
            if key == "tenant_id" and isinstance(item, str):
                yield item
            else:
                yield from _tenant_ids(item)
    elif isinstance(value, list):
        for item in value:
            yield from _tenant_ids(item)


def _send(world: World, case: Any, key: str) -> Any:
    """Send ``case`` as ``key``; a URL no HTTP client can form is not a case.

    Negative cases can make query strings longer than httpx (and any server in
    front of Phantom) accepts; those are rejected here, not sent.
    """
    try:
        return _send_now(world, case, key)
    except httpx.InvalidURL:
        reject()


def _send_now(world: World, case: Any, key: str) -> Any:
    kwargs = case.as_transport_kwargs(base_url="http://testserver")
    headers = {**(kwargs.pop("headers", None) or {}), "Authorization": f"Bearer {key}"}
    kwargs.pop("cookies", None)
    method, url = kwargs.pop("method"), kwargs.pop("url")
    if "json" in kwargs and kwargs["json"] is not None:
        kwargs["content"] = json.dumps(kwargs.pop("json"))
        headers["content-type"] = "application/json"
    if isinstance(kwargs.get("data"), bytes | str):  # a raw (invalid) body
        kwargs["content"] = kwargs.pop("data")
    return world.call(method, url, headers=headers, **kwargs)


def _check(world: World, case: Any) -> None:
    for name, key, tenant_id in _identities(world):
        response = _send(world, case, key)
        where = f"{case.method} {case.formatted_path} as {name}"
        assert response.status_code < 500, f"{where}: {response.text}"
        if 200 <= response.status_code < 300 and response.content:
            seen = set(_tenant_ids(response.json()))
            assert seen <= {tenant_id}, f"{where} showed tenants {seen}"
        if case.path_parameters:
            _check_crossing(world, case, key, tenant_id, where)


def _check_crossing(
    world: World, case: Any, key: str, tenant_id: str, where: str
) -> None:
    original = dict(case.path_parameters)
    theirs = _other_tenants_ids(world, tenant_id)
    if not set(original) & set(theirs):
        return  # no parameter names an object of theirs: nothing to cross
    case.path_parameters = {k: theirs.get(k, v) for k, v in original.items()}
    try:
        crossed = _send(world, case, key)
    finally:
        case.path_parameters = original
    assert crossed.status_code < 500, f"{where}: {crossed.text}"
    assert not 200 <= crossed.status_code < 300, (
        f"{where} reached another tenant's object: {crossed.text}"
    )


@pytest.mark.parametrize("mode", ["positive", "negative"])
def test_no_5xx_and_no_cross_tenant_2xx(fuzz_world: World, mode: str) -> None:
    schema = schemathesis.openapi.from_dict(fuzz_world.app.openapi())
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 12
    generation = schemathesis.GenerationMode(mode)
    sent = 0
    for operation in operations:

        @given(case=operation.as_strategy(generation_mode=generation))
        @settings(
            max_examples=MAX_EXAMPLES,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            derandomize=True,
            database=None,
        )
        def fuzz(case: Any) -> None:
            nonlocal sent
            sent += 1
            _check(fuzz_world, case)

        try:
            fuzz()
        except Unsatisfiable:  # nothing of this operation can be made invalid
            assert mode == "negative", operation.label
    assert sent >= len(operations)
