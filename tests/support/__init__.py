"""Helpers for tests: small example contexts built the real way, HTTP helpers."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

import httpx
from fastapi import FastAPI

from phantom.bootstrap import Container, build, known_modules
from phantom.kernel.settings import Settings
from phantom.testing.asgi import running
from tests.support.notes import notes_module

__all__ = [
    "assert_problem",
    "build_notes_container",
    "call",
    "running",
    "wait_until",
]


def build_notes_container(settings: Settings, *, migrate: bool = True) -> Container:
    """A container with the system context and the test-only notes context."""
    container = build(settings, modules=[*known_modules().values(), notes_module()])
    if migrate:
        container.migrate()
    return container


def call(app: FastAPI, method: str, url: str, **kwargs: Any) -> httpx.Response:
    """One request through ``httpx.ASGITransport`` (no lifespan), bounded in time."""

    async def go() -> httpx.Response:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(
            transport=transport, base_url="http://testserver"
        ) as client:
            return await asyncio.wait_for(
                client.request(method, url, **kwargs), timeout=30
            )

    return asyncio.run(go())


def wait_until(
    condition: Callable[[], bool], *, timeout: float = 10.0, step: float = 0.02
) -> bool:
    """Poll ``condition`` until it holds or ``timeout`` seconds pass."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(step)
    return condition()


def assert_problem(response: httpx.Response, status: int) -> dict[str, Any]:
    """Check ``response`` is an RFC 9457 problem with ``status``; return its body."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert "Traceback" not in response.text
    body: dict[str, Any] = response.json()
    for member in ("type", "title", "status", "detail"):
        assert member in body, f"problem lacks {member!r}: {body}"
    assert body["status"] == status
    assert body["request_id"] == response.headers["x-request-id"]
    return body
