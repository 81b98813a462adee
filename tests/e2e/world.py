"""A running Phantom with two tenants and a few identities, for the HTTP tests.

* tenant A (``acme``): its owner is a platform administrator; it also has a viewer;
* tenant B (``globex``): an ordinary tenant with its owner.

Every decision the gateway records lands in :class:`RecordingAudit`, so tests can
assert what was audited. The container runs on a :class:`FixedClock` set to now,
so tests can move time (key expiry, token times) without sleeping.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from fastapi import FastAPI

from phantom.audit.api import AuditDecision
from phantom.bootstrap import Container, build
from phantom.gateway import create_app
from phantom.kernel.clock import FixedClock
from phantom.kernel.settings import Settings
from phantom.tenancy.api import CreatedTenant, system_principal
from phantom.tenancy.commands import CreateApiKey, CreateTenant, CreateUser
from phantom.tenancy.key_material import encode_secret
from phantom.testing.services import temporary_postgres_database
from tests.unit.tenancy.factories import SIGNING_SECRET, rsa_public_pem

__all__ = [
    "JWT_SECRET",
    "RecordingAudit",
    "World",
    "open_world",
    "world_settings",
]

JWT_SECRET = SIGNING_SECRET
"""The platform HS256 secret the world's tokens are signed with."""


@dataclass
class RecordingAudit:
    """An ``AuditRecorder`` that keeps what it is given."""

    records: list[tuple[str, AuditDecision]] = field(default_factory=list)
    counts: list[tuple[str, str, str]] = field(default_factory=list)
    results: list[str] = field(default_factory=list)

    def record(self, tenant_id: str, decision: AuditDecision) -> None:
        self.records.append((tenant_id, decision))

    def count(
        self, tenant_id: str, key_id: str, action: str, result: str = "allowed"
    ) -> None:
        self.counts.append((tenant_id, key_id, action))
        self.results.append(result)

    def actions(self, tenant_id: str) -> list[str]:
        return [d.action for t, d in self.records if t == tenant_id]


@dataclass
class World:
    """The app, its container, the tenants and the keys of each identity."""

    app: FastAPI
    container: Container
    clock: FixedClock
    audit: RecordingAudit
    a: CreatedTenant
    b: CreatedTenant
    viewer_a_id: str
    keys: dict[str, str]

    @property
    def owner_a(self) -> str:
        return self.keys["owner_a"]

    @property
    def viewer_a(self) -> str:
        return self.keys["viewer_a"]

    @property
    def owner_b(self) -> str:
        return self.keys["owner_b"]

    def call(
        self, method: str, url: str, key: str | None = None, **kwargs: Any
    ) -> httpx.Response:
        """One request, authenticated with ``key`` (an API key) when given."""
        headers = dict(kwargs.pop("headers", {}) or {})
        if key is not None:
            headers["Authorization"] = f"Bearer {key}"
        return asyncio.run(self.acall(method, url, headers=headers, **kwargs))

    async def acall(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        transport = httpx.ASGITransport(app=self.app)
        async with httpx.AsyncClient(
            transport=transport, base_url="http://testserver"
        ) as client:
            return await asyncio.wait_for(
                client.request(method, url, **kwargs), timeout=30
            )

    def new_key(self, tenant: CreatedTenant, user_id: str, **fields: Any) -> str:
        """A new API key of ``user_id`` in ``tenant`` (made server-side)."""
        service = self.container.tenancy
        assert service is not None
        created = service.create_key(
            CreateApiKey(
                name=fields.pop("name", "test key"),
                user_id=user_id,
                tenant_id=tenant.tenant.id,
                **fields,
            ),
            system_principal(),
        )
        return created.plaintext.get_secret_value()

    def later(self, seconds: float) -> None:
        """Move the server's clock forward."""
        self.clock.advance(timedelta(seconds=seconds))


def world_settings(
    home: Path, database_url: str | None = None, **extra: Any
) -> Settings:
    """Settings of a test deployment: fixed secrets, a known RS256 key, no noise."""
    values: dict[str, Any] = {
        "home": home,
        "database_url": database_url,
        "log_json": True,
        "api_key_pepper": encode_secret(b"p" * 32),
        "jwt_hs256_secret": encode_secret(JWT_SECRET),
        "jwt_rs256_public_keys": {"rsa-1": rsa_public_pem().decode()},
        "rate_limit_per_second": 10_000.0,
        "rate_limit_burst": 10_000,
    }
    values.update(extra)
    return Settings(**values)


def _tenant(container: Container, slug: str, *, platform_admin: bool) -> CreatedTenant:
    service = container.tenancy
    assert service is not None
    return service.create_tenant(
        CreateTenant(
            name=slug.title(),
            slug=slug,
            owner_email=f"owner@{slug}.example",
            owner_is_platform_admin=platform_admin,
        ),
        system_principal(),
    )


@contextmanager
def open_world(
    home: Path,
    backend: str = "sqlite",
    *,
    platform_admin_a: bool = True,
    **settings: Any,
) -> Iterator[World]:
    """Build, migrate and populate a deployment on ``backend``; close it afterwards.

    ``platform_admin_a=False`` makes A's owner an ordinary owner, so that no
    identity of the world may see another tenant's data.
    """
    with _database(backend) as url:
        config = world_settings(home, url, **settings)
        clock = FixedClock(datetime.now(UTC))
        container = build(config, clock=clock)
        try:
            container.migrate()
            audit = RecordingAudit()
            container.audit = audit
            yield _populate(container, clock, audit, platform_admin_a=platform_admin_a)
        finally:
            container.close()


@contextmanager
def _database(backend: str) -> Iterator[str | None]:
    if backend == "sqlite":
        yield None
        return
    with temporary_postgres_database("phantom_gateway") as url:
        yield url


def _populate(
    container: Container,
    clock: FixedClock,
    audit: RecordingAudit,
    *,
    platform_admin_a: bool,
) -> World:
    service = container.tenancy
    assert service is not None
    a = _tenant(container, "acme", platform_admin=platform_admin_a)
    b = _tenant(container, "globex", platform_admin=False)
    viewer = service.create_user(
        CreateUser(email="viewer@acme.example", role="viewer", tenant_id=a.tenant.id),
        system_principal(),
    )
    app = create_app(container.settings, container=container)
    world = World(
        app=app,
        container=container,
        clock=clock,
        audit=audit,
        a=a,
        b=b,
        viewer_a_id=viewer.id,
        keys={
            "owner_a": a.owner_key.plaintext.get_secret_value(),
            "owner_b": b.owner_key.plaintext.get_secret_value(),
        },
    )
    world.keys["viewer_a"] = world.new_key(a, viewer.id, name="viewer key")
    return world
