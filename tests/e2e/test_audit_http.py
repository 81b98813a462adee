"""``GET /v1/audit`` and ``GET /v1/audit/verify`` through the gateway application.

The app is ``create_app(settings, modules=[..., audit_module()])`` with real
tenants and API keys: the gateway authenticates, enforces ``audit:read`` from its
policy table and sets ``request.state.principal``, which the audit router's default
principal dependency reads. The last section mounts the router alone with a fake
principal dependency, the other way of wiring it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Literal, TypeVar

import httpx
import pytest
from fastapi import FastAPI, Request
from sqlalchemy import text

from phantom.audit.api import AuditActor, AuditDecision, AuditResource
from phantom.audit.http import audit_router
from phantom.audit.module import audit_components
from phantom.audit.recorder import SqlAuditRecorder
from phantom.bootstrap import Container
from phantom.gateway import create_app
from phantom.gateway.problems import install_problem_handlers
from phantom.kernel.clock import FixedClock
from phantom.kernel.errors import Unauthenticated
from phantom.tenancy.api import Principal, system_principal
from phantom.tenancy.commands import CreateApiKey, CreateTenant, CreateUser
from tests.support import assert_problem, call, running
from tests.unit.audit.harness import (
    as_owner,
    audit_modules,
    audit_settings,
    write_events,
)

T = TypeVar("T")
T0 = datetime(2026, 4, 1, 9, 0, tzinfo=UTC)


@dataclass
class Deployment:
    """The app, two tenants (A with an owner and a viewer, B) and their keys."""

    app: FastAPI
    a: str
    b: str
    keys: dict[str, str]

    @property
    def container(self) -> Container:
        container: Container = self.app.state.container
        return container

    def get(self, url: str, who: str | None, **params: Any) -> httpx.Response:
        headers = {} if who is None else {"Authorization": f"Bearer {self.keys[who]}"}
        return call(self.app, "GET", url, headers=headers, params=params)


def _populate(app: FastAPI) -> Deployment:
    container: Container = app.state.container
    service = container.tenancy
    assert service is not None
    root = system_principal()
    made = {
        slug: service.create_tenant(
            CreateTenant(name=slug.title(), slug=slug, owner_email=f"o@{slug}.example"),
            root,
        )
        for slug in ("acme", "globex")
    }
    a, b = made["acme"], made["globex"]
    viewer = service.create_user(
        CreateUser(email="v@acme.example", role="viewer", tenant_id=a.tenant.id), root
    )
    viewer_key = service.create_key(
        CreateApiKey(name="viewer", user_id=viewer.id, tenant_id=a.tenant.id), root
    )
    keys = {
        "owner_a": a.owner_key.plaintext.get_secret_value(),
        "owner_b": b.owner_key.plaintext.get_secret_value(),
        "viewer_a": viewer_key.plaintext.get_secret_value(),
    }
    return Deployment(app, a.tenant.id, b.tenant.id, keys)


@pytest.fixture(
    params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]
)
def world(request: pytest.FixtureRequest, home: Path) -> Iterator[Deployment]:
    extra = {"relay_interval_s": 0.02, "rate_limit_per_second": 10_000.0}
    with audit_settings(request.param, home, **extra) as settings:
        app = create_app(settings, modules=audit_modules(settings))
        container: Container = app.state.container
        container.migrate()
        try:
            yield _populate(app)
        finally:
            container.close()


def recorder(world: Deployment, clock: FixedClock | None = None) -> SqlAuditRecorder:
    """A recorder on the app's audit database whose clock starts at ``T0``."""
    audit = audit_components(world.container)
    return SqlAuditRecorder(
        audit.recorder.db, audit.keys, clock=clock or FixedClock(T0)
    )


TRAIL: list[tuple[str, Literal["success", "denied", "allowed"]]] = [
    ("auth.denied", "denied"),
    ("auth.allowed", "allowed"),
    ("users.create", "success"),
    ("auth.denied", "denied"),
    ("keys.revoke", "success"),
    ("quota.refused", "denied"),
]


