"""Authentication and authorization through HTTP: keys, tokens, roles, limits, CORS."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from phantom.audit.api import PLATFORM_TENANT
from phantom.tenancy.api import system_principal
from phantom.tenancy.commands import RevokeApiKey
from tests.e2e.world import JWT_SECRET, World, open_world
from tests.support import assert_problem
from tests.unit.tenancy.factories import hs256, rs256, rsa_public_pem

GENERIC = "The credentials were not accepted."
BACKENDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]


@pytest.fixture
def world(home: Path) -> Iterator[World]:
    with open_world(home) as built:
        yield built


@pytest.fixture(params=BACKENDS)
def any_world(request: pytest.FixtureRequest, home: Path) -> Iterator[World]:
    with open_world(home, request.param) as built:
        yield built


def assert_refused(response: Any) -> None:
    body = assert_problem(response, 401)
    assert body["detail"] == GENERIC
    assert response.headers["www-authenticate"].startswith('Bearer realm="phantom"')


# --- no or bad credentials ----------------------------------------------------


def test_no_credentials_is_a_401_problem_with_a_challenge_and_is_audited(
    any_world: World,
) -> None:
    response = any_world.call("GET", "/v1/tenant")
    body = assert_problem(response, 401)
    assert body["code"] == "unauthenticated"
    assert response.headers["www-authenticate"] == 'Bearer realm="phantom"'
    assert any_world.audit.actions(PLATFORM_TENANT) == ["auth.denied"]
    decision = any_world.audit.records[0][1]
    assert decision.result == "denied"
    assert decision.details["reason"] == "missing"


@pytest.mark.parametrize(
    "path", ["/healthz", "/readyz", "/metrics", "/openapi.json", "/docs"]
)
def test_public_routes_need_no_credentials(world: World, path: str) -> None:
    assert world.call("GET", path).status_code == 200


def test_allowed_calls_are_counted_per_key_never_chained_one_by_one(
    world: World,
) -> None:
    for _ in range(3):
        assert world.call("GET", "/v1/tenant", key=world.owner_a).status_code == 200
    tenant = world.call("GET", "/v1/tenant", key=world.owner_a).json()["id"]
    allowed = [
        (t, action)
        for (t, _key, action), result in zip(
            world.audit.counts, world.audit.results, strict=True
        )
        if result == "allowed"
    ]
    assert allowed.count((tenant, "authz.allowed GET /v1/tenant")) == 4
    assert world.audit.actions(tenant) == []  # no chain entry per allowed call


def test_public_routes_ignore_bad_credentials(world: World) -> None:
    assert world.call("GET", "/healthz", key="phk_garbage").status_code == 200


@pytest.mark.parametrize(
    "headers",
    [
        {"Authorization": "Bearer phk_aaaaaaaaaa_" + "A" * 43},
        {"Authorization": "Bearer phk_not-a-key"},
        {"X-API-Key": "phk_aaaaaaaaaa_" + "B" * 43},
        {"Authorization": "Basic dXNlcjpwYXNz"},
        {"Authorization": "Bearer "},
        {"Authorization": "Bearer not.a.jwt"},
        {"Authorization": "Bearer x", "X-API-Key": "phk_other"},
    ],
    ids=[
        "unknown-key",
        "malformed-key",
        "unknown-x-api-key",
        "basic",
        "empty",
        "garbage-token",
        "two-credentials",
    ],
)
def test_bogus_credentials_are_401_with_one_generic_detail(
    any_world: World, headers: dict[str, str]
) -> None:
    assert_refused(any_world.call("GET", "/v1/tenant", headers=headers))
    assert any_world.audit.actions(PLATFORM_TENANT) == ["auth.denied"]


def test_x_api_key_header_authenticates(world: World) -> None:
    response = world.call("GET", "/v1/tenant", headers={"X-API-Key": world.owner_a})
    assert response.status_code == 200, response.text
    assert response.json()["id"] == world.a.tenant.id


def test_a_wrong_secret_is_401_and_recorded_in_the_keys_tenant(world: World) -> None:
    prefix = world.owner_a.split("_")[1]
    forged = f"phk_{prefix}_" + "C" * 43
    assert_refused(world.call("GET", "/v1/tenant", key=forged))
    tenant_id, decision = world.audit.records[-1]
    assert tenant_id == world.a.tenant.id
    assert decision.details["reason"] == "wrong-secret"
    assert decision.details["prefix"] == prefix
    assert forged not in json.dumps(decision.model_dump(mode="json"))


def test_a_revoked_key_is_refused_within_a_second(any_world: World) -> None:
    world = any_world
    key = world.new_key(world.a, world.a.owner.id, name="doomed")
    assert world.call("GET", "/v1/tenant", key=key).status_code == 200  # now cached
    listed = world.call("GET", "/v1/keys", key=world.owner_a).json()["items"]
    key_id = next(k["id"] for k in listed if k["name"] == "doomed")
    revoked = world.call("DELETE", f"/v1/keys/{key_id}", key=world.owner_a)
    assert revoked.status_code == 200, revoked.text
    assert revoked.json()["revoked_at"] is not None
    started = time.monotonic()
    while world.call("GET", "/v1/tenant", key=key).status_code == 200:
        assert time.monotonic() - started < 1.5, "still accepted after a second"
        time.sleep(0.05)
    assert_refused(world.call("GET", "/v1/tenant", key=key))


def test_a_key_revoked_server_side_is_refused_within_a_second(world: World) -> None:
    key = world.new_key(world.a, world.a.owner.id, name="cli-revoked")
    assert world.call("GET", "/v1/me", key=key).status_code == 200
    key_id = world.call("GET", "/v1/me", key=key).json()["key_id"]
    service = world.container.tenancy
    assert service is not None
    service.revoke_key(
        RevokeApiKey(key_id=key_id, tenant_id=world.a.tenant.id), system_principal()
    )
    time.sleep(1.05)
    assert_refused(world.call("GET", "/v1/me", key=key))


def test_an_expired_key_is_401(any_world: World) -> None:
    world = any_world
    expires = world.clock.now() + timedelta(minutes=5)
    key = world.new_key(world.a, world.a.owner.id, expires_at=expires)
    world.later(6 * 60)
    assert_refused(world.call("GET", "/v1/tenant", key=key))
    assert world.audit.records[-1][1].details["reason"] == "expired"


def test_a_disabled_users_key_is_refused(world: World) -> None:
    url = f"/v1/users/{world.viewer_a_id}"
    patched = world.call("PATCH", url, key=world.owner_a, json={"disabled": True})
    assert patched.status_code == 200, patched.text
    time.sleep(1.05)  # the verified-key cache forgets within a second
    assert_refused(world.call("GET", "/v1/tenant", key=world.viewer_a))


def test_a_disabled_tenants_keys_are_refused(world: World) -> None:
    service = world.container.tenancy
    assert service is not None
    from phantom.tenancy.commands import UpdateTenant

    service.update_tenant(
        UpdateTenant(tenant_id=world.b.tenant.id, status="disabled"),
        system_principal(),
    )
    assert_refused(world.call("GET", "/v1/tenant", key=world.owner_b))


# --- JWT bearer tokens --------------------------------------------------------


def _claims(world: World, **overrides: Any) -> dict[str, Any]:
    now = int(world.clock.now().timestamp())
    claims: dict[str, Any] = {
        "iss": "phantom",
        "aud": "phantom-api",
        "sub": world.a.owner.id,
        "tenant_id": world.a.tenant.id,
        "iat": now,
        "nbf": now,
        "exp": now + 300,
    }
    claims.update(overrides)
    return claims


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unsigned(header: dict[str, Any], claims: dict[str, Any]) -> str:
    head = _b64(json.dumps(header).encode())
    body = _b64(json.dumps(claims).encode())
    return f"{head}.{body}"


def _hs256_with(secret: bytes, kid: str | None, claims: dict[str, Any]) -> str:
    header: dict[str, Any] = {"alg": "HS256", "typ": "JWT"}
    if kid is not None:
        header["kid"] = kid
    signing_input = _unsigned(header, claims)
    signature = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{_b64(signature)}"


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_a_valid_hs256_token_authenticates(any_world: World) -> None:
    token = hs256(_claims(any_world), secret=JWT_SECRET)
    response = any_world.call("GET", "/v1/me", headers=_bearer(token))
    assert response.status_code == 200, response.text
    assert response.json()["via"] == "token"
    assert response.json()["tenant_id"] == any_world.a.tenant.id


def test_a_valid_rs256_token_from_a_configured_issuer_key_authenticates(
    world: World,
) -> None:
    token = rs256(_claims(world), kid="rsa-1")
    response = world.call("GET", "/v1/tenant", headers=_bearer(token))
    assert response.status_code == 200, response.text


def _forgeries(world: World) -> dict[str, str]:
    now = int(world.clock.now().timestamp())
    claims = _claims(world)
    return {
        "alg-none": _unsigned({"alg": "none", "kid": "platform"}, claims) + ".",
        "alg-none-no-kid": _unsigned({"alg": "none"}, claims) + ".",
        "hs-rs-confusion": _hs256_with(rsa_public_pem(), "rsa-1", claims),
        "unknown-kid": hs256(claims, kid="who-knows", secret=JWT_SECRET),
        "no-kid": _hs256_with(JWT_SECRET, None, claims),
        "bad-signature": hs256(claims, secret=b"x" * 32),
        "wrong-audience": hs256(_claims(world, aud="someone-else"), secret=JWT_SECRET),
        "wrong-issuer": hs256(
            _claims(world, iss="https://evil.example"), secret=JWT_SECRET
        ),
        "expired": hs256(
            _claims(world, iat=now - 7200, nbf=now - 7200, exp=now - 3600),
            secret=JWT_SECRET,
        ),
        "not-yet-valid": hs256(
            _claims(world, nbf=now + 3600, exp=now + 7200), secret=JWT_SECRET
        ),
        "issued-in-the-future": hs256(
            _claims(world, iat=now + 3600, nbf=now, exp=now + 7200),
            secret=JWT_SECRET,
        ),
        "unknown-tenant": hs256(
            _claims(world, tenant_id="no-such-tenant"), secret=JWT_SECRET
        ),
        "other-tenants-user": hs256(
            _claims(world, sub=world.b.owner.id), secret=JWT_SECRET
        ),
        "stale-role": hs256(_claims(world, role="viewer"), secret=JWT_SECRET),
    }


FORGERIES = [
    "alg-none",
    "alg-none-no-kid",
    "hs-rs-confusion",
    "unknown-kid",
    "no-kid",
    "bad-signature",
    "wrong-audience",
    "wrong-issuer",
    "expired",
    "not-yet-valid",
    "issued-in-the-future",
    "unknown-tenant",
    "other-tenants-user",
    "stale-role",
]


@pytest.mark.parametrize("forgery", FORGERIES)
def test_a_forged_or_invalid_token_is_401(world: World, forgery: str) -> None:
    token = _forgeries(world)[forgery]
    assert_refused(world.call("GET", "/v1/tenant", headers=_bearer(token)))
    assert [d.action for _, d in world.audit.records] == ["auth.denied"]


@pytest.mark.postgres
@pytest.mark.parametrize("forgery", ["alg-none", "hs-rs-confusion", "expired"])
def test_a_forged_token_is_401_on_postgresql(home: Path, forgery: str) -> None:
    with open_world(home, "postgresql") as world:
        token = _forgeries(world)[forgery]
        assert_refused(world.call("GET", "/v1/tenant", headers=_bearer(token)))


# --- authorization ------------------------------------------------------------


def test_a_viewer_writing_is_a_403_problem_and_is_audited(any_world: World) -> None:
    world = any_world
    response = world.call(
        "POST", "/v1/users", key=world.viewer_a, json={"email": "x@acme.example"}
    )
    body = assert_problem(response, 403)
    assert body["code"] == "permission-denied"
    assert body["permission"] == "users:write"
    assert world.audit.actions(world.a.tenant.id) == ["authz.denied"]
    decision = world.audit.records[-1][1]
    assert decision.actor.id == world.viewer_a_id
    assert decision.details["permission"] == "users:write"
    listed = world.call("GET", "/v1/users", key=world.owner_a).json()["items"]
    assert "x@acme.example" not in [user["email"] for user in listed]


@pytest.mark.parametrize(
    ("method", "url"),
    [
        ("GET", "/v1/users"),
        ("GET", "/v1/keys"),
        ("DELETE", "/v1/keys/anything"),
        ("GET", "/v1/tenants"),
        ("POST", "/v1/tenants"),
    ],
)
def test_a_viewer_is_refused_what_its_role_lacks(
    world: World, method: str, url: str
) -> None:
    response = world.call(method, url, key=world.viewer_a, json={})
    assert_problem(response, 403)


def test_a_viewer_reads_its_tenant(world: World) -> None:
    response = world.call("GET", "/v1/tenant", key=world.viewer_a)
    assert response.status_code == 200


def test_an_ordinary_owner_is_no_platform_administrator(world: World) -> None:
    assert_problem(world.call("GET", "/v1/tenants", key=world.owner_b), 403)


def test_a_scoped_key_holds_only_its_scopes(world: World) -> None:
    key = world.new_key(world.a, world.a.owner.id, scopes=["tenant:read"])
    assert world.call("GET", "/v1/tenant", key=key).status_code == 200
    assert_problem(world.call("GET", "/v1/users", key=key), 403)
    me = world.call("GET", "/v1/me", key=key).json()
    assert me["permissions"] == ["tenant:read"]


# --- rate limits ----------------------------------------------------------------


def test_the_rate_limit_is_a_429_with_retry_after_and_is_audited(home: Path) -> None:
    with open_world(home, rate_limit_per_second=0.5, rate_limit_burst=2) as world:
        statuses = [
            world.call("GET", "/v1/tenant", key=world.owner_a).status_code
            for _ in range(3)
        ]
        assert statuses[:2] == [200, 200]
        refused = world.call("GET", "/v1/tenant", key=world.owner_a)
        body = assert_problem(refused, 429)
        assert body["code"] == "rate-limited"
        assert 1 <= int(refused.headers["retry-after"]) <= 2
        assert "ratelimit.denied" in world.audit.actions(world.a.tenant.id)
        # the bucket is the tenant's: tenant B is untouched
        assert world.call("GET", "/v1/tenant", key=world.owner_b).status_code == 200


@pytest.mark.redis
def test_the_rate_limit_holds_on_redis(home: Path) -> None:
    from phantom.testing.services import require_service

    url = require_service("redis")
    cache = f"{url}{'&' if '?' in url else '?'}prefix=phantom_rl_{time.time_ns()}"
    with open_world(
        home, cache_url=cache, rate_limit_per_second=0.5, rate_limit_burst=1
    ) as world:
        assert world.call("GET", "/v1/tenant", key=world.owner_a).status_code == 200
        refused = world.call("GET", "/v1/tenant", key=world.owner_a)
        assert_problem(refused, 429)
        assert int(refused.headers["retry-after"]) >= 1
        world.container.cache.clear_tenant(world.a.tenant.id)


def test_denials_past_the_per_second_budget_are_counted_not_chained(
    home: Path,
) -> None:
    with open_world(home, audit_denials_per_second=2) as world:
        for _ in range(5):
            assert_problem(world.call("GET", "/v1/tenant"), 401)
        assert world.audit.actions(PLATFORM_TENANT) == ["auth.denied"] * 2
        assert len(world.audit.counts) == 3


# --- CORS -----------------------------------------------------------------------


def _preflight(world: World, origin: str) -> Any:
    headers = {
        "Origin": origin,
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "authorization,content-type",
    }
    return world.call("OPTIONS", "/v1/users", headers=headers)


def test_cors_is_off_by_default(world: World) -> None:
    response = _preflight(world, "https://app.example")
    assert "access-control-allow-origin" not in response.headers
    simple = world.call("GET", "/healthz", headers={"Origin": "https://app.example"})
    assert "access-control-allow-origin" not in simple.headers


def test_cors_allows_only_the_listed_origins(home: Path) -> None:
    with open_world(home, cors_origins=["https://app.example"]) as world:
        allowed = _preflight(world, "https://app.example")
        assert allowed.status_code == 200
        assert allowed.headers["access-control-allow-origin"] == "https://app.example"
        assert (
            "authorization" in allowed.headers["access-control-allow-headers"].lower()
        )
        refused = _preflight(world, "https://evil.example")
        assert "access-control-allow-origin" not in refused.headers
        unauthenticated = world.call(
            "GET", "/v1/tenant", headers={"Origin": "https://app.example"}
        )
        assert unauthenticated.status_code == 401
        assert unauthenticated.headers["access-control-allow-origin"] == (
            "https://app.example"
        )


# --- logging ----------------------------------------------------------------------


def test_log_lines_of_an_authenticated_request_carry_the_tenant(
    world: World, capsys: pytest.CaptureFixture[str]
) -> None:
    from phantom.kernel.logging import configure_logging

    configure_logging(world.container.settings)
    capsys.readouterr()
    body = {"email": "logged@acme.example"}
    assert world.call("POST", "/v1/users", key=world.owner_a, json=body).is_success
    lines = [json.loads(line) for line in capsys.readouterr().err.splitlines()]
    created = [line for line in lines if line.get("event") == "tenancy.user.created"]
    access = [line for line in lines if line.get("event") == "http.request"]
    assert created[0]["tenant_id"] == world.a.tenant.id
    assert access[0]["tenant_id"] == world.a.tenant.id
    assert world.owner_a not in "\n".join(map(json.dumps, lines))
