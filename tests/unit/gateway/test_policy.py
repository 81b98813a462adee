"""The policy table: every mounted route has exactly one decision."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi import APIRouter, FastAPI

from phantom.bootstrap import known_modules
from phantom.gateway import create_app
from phantom.gateway.policy import (
    AUTHENTICATED,
    POLICY,
    PUBLIC,
    Rule,
    check_complete,
    mounted_routes,
    needs,
    route_keys,
    rule_for,
)
from phantom.kernel.errors import ConfigError
from phantom.kernel.module import Module
from phantom.kernel.settings import Settings
from phantom.tenancy.api import ALL_PERMISSIONS


@pytest.fixture
def app(tmp_path: Path) -> Iterator[FastAPI]:
    built = create_app(Settings(home=tmp_path), modules=list(known_modules().values()))
    yield built
    built.state.container.close()


def test_every_mounted_route_has_an_entry_in_the_policy_table(app: FastAPI) -> None:
    missing = [
        key
        for route in mounted_routes(app.routes)
        for key in route_keys(route)
        if key not in POLICY
    ]
    assert missing == [], (
        f"add these routes to phantom.gateway.policy.POLICY: {missing}"
    )


def test_the_shipped_routes_are_walked(app: FastAPI) -> None:
    keys = {key for route in mounted_routes(app.routes) for key in route_keys(route)}
    assert {("GET", "/healthz"), ("POST", "/v1/users"), ("GET", "/docs")} <= keys
    assert ("HEAD", "/docs") not in keys  # HEAD rides on GET


def test_every_permission_in_the_table_exists() -> None:
    named = {rule.permission for rule in POLICY.values() if rule.permission}
    assert named <= ALL_PERMISSIONS


def test_the_docs_probes_metrics_and_v2_health_are_public_and_nothing_else_is() -> None:
    public = sorted(path for (_, path), rule in POLICY.items() if rule == PUBLIC)
    assert public == [
        "/docs",
        "/docs/oauth2-redirect",
        "/healthz",
        "/metrics",
        "/openapi.json",
        "/readyz",
        "/v2",  # Open Inference Protocol v2 server metadata and health
        "/v2/health/live",
        "/v2/health/ready",
    ]


def test_only_creating_posts_are_idempotent() -> None:
    idempotent = sorted(key for key, rule in POLICY.items() if rule.idempotent)
    assert idempotent == [
        ("POST", "/v1/alerts/rules"),
        ("POST", "/v1/batch-jobs"),
        ("POST", "/v1/datasets"),
        ("POST", "/v1/deployments"),
        ("POST", "/v1/experiments"),
        ("POST", "/v1/jobs"),
        ("POST", "/v1/keys"),
        ("POST", "/v1/models/{name}/versions/from-artifact"),
        ("POST", "/v1/runs"),
        ("POST", "/v1/tenants"),
        ("POST", "/v1/users"),
    ]


def test_only_file_routes_take_large_bodies() -> None:
    uploads = sorted(key for key, rule in POLICY.items() if rule.upload)
    assert uploads == [
        ("POST", "/v1/datasets/{name}/versions"),
        ("POST", "/v1/models/{name}/versions"),
        ("PUT", "/v1/runs/{run_id}/artifacts/{name:path}"),
    ]


def test_the_audit_routes_need_audit_read() -> None:
    assert POLICY[("GET", "/v1/audit")] == needs("audit:read")
    assert POLICY[("GET", "/v1/audit/verify")] == needs("audit:read")


def _unlisted_module() -> Module:
    def router(_container: object) -> APIRouter:
        routes = APIRouter()

        @routes.get("/v1/unlisted")
        def unlisted() -> dict[str, str]:
            return {}

        return routes

    return Module(name="unlisted", router=router)


def test_an_app_with_an_unlisted_route_refuses_to_start(tmp_path: Path) -> None:
    modules = [*known_modules().values(), _unlisted_module()]
    with pytest.raises(ConfigError, match=r"GET /v1/unlisted"):
        create_app(Settings(home=tmp_path), modules=modules)


def test_extra_policy_admits_a_plugin_route_but_changes_no_shipped_one(
    tmp_path: Path,
) -> None:
    modules = [*known_modules().values(), _unlisted_module()]
    app = create_app(
        Settings(home=tmp_path),
        modules=modules,
        extra_policy={("GET", "/v1/unlisted"): AUTHENTICATED},
    )
    app.state.container.close()
    with pytest.raises(ConfigError, match="shipped policy"):
        create_app(
            Settings(home=tmp_path),
            modules=list(known_modules().values()),
            extra_policy={("GET", "/v1/users"): PUBLIC},
        )


def test_check_complete_names_every_missing_route() -> None:
    app = FastAPI(docs_url=None, redoc_url=None, openapi_url=None)

    @app.get("/a")
    def a() -> None: ...

    @app.post("/b/{x}")
    def b(x: str) -> None: ...

    with pytest.raises(ConfigError) as caught:
        check_complete(mounted_routes(app.routes), {})
    assert "GET /a" in str(caught.value)
    assert "POST /b/{x}" in str(caught.value)


def test_head_falls_back_to_the_get_rule() -> None:
    assert rule_for(POLICY, "HEAD", "/healthz") == PUBLIC
    assert rule_for(POLICY, "PUT", "/healthz") is None


def test_a_rule_names_a_permission_exactly_when_it_needs_one() -> None:
    with pytest.raises(ValueError, match="permission"):
        Rule("permission")
    with pytest.raises(ValueError, match="permission"):
        Rule("public", "users:read")
