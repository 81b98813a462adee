"""The audit context's module, and the pieces the gateway runs next to it.

The composition root registers the context in one line (in ``known_modules``)::

    "audit": audit_module(),

which contributes the audit Alembic branch, the ``audit-trail`` consumer (every
domain event becomes one chain entry, :mod:`phantom.audit.consumer`) and the
``/v1/audit`` routes (:mod:`phantom.audit.http`). ``build`` wires the recorder the
gateway records decisions with, and the gateway's lifespan runs its background
task (:mod:`phantom.audit.tasks`), awaiting it after setting ``stop`` so the final
flush lands before the container closes::

    audit = SqlAuditRecorder(databases["audit"], checkpoint_keys(keys_dir), clock=clock)
    if isinstance(container.audit, AuditMaintenance):
        task = asyncio.create_task(run_audit_tasks(container.audit, stop))

The checkpoint key lives at ``<keys_dir>/audit-ed25519.pem``, ``keys_dir`` being
``PHANTOM_HOME/keys`` unless given (ADR 0008); nothing touches the file before the
first checkpoint or verification.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from phantom.audit.adapters.keys import KEY_FILE, CheckpointKeys, checkpoint_keys
from phantom.audit.adapters.sql import MIGRATIONS, SqlAuditLog
from phantom.audit.consumer import (
    AUDIT_CONTEXT,
    AUDIT_TRAIL_CONSUMER,
    audit_trail_effect,
)
from phantom.audit.http import PrincipalDependency, audit_router, request_principal
from phantom.audit.recorder import SqlAuditRecorder
from phantom.audit.tasks import AuditMaintenance, run_audit_tasks
from phantom.audit.views import SqlAuditQueries
from phantom.kernel.clock import Clock
from phantom.kernel.db.engine import Database
from phantom.kernel.module import ConsumerSpec, Module
from phantom.kernel.settings import Settings

if TYPE_CHECKING:
    from fastapi import APIRouter

__all__ = [
    "AUDIT_CONTEXT",
    "KEY_FILE",
    "AuditComponents",
    "AuditHost",
    "AuditMaintenance",
    "SqlAuditRecorder",
    "audit_components",
    "audit_module",
    "checkpoint_keys",
    "keys_dir_of",
    "run_audit_tasks",
]


class AuditHost(Protocol):
    """What the audit needs of the composition root's container."""

    @property
    def settings(self) -> Settings:
        """The configuration (``home`` holds the keys directory)."""
        ...

    @property
    def clock(self) -> Clock:
        """The time source."""
        ...

    def database(self, context: str) -> Database:
        """The database of ``context``."""
        ...


@dataclass(frozen=True, slots=True)
class AuditComponents:
    """The audit context's runtime objects, built over one container.

    Attributes:
        keys: the checkpoint signing key (loaded or created on first use).
        queries: the reads behind ``/v1/audit`` (an ``AuditQueries``).
        recorder: the gateway's ``AuditRecorder``, also run by
            :func:`~phantom.audit.tasks.run_audit_tasks`.
    """

    keys: CheckpointKeys
    queries: SqlAuditQueries
    recorder: SqlAuditRecorder


def keys_dir_of(host: AuditHost, keys_dir: Path | None = None) -> Path:
    """``keys_dir``, or ``PHANTOM_HOME/keys`` of ``host``'s settings."""
    return keys_dir if keys_dir is not None else host.settings.home / "keys"


def audit_components(
    host: AuditHost,
    keys_dir: Path | None = None,
    *,
    keys: CheckpointKeys | None = None,
) -> AuditComponents:
    """Build the audit's queries and recorder over ``host``'s audit database.

    Args:
        host: the container (the audit context must be part of it).
        keys_dir: the directory of the checkpoint key (``PHANTOM_HOME/keys``).
        keys: an already built key holder to share (``keys_dir`` is then unused).

    Raises:
        NotFound: the container has no audit context.
    """
    db = host.database(AUDIT_CONTEXT)
    chosen = keys or checkpoint_keys(keys_dir_of(host, keys_dir))
    recorder = SqlAuditRecorder(db, chosen, clock=host.clock)
    return AuditComponents(chosen, _queries(db, chosen), recorder)


def _queries(db: Database, keys: CheckpointKeys) -> SqlAuditQueries:
    return SqlAuditQueries(db, SqlAuditLog(db.dialect, db.schema), keys.public_keys)


def audit_module(
    keys_dir: Path | None = None,
    *,
    principal_dependency: PrincipalDependency = request_principal,
) -> Module:
    """The audit context's contribution to the running system.

    Args:
        keys_dir: the directory of the checkpoint key; ``PHANTOM_HOME/keys`` of
            the container's settings by default.
        principal_dependency: the FastAPI dependency answering the caller; the
            default reads ``request.state.principal``, set by the gateway's
            authentication. Pass ``phantom.gateway.auth.require("audit:read")``
            to have the gateway check (and audit) the permission first.

    Returns:
        The module: migrations, the ``audit-trail`` consumer and the router.
    """

    def router(host: AuditHost) -> APIRouter:
        keys = checkpoint_keys(keys_dir_of(host, keys_dir))
        queries = _queries(host.database(AUDIT_CONTEXT), keys)
        return audit_router(queries, principal_dependency)

    return Module(
        name=AUDIT_CONTEXT,
        migrations=MIGRATIONS,
        consumers=[
            ConsumerSpec(AUDIT_TRAIL_CONSUMER, audit_trail_effect(AUDIT_CONTEXT))
        ],
        router=router,
    )
