"""Real services for tests: find them, or skip (or fail when they are required).

With ``PHANTOM_TEST_SERVICES=required`` (CI) an unreachable service fails the test;
otherwise it is skipped with the reason, so a laptop without PostgreSQL still runs
the rest of the suite.
"""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import urlsplit, urlunsplit

import pytest

__all__ = [
    "postgres_admin_url",
    "require_service",
    "service_url",
    "services_required",
    "temporary_postgres_database",
]

_DEFAULTS = {
    "postgres": "postgresql://postgres@127.0.0.1:5432/postgres",
    "redis": "redis://127.0.0.1:6379/0",
    "nats": "nats://127.0.0.1:4222",
}


def services_required() -> bool:
    """Whether missing services fail tests (``PHANTOM_TEST_SERVICES=required``)."""
    return os.environ.get("PHANTOM_TEST_SERVICES", "").lower() == "required"


def service_url(tech: str) -> str:
    """A test service's URL: ``PHANTOM_TEST_<TECH>_URL`` or the loopback default."""
    return os.environ.get(f"PHANTOM_TEST_{tech.upper()}_URL", _DEFAULTS[tech])


def require_service(tech: str) -> str:
    """Return the service's URL once a TCP connect succeeds; skip or fail otherwise."""
    url = service_url(tech)
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port
    try:
        with socket.create_connection((host, port or 0), timeout=2):
            pass
    except OSError as exc:
        reason = f"{tech} unreachable at {host}:{port}: {exc}"
        if services_required():
            pytest.fail(f"{reason} (PHANTOM_TEST_SERVICES=required)")
        pytest.skip(reason)
    return url


def postgres_admin_url() -> str:
    """The maintenance database URL of the test PostgreSQL server (or skip/fail)."""
    return require_service("postgres")


@contextmanager
def temporary_postgres_database(prefix: str = "phantom_test") -> Iterator[str]:
    """Create a fresh database, yield its URL, and drop it afterwards."""
    import psycopg  # noqa: PLC0415 - the postgres extra is a test dependency

    admin = postgres_admin_url()
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    parts = urlsplit(admin)
    url = urlunsplit((parts.scheme, parts.netloc, f"/{name}", parts.query, ""))
    try:
        yield url
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