def record_trail(world: Deployment, *, with_b: bool = True) -> None:
    """Six entries for A (one a minute from T0), and one for B."""
    A, B = world.a, world.b  # noqa: N806 - the tenants' names in this file
    clock = FixedClock(T0)
    chain = recorder(world, clock)
    for i, (action, result) in enumerate(TRAIL):
        chain.record(
            A,
            AuditDecision(
                action=action,
                actor=AuditActor(kind="user", id=f"u-{i % 2}", via="api_key"),
                result=result,
                resource=AuditResource(type="user", id=f"user-{i % 3}"),
                details={"i": i, "note": "Fraud Model" if i == 4 else "plain"},
            ),
        )
        clock.advance(timedelta(minutes=1))
    if not with_b:
        return
    chain.record(
        B,
        AuditDecision(
            action="auth.denied",
            actor=AuditActor(kind="anonymous", id="", via="api_key"),
            result="denied",
        ),
    )


def seqs(response: httpx.Response) -> list[int]:
    assert response.status_code == 200, response.text
    return [entry["seq"] for entry in response.json()["entries"]]


def test_search_filters_the_callers_trail(world) -> None:
    record_trail(world)

    def found(**params: Any) -> list[int]:
        return seqs(world.get("/v1/audit", "owner_a", **params))

    assert found() == [1, 2, 3, 4, 5, 6]
    assert found(action="auth.") == [1, 2, 4]
    assert found(result="denied") == [1, 4, 6]
    assert found(actor_id="u-1") == [2, 4, 6]
    assert found(resource_type="user", resource_id="user-0") == [1, 4]
    assert found(text="fraud model") == [5]
    assert found(since="2026-04-01T09:01:00Z", until="2026-04-01T09:03:00Z") == [2, 3]
    assert found(newest_first="true", limit=2) == [6, 5]
    entry = world.get("/v1/audit", "owner_a", limit=1).json()["entries"][0]
    assert entry["actor"] == {"kind": "user", "id": "u-0", "via": "api_key"}
    assert entry["resource"] == {"type": "user", "id": "user-0"}
    assert entry["occurred_at"].startswith("2026-04-01T09:00:00")
    assert len(entry["hash"]) == len(entry["prev_hash"]) == 64


def test_search_pages_with_the_cursor(world) -> None:
    record_trail(world)
    seen: list[int] = []
    cursor: int | None = None
    pages = 0
    while True:
        params: dict[str, Any] = {"limit": 4}
        if cursor is not None:
            params["after_seq"] = cursor
        body = world.get("/v1/audit", "owner_a", **params).json()
        seen += [entry["seq"] for entry in body["entries"]]
        pages += 1
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert (seen, pages) == ([1, 2, 3, 4, 5, 6], 2)


def test_bad_searches_are_problems(world: Deployment) -> None:
    def search(**params: Any) -> httpx.Response:
        return world.get("/v1/audit", "owner_a", **params)

    assert_problem(search(limit=501), 422)
    assert_problem(search(no_such_filter="x"), 422)
    assert_problem(search(since="2026-04-01T09:00:00"), 422)  # no offset
    assert_problem(search(since="2026-04-02T00:00:00Z", until="2026-04-01T00:00Z"), 422)


def test_the_routes_need_credentials_and_audit_read(world) -> None:
    record_trail(world)
    for url in ("/v1/audit", "/v1/audit/verify"):
        assert_problem(world.get(url, None), 401)
        body = assert_problem(world.get(url, "viewer_a"), 403)
        assert "audit:read" in body["detail"]


