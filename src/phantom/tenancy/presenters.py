"""Domain objects → the DTOs of :mod:`phantom.tenancy.api` (never a secret)."""

from __future__ import annotations

from datetime import datetime

from phantom.tenancy.api import (
    ApiKeyInfo,
    TenantInfo,
    TenantQuotas,
    TenantUsage,
    UserInfo,
)
from phantom.tenancy.domain.keys import ApiKey
from phantom.tenancy.domain.tenants import Tenant
from phantom.tenancy.domain.users import User
from phantom.tenancy.ports import TenancyRepository

__all__ = ["key_info", "tenant_info", "usage", "user_info"]


def tenant_info(tenant: Tenant, usage: TenantUsage) -> TenantInfo:
    """The public form of ``tenant`` with its ``usage``."""
    return TenantInfo(
        id=tenant.id,
        name=tenant.name,
        slug=tenant.slug,
        isolation=tenant.isolation.value,
        status=tenant.status.value,
        quotas=TenantQuotas(
            max_users=tenant.quotas.max_users,
            max_api_keys=tenant.quotas.max_api_keys,
        ),
        usage=usage,
        created_at=tenant.created_at,
    )


def user_info(user: User) -> UserInfo:
    """The public form of ``user``."""
    return UserInfo(
        id=user.id,
        tenant_id=user.tenant_id,
        email=user.email,
        display_name=user.display_name,
        role=user.role.value,
        disabled=user.disabled,
        is_platform_admin=user.is_platform_admin,
        created_at=user.created_at,
    )


def key_info(key: ApiKey) -> ApiKeyInfo:
    """The public form of ``key``: no secret, no hash."""
    return ApiKeyInfo(
        id=key.id,
        tenant_id=key.tenant_id,
        user_id=key.user_id,
        prefix=key.prefix,
        name=key.name,
        scopes=None if key.scopes is None else sorted(key.scopes),
        created_at=key.created_at,
        expires_at=key.expires_at,
        revoked_at=key.revoked_at,
        last_used_at=key.last_used_at,
    )


def usage(repo: TenancyRepository, tenant_id: str, now: datetime) -> TenantUsage:
    """How much of its quotas the tenant uses at ``now``."""
    return TenantUsage(
        users=repo.count_users(tenant_id),
        api_keys=repo.count_active_keys(tenant_id, now),
    )
