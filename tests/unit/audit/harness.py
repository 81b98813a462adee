"""Deployments with the audit context for the integration and end-to-end tiers.

SQLite under a temporary home, or a fresh PostgreSQL database per test (contexts
are schemas named after themselves, so two tests must not share a database).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, text

from phantom.audit.http import PrincipalDependency, request_principal
from phantom.audit.module import audit_module
from phantom.bootstrap import Container, build, known_modules
from phantom.kernel.context import Actor
from phantom.kernel.db.engine import Database
from phantom.kernel.events.envelope import new_envelope
from phantom.kernel.module import Module
from phantom.kernel.settings import Settings
from phantom.testing.services import temporary_postgres_database

__all__ = [
    "as_owner",
    "audit_modules",
    "audit_settings",
    "build_audit_container",
    "write_events",
]

ACTOR = Actor(kind="user", id="u-1", via="api_key")


@contextmanager
def audit_settings(backend: str, home: Path, **extra: Any) -> Iterator[Settings]:
    """Settings of a deployment on ``backend`` (``sqlite`` or ``postgresql``)."""
    if backend == "sqlite":
        yield Settings(home=home, **extra)
        return
    with temporary_postgres_database("phantom_audit") as url:
        yield Settings(home=home, database_url=url, **extra)


def audit_modules(
    settings: Settings, principal: PrincipalDependency = request_principal
) -> list[Module]:
    """The shipped modules plus the audit context."""
    keys = settings.home / "keys"
    return [
        *known_modules().values(),
        audit_module(keys, principal_dependency=principal),
    ]


def build_audit_container(settings: Settings) -> Container:
    """A migrated container with the system and audit contexts."""
    container = build(settings, modules=audit_modules(settings))
    container.migrate()
    return container


def write_events(
    container: Container,
    tenant: str,
    count: int,
    event_type: str = "registry.ModelVersionRegistered",
    *,
    first: int = 0,
) -> list[str]:
    """Append ``count`` events (streams ``first``, ``first + 1``...) to ``system``."""
    ids = []
    with container.uow("system", tenant) as uow:
        for i in range(first, first + count):
            envelope = new_envelope(
                event_type,
                tenant_id=tenant,
                stream_id=f"model-{tenant}-{i}",
                data={"i": i, "api_key": "phk_secret_should_not_be_audited"},
                actor=ACTOR,
                correlation_id=f"corr-{i}",
            )
            uow.append([envelope], expected_version=0)
            ids.append(str(envelope.id))
        uow.commit()
    return ids


@contextmanager
def as_owner(db: Database) -> Iterator[Connection]:
    """A transaction as the tables' owner (a superuser here), triggers disabled."""
    with db.owner_engine.begin() as conn:
        if db.dialect == "postgresql":
            conn.execute(text("ALTER TABLE audit_entries DISABLE TRIGGER ALL"))
            conn.execute(text("ALTER TABLE audit_checkpoints DISABLE TRIGGER ALL"))
        else:
            for table in ("audit_entries", "audit_checkpoints"):
                for verb in ("update", "delete"):
                    conn.execute(text(f"DROP TRIGGER IF EXISTS {table}_no_{verb}"))
        yield conn
