"""NATS JetStream for tests: a stream and subject prefix of one's own, cleaned up.

With ``PHANTOM_TEST_SERVICES=required`` an unreachable server fails the test;
otherwise it is skipped with the reason (:mod:`phantom.testing.services`).
"""

from __future__ import annotations

import asyncio
import uuid

import pytest

from phantom.kernel.bus.nats import NatsBus
from phantom.kernel.errors import Unavailable
from phantom.testing.services import service_url, services_required

__all__ = ["delete_stream", "nats_test_url", "require_nats"]


def nats_test_url(prefix: str = "pt", **params: object) -> str:
    """The test server's URL with its own stream and subject prefix, and ``params``."""
    unique = uuid.uuid4().hex[:12]
    query: dict[str, object] = {
        "stream": f"PHANTOM_TEST_{prefix.upper()}_{unique}",
        "prefix": f"{prefix}{unique}",
        "poll": 0.2,
    }
    query.update(params)
    base = service_url("nats").split("?", 1)[0]
    return f"{base}?{'&'.join(f'{k}={v}' for k, v in query.items())}"


def require_nats(url: str) -> None:
    """Skip (or, when services are required, fail) unless JetStream answers."""

    async def probe() -> None:
        bus = NatsBus(f"{url}&connect_timeout=2")
        try:
            await bus.ping()
        finally:
            await bus.close()

    try:
        asyncio.run(probe())
    except Unavailable as exc:
        reason = f"NATS unreachable at {service_url('nats')}: {exc}"
        if services_required():
            pytest.fail(f"{reason} (PHANTOM_TEST_SERVICES=required)")
        pytest.skip(reason)


def delete_stream(url: str) -> None:
    """Delete the stream named in ``url`` (the test's clean-up)."""

    async def delete() -> None:
        bus = NatsBus(url)
        try:
            await bus.delete_stream()
        finally:
            await bus.close()

    asyncio.run(delete())
