"""Roles, the platform's permission vocabulary, and the one role → permission map.

Every route of every context names one :class:`Permission`; a principal holds the
permissions of its role, narrowed by the scopes of the key or token it presented
(an intersection: scopes never add anything). ``platform:admin`` belongs to no
tenant role: it is granted to platform administrators only.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from enum import StrEnum
from types import MappingProxyType
from typing import Final

from phantom.tenancy.domain.errors import InvalidField

__all__ = [
    "ALL_PERMISSIONS",
    "PLATFORM_ADMIN",
    "ROLE_PERMISSIONS",
    "TENANT_PERMISSIONS",
    "Permission",
    "Role",
    "can_grant",
    "parse_role",
    "parse_scopes",
    "permissions_for",
]


class Permission(StrEnum):
    """Every permission a Phantom route can require."""

    TENANT_READ = "tenant:read"
    TENANT_ADMIN = "tenant:admin"
    USERS_READ = "users:read"
    USERS_WRITE = "users:write"
    KEYS_READ = "keys:read"
    KEYS_WRITE = "keys:write"
    MODELS_READ = "models:read"
    MODELS_WRITE = "models:write"
    DATASETS_READ = "datasets:read"
    DATASETS_WRITE = "datasets:write"
    RUNS_READ = "runs:read"
    RUNS_WRITE = "runs:write"
    JOBS_READ = "jobs:read"
    JOBS_WRITE = "jobs:write"
    DEPLOYMENTS_READ = "deployments:read"
    DEPLOYMENTS_WRITE = "deployments:write"
    PREDICT = "predict"
    MONITORING_READ = "monitoring:read"
    MONITORING_WRITE = "monitoring:write"
    STREAMS_READ = "streams:read"
    STREAMS_WRITE = "streams:write"
    MEMORY_READ = "memory:read"
    MEMORY_WRITE = "memory:write"
    AGENTS_READ = "agents:read"
    AGENTS_WRITE = "agents:write"
    AUDIT_READ = "audit:read"
    PRIVACY_READ = "privacy:read"
    PRIVACY_WRITE = "privacy:write"
    PRIVACY_REVEAL = "privacy:reveal"
    PLATFORM_ADMIN = "platform:admin"


class Role(StrEnum):
    """The roles a tenant's user can have."""

    OWNER = "owner"
    ADMIN = "admin"
    ML_ENGINEER = "ml-engineer"
    VIEWER = "viewer"
    SERVICE = "service"


_P = Permission
PLATFORM_ADMIN: Final = _P.PLATFORM_ADMIN
ALL_PERMISSIONS: Final[frozenset[str]] = frozenset(p.value for p in Permission)
TENANT_PERMISSIONS: Final[frozenset[str]] = ALL_PERMISSIONS - {PLATFORM_ADMIN.value}

_VIEW: Final = frozenset(
    {
        _P.TENANT_READ,
        _P.MODELS_READ,
        _P.DATASETS_READ,
        _P.RUNS_READ,
        _P.JOBS_READ,
        _P.DEPLOYMENTS_READ,
        _P.MONITORING_READ,
        _P.STREAMS_READ,
        _P.MEMORY_READ,
        _P.AGENTS_READ,
        _P.PRIVACY_READ,
    }
)
_BUILD: Final = _VIEW | {
    _P.MODELS_WRITE,
    _P.DATASETS_WRITE,
    _P.RUNS_WRITE,
    _P.JOBS_WRITE,
    _P.DEPLOYMENTS_WRITE,
    _P.PREDICT,
    _P.MONITORING_WRITE,
    _P.STREAMS_WRITE,
    _P.MEMORY_WRITE,
    _P.AGENTS_WRITE,
}


def _plain(permissions: Iterable[str]) -> frozenset[str]:
    return frozenset(str(p) for p in permissions)


ROLE_PERMISSIONS: Final[Mapping[Role, frozenset[str]]] = MappingProxyType(
    {
        # Everything in the tenant, including managing the tenant and other owners.
        Role.OWNER: TENANT_PERMISSIONS,
        # Everything but the tenant itself (so never another owner: see can_grant).
        Role.ADMIN: TENANT_PERMISSIONS - {_P.TENANT_ADMIN.value},
        # Builds, trains, deploys and serves; sees who the colleagues are.
        Role.ML_ENGINEER: _plain(_BUILD | {_P.USERS_READ}),
        # Read-only: no write, no prediction, no users, keys, audit or reveal.
        Role.VIEWER: _plain(_VIEW),
        # Machine accounts (an agent, a CI job): the build plane, no people.
        Role.SERVICE: _plain(_BUILD),
    }
)
"""THE role → permission map."""


def parse_role(value: str) -> Role:
    """Return the role called ``value``.

    Raises:
        InvalidField: ``role`` is not one of the roles.
    """
    try:
        return Role(value)
    except ValueError:
        known = ", ".join(role.value for role in Role)
        raise InvalidField("role", f"unknown role; the roles are: {known}") from None


def parse_scopes(values: Iterable[str] | None) -> frozenset[str] | None:
    """Validate a key's requested scopes (``None`` keeps the role's permissions).

    Raises:
        InvalidField: ``scopes`` is empty or names an unknown permission.
    """
    if values is None:
        return None
    scopes = frozenset(values)
    if not scopes:
        raise InvalidField("scopes", "give at least one scope, or none at all")
    unknown = scopes - ALL_PERMISSIONS
    if unknown:
        raise InvalidField(
            "scopes", f"{len(unknown)} unknown permission(s); see the permission list"
        )
    return scopes


def permissions_for(
    role: Role,
    *,
    platform_admin: bool = False,
    scopes: frozenset[str] | None = None,
) -> frozenset[str]:
    """The permissions of ``role`` (plus ``platform:admin``), narrowed by ``scopes``."""
    granted = ROLE_PERMISSIONS[role]
    if platform_admin:
        granted = granted | {PLATFORM_ADMIN.value}
    return granted if scopes is None else granted & scopes


def can_grant(holder: frozenset[str], granted: frozenset[str]) -> bool:
    """Whether a principal holding ``holder`` may hand out ``granted``.

    Nobody grants more than they hold: an admin cannot make an owner, mint a key
    for an owner without narrowing scopes, or touch a platform administrator.
    """
    return granted <= holder
