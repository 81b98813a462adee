"""THE surface other contexts and the gateway use: principals, permissions, DTOs.

* :class:`Principal` is what authentication returns; routes check
  ``principal.has(Permission.MODELS_WRITE)``.
* :class:`PrincipalResolver` is the query port the gateway's authentication calls:
  ``authenticate_key`` for ``Authorization: Bearer phk_...`` (or ``X-API-Key``) and
  ``authenticate_token`` for JWT bearer tokens. Both raise ``Unauthenticated``
  with one generic detail for every refusal.
* The DTOs are what the tenancy handlers return; none carries a secret except
  :class:`CreatedApiKey`, whose ``plaintext`` is a ``SecretStr`` shown once.
"""

from __future__ import annotations

from datetime import datetime
from typing import Generic, Protocol, TypeVar

from pydantic import BaseModel, ConfigDict, SecretStr
from starlette.requests import Request

from phantom.kernel.errors import Unauthenticated
from phantom.tenancy.domain.principals import (
    PLATFORM_TENANT,
    Principal,
    Via,
    internal_principal,
    system_principal,
)
from phantom.tenancy.domain.principals import require as require_permission
from phantom.tenancy.domain.roles import (
    ALL_PERMISSIONS,
    PLATFORM_ADMIN,
    ROLE_PERMISSIONS,
    TENANT_PERMISSIONS,
    Permission,
    Role,
)

__all__ = [
    "ALL_PERMISSIONS",
    "PLATFORM_ADMIN",
    "PLATFORM_TENANT",
    "ROLE_PERMISSIONS",
    "TENANT_PERMISSIONS",
    "ApiKeyInfo",
    "CreatedApiKey",
    "CreatedTenant",
    "Page",
    "Permission",
    "Principal",
    "PrincipalResolver",
    "Role",
    "TenancyQueries",
    "TenantInfo",
    "TenantQuotas",
    "TenantUsage",
    "UserInfo",
    "Via",
    "internal_principal",
    "request_principal",
    "require_permission",
    "system_principal",
]

T = TypeVar("T")


class _Dto(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class TenantQuotas(_Dto):
    """A tenant's count quotas."""

    max_users: int
    max_api_keys: int


class TenantUsage(_Dto):
    """How much of its quotas a tenant uses (active keys: not revoked or expired)."""

    users: int
    api_keys: int


class TenantInfo(_Dto):
    """A tenant, with its quotas and usage."""

    id: str
    name: str
    slug: str
    isolation: str
    status: str
    quotas: TenantQuotas
    usage: TenantUsage
    created_at: datetime


class UserInfo(_Dto):
    """A user of a tenant."""

    id: str
    tenant_id: str
    email: str
    display_name: str
    role: str
    disabled: bool
    is_platform_admin: bool
    created_at: datetime


class ApiKeyInfo(_Dto):
    """An API key's public description (never its secret or hash)."""

    id: str
    tenant_id: str
    user_id: str
    prefix: str
    name: str
    scopes: list[str] | None
    created_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None
    last_used_at: datetime | None


class CreatedApiKey(_Dto):
    """A new key: ``plaintext`` is shown to its creator once and never again."""

    key: ApiKeyInfo
    plaintext: SecretStr


class CreatedTenant(_Dto):
    """A new tenant, its owner and the owner's first key (shown once)."""

    tenant: TenantInfo
    owner: UserInfo
    owner_key: CreatedApiKey


class Page(_Dto, Generic[T]):
    """One page of a list; pass ``next_after`` as ``after`` for the next page."""

    items: list[T]
    next_after: str | None = None


class PrincipalResolver(Protocol):
    """Turns presented credentials into a :class:`Principal`.

    Contract:
        * Every refusal raises ``Unauthenticated`` with the same generic detail
          (unknown, malformed, wrong secret, expired, revoked, disabled user or
          tenant, bad signature, unknown ``kid``...); the reason is logged
          server-side and kept on the exception's ``reason`` attribute.
        * Malformed input is refused without touching the database.
        * Thread-safe; a successful key authentication may update the key's
          ``last_used_at`` (at most once a minute per key).
    """

    def authenticate_key(self, plaintext: str) -> Principal:
        """The principal of an API key ``phk_<prefix>_<secret>``."""
        ...

    def authenticate_token(self, token: str) -> Principal:
        """The principal of a JWT bearer token."""
        ...


class TenancyQueries(Protocol):
    """Read access to the caller's tenant, for the gateway and other contexts."""

    def get_tenant(
        self, principal: Principal, tenant_id: str | None = None
    ) -> TenantInfo:
        """The caller's tenant (or, for platform admins, ``tenant_id``).

        Raises:
            NotFound: the tenant does not exist or is not visible to the caller.
        """
        ...


async def request_principal(request: Request) -> Principal:
    """The caller the gateway's authentication put on ``request.state.principal``.

    A FastAPI dependency for the contexts' routers: the gateway authenticates and
    checks the route's permission before any route runs (its policy table); a
    route reads the caller here and acts as them. It is a coroutine only so
    that FastAPI calls it on the event loop instead of a worker thread (a
    thread hop per request costs more than the rest of a fast route).

    Raises:
        Unauthenticated: no principal was set (the route was reached without
            authentication).
    """
    principal = getattr(request.state, "principal", None)
    if not isinstance(principal, Principal):
        msg = "authentication required"
        raise Unauthenticated(msg)
    return principal
