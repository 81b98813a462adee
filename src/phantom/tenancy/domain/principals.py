"""Principals: who is calling, for which tenant, with which permissions.

A :class:`Principal` is what authentication returns and what every authorisation
decision looks at. It is re-exported by :mod:`phantom.tenancy.api` for the gateway
and the other contexts.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, Literal

from phantom.kernel.context import Actor, ActorKind
from phantom.tenancy.domain.errors import PermissionDenied, TenantNotFound
from phantom.tenancy.domain.roles import ALL_PERMISSIONS, PLATFORM_ADMIN, Role

__all__ = [
    "PLATFORM_TENANT",
    "Principal",
    "Via",
    "internal_principal",
    "require",
    "system_principal",
    "target_tenant",
]

Via = Literal["api_key", "token", "internal"]
PLATFORM_TENANT: Final = "platform"
"""The tenant id of the internal system principal; no real tenant has it."""


@dataclass(frozen=True, slots=True)
class Principal:
    """An authenticated caller.

    Attributes:
        tenant_id: the caller's tenant.
        role: the caller's role (``system`` for the internal principal).
        permissions: what the caller may do: the role's permissions, plus
            ``platform:admin`` for platform administrators, narrowed by the key's or
            token's scopes.
        via: ``api_key``, ``token``, or ``internal`` (the CLI on the server).
        user_id: the user behind the call (``None`` for the system principal).
        key_id: the API key used, when ``via`` is ``api_key``.
    """

    tenant_id: str
    role: str
    permissions: frozenset[str]
    via: Via
    user_id: str | None = None
    key_id: str | None = None

    @property
    def is_platform_admin(self) -> bool:
        """Whether the caller holds ``platform:admin`` (after scope narrowing)."""
        return PLATFORM_ADMIN in self.permissions

    def has(self, permission: str) -> bool:
        """Whether the caller holds ``permission``."""
        return permission in self.permissions

    def actor(self) -> Actor:
        """The kernel actor recorded in event envelopes."""
        if self.user_id is None:
            return Actor(kind="system", id="phantom", via=self.via)
        kind: ActorKind = "service" if self.role == Role.SERVICE else "user"
        return Actor(kind=kind, id=self.user_id, via=self.via)


def system_principal() -> Principal:
    """The principal of Phantom itself (``phantom admin init``, the server's CLI).

    It holds every permission, ``platform:admin`` included, and belongs to no
    tenant: commands it runs must name their tenant.
    """
    return Principal(
        tenant_id=PLATFORM_TENANT,
        role="system",
        permissions=ALL_PERMISSIONS,
        via="internal",
    )


def internal_principal(tenant_id: str, *permissions: str) -> Principal:
    """Phantom's own work inside one tenant (a schedule, a background step).

    It holds only ``permissions`` and names no user; events it appends carry
    the system actor.
    """
    return Principal(
        tenant_id=tenant_id,
        role="system",
        permissions=frozenset(str(p) for p in permissions),
        via="internal",
    )


def require(principal: Principal, permission: str) -> None:
    """Raise unless ``principal`` holds ``permission``.

    Raises:
        PermissionDenied: naming the missing permission.
    """
    if not principal.has(permission):
        name = str(permission)
        msg = f"this needs the {name!r} permission"
        raise PermissionDenied(msg, permission=name)


def target_tenant(principal: Principal, requested: str | None) -> str:
    """The tenant a call acts on: the caller's own, or another for platform admins.

    Raises:
        TenantNotFound: a tenant other than the caller's was named by someone who
            is not a platform administrator (404, never 403: no existence oracle),
            or the system principal named none.
    """
    if requested is None or requested == principal.tenant_id:
        if principal.tenant_id == PLATFORM_TENANT:
            msg = "name the tenant to act on"
            raise TenantNotFound(msg)
        return principal.tenant_id
    if not principal.is_platform_admin:
        raise TenantNotFound("no such tenant")
    return requested
