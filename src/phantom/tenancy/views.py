"""The tenancy read side: the tenant, its users, its keys, and (platform) tenants.

Queries read the read model that the inline projector keeps current, so a read
right after a write sees it. Every query takes the caller's principal: another
tenant's data is never found (404), except for platform administrators.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Final, TypeVar

from phantom.kernel.clock import Clock
from phantom.tenancy.api import ApiKeyInfo, Page, TenantInfo, UserInfo
from phantom.tenancy.domain.errors import InvalidField, TenantNotFound, UserNotFound
from phantom.tenancy.domain.principals import Principal, require, target_tenant
from phantom.tenancy.domain.roles import PLATFORM_ADMIN, Permission
from phantom.tenancy.ports import TenancyRepository, TenancyUnitOfWork
from phantom.tenancy.presenters import key_info, tenant_info, usage, user_info

__all__ = [
    "DEFAULT_PAGE_SIZE",
    "MAX_PAGE_SIZE",
    "get_tenant",
    "get_user",
    "list_keys",
    "list_tenants",
    "list_users",
]

DEFAULT_PAGE_SIZE: Final = 50
MAX_PAGE_SIZE: Final = 200

_Row = TypeVar("_Row")
_Item = TypeVar("_Item")


def _checked_limit(limit: int) -> int:
    if isinstance(limit, bool) or not 1 <= limit <= MAX_PAGE_SIZE:
        raise InvalidField("limit", f"must be between 1 and {MAX_PAGE_SIZE}")
    return limit


def _ensure_tenant(repo: TenancyRepository, tenant_id: str) -> None:
    if repo.find_tenant(tenant_id) is None:
        raise TenantNotFound("no such tenant")


def _page(
    rows: Sequence[_Row],
    limit: int,
    present: Callable[[_Row], _Item],
    key: Callable[[_Row], str],
) -> Page[_Item]:
    shown = rows[:limit]
    more = len(rows) > limit
    return Page[_Item](
        items=[present(row) for row in shown],
        next_after=key(shown[-1]) if more and shown else None,
    )


def get_tenant(
    actor: Principal,
    tenant_id: str | None = None,
    *,
    uow: TenancyUnitOfWork,
    clock: Clock,
) -> TenantInfo:
    """The caller's tenant (platform admins: any), with quotas and usage.

    Raises:
        PermissionDenied: no ``tenant:read``.
        TenantNotFound: no such tenant visible to the caller.
    """
    require(actor, Permission.TENANT_READ)
    target = target_tenant(actor, tenant_id)
    with uow.transaction(target) as tx:
        tenant = tx.repo.find_tenant(target)
        if tenant is None:
            raise TenantNotFound("no such tenant")
        return tenant_info(tenant, usage(tx.repo, target, clock.now()))


def list_tenants(
    actor: Principal,
    *,
    uow: TenancyUnitOfWork,
    clock: Clock,
    after: str | None = None,
    limit: int = DEFAULT_PAGE_SIZE,
) -> Page[TenantInfo]:
    """A page of every tenant (platform administrators only).

    Raises:
        PermissionDenied: not a platform administrator.
    """
    require(actor, PLATFORM_ADMIN)
    limit = _checked_limit(limit)
    now = clock.now()
    with uow.transaction(None) as tx:
        rows = tx.repo.list_tenants(after=after, limit=limit + 1)
    page = _page(rows, limit, lambda tenant: tenant, lambda tenant: tenant.id)
    infos = []
    for tenant in page.items:  # usage is tenant data: read in the tenant's scope
        with uow.transaction(tenant.id) as tx:
            infos.append(tenant_info(tenant, usage(tx.repo, tenant.id, now)))
    return Page[TenantInfo](items=infos, next_after=page.next_after)


def get_user(
    actor: Principal,
    user_id: str,
    *,
    uow: TenancyUnitOfWork,
    tenant_id: str | None = None,
) -> UserInfo:
    """One user of the caller's tenant.

    Raises:
        PermissionDenied: no ``users:read``.
        UserNotFound: no such user in the tenant (another tenant's id included).
    """
    require(actor, Permission.USERS_READ)
    target = target_tenant(actor, tenant_id)
    with uow.transaction(target) as tx:
        user = tx.repo.find_user(target, user_id)
    if user is None:
        raise UserNotFound("no such user in this tenant")
    return user_info(user)


def list_users(
    actor: Principal,
    *,
    uow: TenancyUnitOfWork,
    after: str | None = None,
    limit: int = DEFAULT_PAGE_SIZE,
    tenant_id: str | None = None,
) -> Page[UserInfo]:
    """A page of the tenant's users, by id.

    Raises:
        PermissionDenied: no ``users:read``.
        TenantNotFound: no such tenant visible to the caller.
    """
    require(actor, Permission.USERS_READ)
    target = target_tenant(actor, tenant_id)
    limit = _checked_limit(limit)
    with uow.transaction(target) as tx:
        _ensure_tenant(tx.repo, target)
        rows = tx.repo.list_users(target, after=after, limit=limit + 1)
    return _page(rows, limit, user_info, lambda user: user.id)


def list_keys(  # noqa: PLR0913 - filters and paging, keyword-only
    actor: Principal,
    *,
    uow: TenancyUnitOfWork,
    user_id: str | None = None,
    after: str | None = None,
    limit: int = DEFAULT_PAGE_SIZE,
    tenant_id: str | None = None,
) -> Page[ApiKeyInfo]:
    """A page of the tenant's API keys (revoked ones included), never a secret.

    Raises:
        PermissionDenied: no ``keys:read``.
        TenantNotFound: no such tenant visible to the caller.
    """
    require(actor, Permission.KEYS_READ)
    target = target_tenant(actor, tenant_id)
    limit = _checked_limit(limit)
    with uow.transaction(target) as tx:
        _ensure_tenant(tx.repo, target)
        rows = tx.repo.list_keys(target, user_id=user_id, after=after, limit=limit + 1)
    return _page(rows, limit, key_info, lambda key: key.id)
