"""The tenancy API through HTTP: users, keys, tenants, idempotency, isolation."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.world import World, open_world
from tests.support import assert_problem

BACKENDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]


@pytest.fixture
def world(home: Path) -> Iterator[World]:
    with open_world(home) as built:
        yield built


@pytest.fixture(params=BACKENDS)
def any_world(request: pytest.FixtureRequest, home: Path) -> Iterator[World]:
    with open_world(home, request.param) as built:
        yield built


def _create_user(world: World, email: str, role: str = "viewer", **kw: Any) -> Any:
    body = {"email": email, "role": role}
    return world.call("POST", "/v1/users", key=world.owner_a, json=body, **kw)


# --- the caller's tenant ------------------------------------------------------


def test_get_tenant_answers_the_callers_tenant_with_quotas_and_usage(
    any_world: World,
) -> None:
    body = any_world.call("GET", "/v1/tenant", key=any_world.owner_b).json()
    assert body["id"] == any_world.b.tenant.id
    assert body["slug"] == "globex"
    assert body["quotas"] == {"max_users": 50, "max_api_keys": 100}
    assert body["usage"] == {"users": 1, "api_keys": 1}


def test_me_describes_the_caller(world: World) -> None:
    me = world.call("GET", "/v1/me", key=world.viewer_a).json()
    assert me["user_id"] == world.viewer_a_id
    assert me["role"] == "viewer"
    assert me["via"] == "api_key"
    assert "users:write" not in me["permissions"]


# --- users --------------------------------------------------------------------


def test_users_are_created_read_changed_listed_and_deleted(any_world: World) -> None:
    world = any_world
    created = _create_user(world, "Ada@Acme.example", role="ml-engineer")
    assert created.status_code == 201, created.text
    user = created.json()
    assert (user["email"], user["role"]) == ("ada@acme.example", "ml-engineer")
    url = f"/v1/users/{user['id']}"
    assert world.call("GET", url, key=world.owner_a).json() == user
    patched = world.call("PATCH", url, key=world.owner_a, json={"role": "viewer"})
    assert patched.status_code == 200, patched.text
    assert patched.json()["role"] == "viewer"
    page = world.call("GET", "/v1/users?limit=2", key=world.owner_a).json()
    assert len(page["items"]) == 2
    assert page["next_after"] is not None
    rest = world.call(
        "GET", f"/v1/users?after={page['next_after']}", key=world.owner_a
    ).json()
    assert len(page["items"]) + len(rest["items"]) == 3
    deleted = world.call("DELETE", url, key=world.owner_a)
    assert deleted.status_code == 204
    assert_problem(world.call("GET", url, key=world.owner_a), 404)


def test_a_duplicate_email_is_a_409_problem(world: World) -> None:
    assert _create_user(world, "dup@acme.example").status_code == 201
    assert assert_problem(_create_user(world, "dup@acme.example"), 409)["code"] == (
        "email-taken"
    )


def test_a_bad_role_is_a_422_naming_the_field(world: World) -> None:
    body = assert_problem(_create_user(world, "r@acme.example", role="god"), 422)
    assert body["errors"][0]["loc"] == ["role"]


def test_an_admin_cannot_make_an_owner(world: World) -> None:
    admin = _create_user(world, "admin@acme.example", role="admin").json()
    key = world.new_key(world.a, admin["id"])
    response = world.call(
        "POST",
        "/v1/users",
        key=key,
        json={"email": "boss@acme.example", "role": "owner"},
    )
    assert assert_problem(response, 403)["code"] == "permission-denied"
    assert "authz.denied" in world.audit.actions(world.a.tenant.id)


def test_the_users_quota_is_a_403_problem(home: Path) -> None:
    with open_world(home) as world:
        from phantom.tenancy.api import system_principal
        from phantom.tenancy.commands import UpdateTenant

        service = world.container.tenancy
        assert service is not None
        service.update_tenant(
            UpdateTenant(tenant_id=world.a.tenant.id, max_users=2), system_principal()
        )
        body = assert_problem(_create_user(world, "third@acme.example"), 403)
        assert body["code"] == "quota-reached"
        assert body["quota"] == "max_users"


# --- another tenant's ids -------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "body"),
    [("GET", None), ("PATCH", {"disabled": True}), ("DELETE", None)],
)
def test_another_tenants_user_id_is_a_404_and_is_audited(
    any_world: World, method: str, body: dict[str, Any] | None
) -> None:
    world = any_world
    url = f"/v1/users/{world.b.owner.id}"
    response = world.call(method, url, key=world.owner_a, json=body)
    assert assert_problem(response, 404)["code"] == "user-not-found"
    tenant_id, decision = world.audit.records[-1]
    assert tenant_id == world.a.tenant.id  # the prober's trail
    assert decision.action == "authz.not_found"
    assert decision.resource is not None
    assert decision.resource.id == world.b.owner.id
    # nothing changed in tenant B
    owner_b = world.call("GET", url, key=world.owner_b).json()
    assert owner_b["disabled"] is False


def test_another_tenants_key_id_is_a_404_and_the_key_keeps_working(
    any_world: World,
) -> None:
    world = any_world
    key_b = world.b.owner_key.key.id
    response = world.call("DELETE", f"/v1/keys/{key_b}", key=world.owner_a)
    assert assert_problem(response, 404)["code"] == "api-key-not-found"
    assert world.audit.records[-1][1].action == "authz.not_found"
    assert world.call("GET", "/v1/tenant", key=world.owner_b).status_code == 200


def test_lists_show_only_the_callers_tenant(world: World) -> None:
    users = world.call("GET", "/v1/users", key=world.owner_b).json()["items"]
    assert {user["tenant_id"] for user in users} == {world.b.tenant.id}
    keys = world.call("GET", "/v1/keys", key=world.owner_b).json()["items"]
    assert {key["tenant_id"] for key in keys} == {world.b.tenant.id}


# --- unknown fields -------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "url", "body"),
    [
        ("POST", "/v1/users", {"email": "u@acme.example", "is_platform_admin": True}),
        ("PATCH", "/v1/users/{viewer}", {"role": "viewer", "tenant_id": "other"}),
        ("POST", "/v1/keys", {"name": "k", "secret": "mine"}),
        (
            "POST",
            "/v1/tenants",
            {"name": "C", "slug": "ccc", "owner_email": "o@c.example", "x": 1},
        ),
    ],
)
def test_unknown_body_fields_are_a_422_naming_them(
    any_world: World, method: str, url: str, body: dict[str, Any]
) -> None:
    world = any_world
    target = url.format(viewer=world.viewer_a_id)
    response = world.call(method, target, key=world.owner_a, json=body)
    problem = assert_problem(response, 422)
    known = {"email", "role", "name", "slug", "owner_email"}
    unknown = [key for key in body if key not in known]
    named = [error["loc"][-1] for error in problem["errors"]]
    assert named == unknown
    assert all(error["type"] == "extra_forbidden" for error in problem["errors"])


# --- keys -----------------------------------------------------------------------


def test_a_created_key_is_shown_once_and_works(any_world: World) -> None:
    world = any_world
    created = world.call(
        "POST",
        "/v1/keys",
        key=world.owner_a,
        json={"name": "ci", "scopes": ["tenant:read"]},
    )
    assert created.status_code == 201, created.text
    body = created.json()
    plaintext = body["plaintext"]
    assert plaintext.startswith(f"phk_{body['key']['prefix']}_")
    assert world.call("GET", "/v1/tenant", key=plaintext).status_code == 200
    listed = world.call("GET", "/v1/keys", key=world.owner_a)
    assert plaintext.split("_", 2)[2] not in listed.text
    assert body["key"]["id"] in listed.text


def test_a_revoked_key_is_listed_with_its_revocation(world: World) -> None:
    key_id = world.call(
        "POST", "/v1/keys", key=world.owner_a, json={"name": "short"}
    ).json()["key"]["id"]
    revoked = world.call("DELETE", f"/v1/keys/{key_id}", key=world.owner_a).json()
    again = world.call("DELETE", f"/v1/keys/{key_id}", key=world.owner_a).json()
    assert revoked["revoked_at"] is not None
    assert again["revoked_at"] == revoked["revoked_at"]


# --- tenants (platform administrators) ------------------------------------------


def test_a_platform_admin_lists_and_creates_tenants(any_world: World) -> None:
    world = any_world
    listed = world.call("GET", "/v1/tenants", key=world.owner_a).json()["items"]
    assert {t["slug"] for t in listed} == {"acme", "globex"}
    body = {"name": "Initech", "slug": "initech", "owner_email": "o@initech.example"}
    created = world.call("POST", "/v1/tenants", key=world.owner_a, json=body)
    assert created.status_code == 201, created.text
    result = created.json()
    assert result["tenant"]["slug"] == "initech"
    assert result["owner"]["is_platform_admin"] is False
    key = result["owner_key"]["plaintext"]
    tenant = world.call("GET", "/v1/tenant", key=key).json()
    assert tenant["id"] == result["tenant"]["id"]


# --- idempotency keys -----------------------------------------------------------


def test_an_idempotent_post_is_replayed_and_creates_once(any_world: World) -> None:
    world = any_world
    headers = {"Idempotency-Key": "create-ada-1"}
    first = _create_user(world, "ada@acme.example", headers=headers)
    again = _create_user(world, "ada@acme.example", headers=headers)
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert again.headers["idempotent-replayed"] == "true"
    assert "idempotent-replayed" not in first.headers
    users = world.call("GET", "/v1/users", key=world.owner_a).json()["items"]
    assert [u["email"] for u in users].count("ada@acme.example") == 1


def test_the_same_idempotency_key_with_another_body_is_a_422(world: World) -> None:
    headers = {"Idempotency-Key": "k-1"}
    assert _create_user(world, "one@acme.example", headers=headers).status_code == 201
    other = _create_user(world, "two@acme.example", headers=headers)
    assert assert_problem(other, 422)["code"] == "idempotency-key-reused"


def test_a_replayed_key_creation_gives_the_same_key_and_creates_one(
    world: World,
) -> None:
    headers = {"Idempotency-Key": "key-create-1"}
    body = {"name": "deploy"}
    first = world.call(
        "POST", "/v1/keys", key=world.owner_a, json=body, headers=headers
    )
    again = world.call(
        "POST", "/v1/keys", key=world.owner_a, json=body, headers=headers
    )
    assert first.json() == again.json()
    keys = world.call("GET", "/v1/keys", key=world.owner_a).json()["items"]
    assert [k["name"] for k in keys].count("deploy") == 1


def test_an_idempotent_answer_is_kept_sealed_for_its_credential(world: World) -> None:
    headers = {"Idempotency-Key": "sealed-1"}
    body = {"name": "sealed"}
    first = world.call(
        "POST", "/v1/keys", key=world.owner_a, json=body, headers=headers
    )
    plaintext = first.json()["plaintext"]
    cache = world.container.cache
    from phantom.kernel.cache import cache_key

    stored = cache.get(cache_key(world.a.tenant.id, "idempotency", "sealed-1"))
    assert stored is not None
    assert plaintext.encode() not in stored
    other_admin = world.new_key(world.a, world.a.owner.id, name="second")
    replay = world.call("POST", "/v1/keys", key=other_admin, json=body, headers=headers)
    assert assert_problem(replay, 422)["code"] == "idempotency-key-reused"


def test_a_bad_idempotency_key_is_a_422(world: World) -> None:
    headers = {"Idempotency-Key": "x" * 300}
    assert_problem(_create_user(world, "z@acme.example", headers=headers), 422)


def test_idempotency_keys_are_per_tenant(world: World) -> None:
    headers = {"Idempotency-Key": "shared-name"}
    a = _create_user(world, "a@acme.example", headers=headers)
    b = world.call(
        "POST",
        "/v1/users",
        key=world.owner_b,
        json={"email": "b@globex.example"},
        headers=headers,
    )
    assert (a.status_code, b.status_code) == (201, 201)
    assert b.json()["email"] == "b@globex.example"


def test_concurrent_repeats_of_an_idempotent_post_create_once(world: World) -> None:
    headers = {
        "Idempotency-Key": "race-1",
        "Authorization": f"Bearer {world.owner_a}",
    }
    body = {"email": "race@acme.example"}

    async def race() -> list[int]:
        responses = await asyncio.gather(
            *(
                world.acall("POST", "/v1/users", json=body, headers=headers)
                for _ in range(5)
            )
        )
        return [response.status_code for response in responses]

    statuses = asyncio.run(race())
    assert set(statuses) <= {201, 409}
    assert 201 in statuses
    users = world.call("GET", "/v1/users", key=world.owner_a).json()["items"]
    assert [u["email"] for u in users].count("race@acme.example") == 1