def test_verify_answers_intact_then_names_the_tampered_entry(world) -> None:
    record_trail(world)
    recorder(world).checkpoint_all()
    intact = world.get("/v1/audit/verify", "owner_a")
    assert intact.status_code == 200, intact.text
    assert intact.json() == {
        "intact": True,
        "checked": 6,
        "last_seq": 6,
        "checkpoint_seq": 6,
        "problem": None,
    }
    with as_owner(world.container.database("audit")) as conn:
        conn.execute(
            text(
                "UPDATE audit_entries SET result = 'success'"
                " WHERE tenant_id = :tenant AND seq = 4"
            ),
            {"tenant": world.a},
        )
    broken = world.get("/v1/audit/verify", "owner_a")
    assert broken.status_code == 200, broken.text
    body = broken.json()
    assert body["intact"] is False
    assert (body["problem"]["kind"], body["problem"]["seq"]) == ("modified", 4)
    assert body["checked"] == 3
    theirs = world.get("/v1/audit/verify", "owner_b").json()
    assert (theirs["intact"], theirs["checked"]) == (True, 1)


def test_a_tenant_sees_only_its_own_chain(world) -> None:
    record_trail(world)
    theirs = world.get("/v1/audit", "owner_b").json()["entries"]
    assert [(e["seq"], e["action"]) for e in theirs] == [(1, "auth.denied")]
    assert theirs[0]["actor"]["kind"] == "anonymous"
    mine = {e["hash"] for e in world.get("/v1/audit", "owner_a").json()["entries"]}
    assert mine.isdisjoint(e["hash"] for e in theirs)


def test_a_tenant_with_no_entries_gets_an_empty_intact_verification(world) -> None:
    record_trail(world, with_b=False)
    page = world.get("/v1/audit", "owner_b").json()
    assert page == {"entries": [], "next_cursor": None}
    assert world.get("/v1/audit/verify", "owner_b").json() == {
        "intact": True,
        "checked": 0,
        "last_seq": 0,
        "checkpoint_seq": 0,
        "problem": None,
    }


def test_events_reach_the_trail_through_the_running_gateway(world) -> None:
    """With the lifespan running, the relay and the consumer fill the chains."""
    write_events(world.container, world.a, 2)
    key = {"Authorization": f"Bearer {world.keys['owner_a']}"}

    async def scenario() -> tuple[list[str], bool]:
        async with running(world.app) as client:
            actions: list[str] = []
            for _ in range(500):
                page = await client.get(
                    "/v1/audit", headers=key, params={"action": "registry."}
                )
                actions = [e["action"] for e in page.json()["entries"]]
                if len(actions) == 2:
                    break
                await asyncio.sleep(0.02)
            tenancy = await client.get(
                "/v1/audit", headers=key, params={"action": "tenancy."}
            )
            assert tenancy.json()["entries"], "the tenant's own events are audited"
            verified = await client.get("/v1/audit/verify", headers=key)
            return actions, verified.json()["intact"]

    assert asyncio.run(scenario()) == (["registry.ModelVersionRegistered"] * 2, True)


# -- the router alone, with a principal dependency passed in ----------------------


def fake_principal(request: Request) -> Principal:
    """``X-Tenant`` and ``X-Permissions`` headers stand for verified credentials."""
    tenant = request.headers.get("x-tenant")
    if tenant is None:
        msg = "no credentials"
        raise Unauthenticated(msg)
    return Principal(
        tenant_id=tenant,
        role="owner",
        permissions=frozenset(request.headers.get("x-permissions", "").split(",")),
        via="api_key",
        user_id=f"u-{tenant}",
    )


def test_the_router_takes_its_caller_from_the_dependency_it_is_given(world) -> None:
    record_trail(world)
    bare = FastAPI()
    install_problem_handlers(bare)
    queries = audit_components(world.container).queries
    bare.include_router(audit_router(queries, fake_principal))

    def get(url: str, headers: dict[str, str]) -> httpx.Response:
        return call(bare, "GET", url, headers=headers)

    allowed = {"x-tenant": world.a, "x-permissions": "audit:read"}
    assert seqs(get("/v1/audit", allowed)) == [1, 2, 3, 4, 5, 6]
    assert get("/v1/audit/verify", allowed).json()["intact"] is True
    assert get("/v1/audit", {}).json()["status"] == 401
    lacking = {"x-tenant": world.a, "x-permissions": "models:read"}
    refused = get("/v1/audit/verify", lacking)
    assert (refused.status_code, refused.json()["code"]) == (403, "forbidden")
    assert "audit:read" in refused.json()["detail"]
