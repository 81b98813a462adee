"""Handlers: create and update tenants (platform administrators)."""

from __future__ import annotations

from dataclasses import dataclass

import structlog
from pydantic import SecretStr

from phantom.kernel.clock import Clock
from phantom.kernel.ids import uuid7
from phantom.tenancy.api import CreatedApiKey, CreatedTenant, TenantInfo
from phantom.tenancy.commands import CreateTenant, UpdateTenant
from phantom.tenancy.domain.errors import SlugTaken
from phantom.tenancy.domain.keys import GeneratedKey, KeyHasher, generate_key
from phantom.tenancy.domain.principals import Principal, require
from phantom.tenancy.domain.roles import PLATFORM_ADMIN, Role
from phantom.tenancy.domain.tenants import (
    DEFAULT_QUOTAS,
    Isolation,
    Quotas,
    Tenant,
    TenantStatus,
    parse_isolation,
    parse_status,
    validate_slug,
    validate_tenant_name,
)
from phantom.tenancy.domain.users import validate_display_name, validate_email
from phantom.tenancy.events import (
    ApiKeyCreated,
    TenancyEvent,
    TenantCreated,
    TenantUpdated,
    UserCreated,
)
from phantom.tenancy.handlers._shared import envelopes, locked_tenant
from phantom.tenancy.ports import TenancyRepository, TenancyUnitOfWork
from phantom.tenancy.presenters import key_info, tenant_info, usage, user_info

__all__ = ["OWNER_KEY_NAME", "create_tenant", "update_tenant"]

log = structlog.get_logger(__name__)

OWNER_KEY_NAME = "owner key"


@dataclass(frozen=True, slots=True)
class _NewTenant:
    id: str
    owner_id: str
    key_id: str
    name: str
    slug: str
    isolation: Isolation
    quotas: Quotas
    owner_email: str
    owner_name: str


def _validated(cmd: CreateTenant) -> _NewTenant:
    email = validate_email(cmd.owner_email)
    return _NewTenant(
        id=str(uuid7()),
        owner_id=str(uuid7()),
        key_id=str(uuid7()),
        name=validate_tenant_name(cmd.name),
        slug=validate_slug(cmd.slug),
        isolation=parse_isolation(cmd.isolation),
        quotas=Quotas(
            max_users=cmd.max_users or DEFAULT_QUOTAS.max_users,
            max_api_keys=cmd.max_api_keys or DEFAULT_QUOTAS.max_api_keys,
        ),
        owner_email=email,
        owner_name=validate_display_name(
            cmd.owner_display_name or email.split("@", 1)[0]
        ),
    )


def _creation_events(
    new: _NewTenant, key: GeneratedKey, *, platform_admin: bool
) -> list[TenancyEvent]:
    return [
        TenantCreated(
            tenant_id=new.id,
            name=new.name,
            slug=new.slug,
            isolation=new.isolation.value,
            status=TenantStatus.ACTIVE.value,
            max_users=new.quotas.max_users,
            max_api_keys=new.quotas.max_api_keys,
        ),
        UserCreated(
            user_id=new.owner_id,
            email=new.owner_email,
            display_name=new.owner_name,
            role=Role.OWNER.value,
            is_platform_admin=platform_admin,
        ),
        ApiKeyCreated(
            key_id=new.key_id,
            user_id=new.owner_id,
            prefix=key.prefix,
            name=OWNER_KEY_NAME,
            scopes=None,
            expires_at=None,
        ),
    ]


def create_tenant(
    cmd: CreateTenant,
    actor: Principal,
    *,
    uow: TenancyUnitOfWork,
    clock: Clock,
    hasher: KeyHasher,
) -> CreatedTenant:
    """Create a tenant, its owner and the owner's first API key.

    Returns:
        The tenant, the owner and the owner's key, whose plaintext is shown once.

    Raises:
        PermissionDenied: ``actor`` is not a platform administrator.
        InvalidField: a bad name, slug, isolation level, email or quota.
        SlugTaken: another tenant has the slug.
    """
    require(actor, PLATFORM_ADMIN)
    new, key, now = _validated(cmd), generate_key(), clock.now()
    events = _creation_events(new, key, platform_admin=cmd.owner_is_platform_admin)
    with uow.transaction(None) as tx:  # platform scope: slugs are platform-wide
        if tx.repo.find_tenant_by_slug(new.slug) is not None:
            msg = f"the slug {new.slug!r} is taken"
            raise SlugTaken(msg)
    # A concurrent creation with the same slug still fails on the unique key.
    with uow.transaction(new.id, write=True) as tx:
        tx.append(envelopes(new.id, actor, now, events), expected_version=0)
        tx.repo.set_key_secret_hash(new.id, new.key_id, hasher.hash(key.secret))
        created = _read_back(tx.repo, new, key, clock)
        tx.commit()
    log.info("tenancy.tenant.created", tenant_id=new.id, slug=new.slug)
    return created


def _read_back(
    repo: TenancyRepository, new: _NewTenant, key: GeneratedKey, clock: Clock
) -> CreatedTenant:
    tenant = repo.find_tenant(new.id)
    owner = repo.find_user(new.id, new.owner_id)
    stored_key = repo.find_key(new.id, new.key_id)
    if tenant is None or owner is None or stored_key is None:  # pragma: no cover
        msg = "the tenancy projection did not record the new tenant"
        raise RuntimeError(msg)
    return CreatedTenant(
        tenant=tenant_info(tenant, usage(repo, new.id, clock.now())),
        owner=user_info(owner),
        owner_key=CreatedApiKey(
            key=key_info(stored_key), plaintext=SecretStr(key.plaintext)
        ),
    )


def _update_event(tenant: Tenant, cmd: UpdateTenant) -> TenantUpdated | None:
    quotas = Quotas(
        max_users=cmd.max_users or tenant.quotas.max_users,
        max_api_keys=cmd.max_api_keys or tenant.quotas.max_api_keys,
    )
    after: dict[str, str | int] = {
        "name": tenant.name if cmd.name is None else validate_tenant_name(cmd.name),
        "status": (
            tenant.status if cmd.status is None else parse_status(cmd.status)
        ).value,
        "max_users": quotas.max_users,
        "max_api_keys": quotas.max_api_keys,
    }
    before: dict[str, str | int] = {
        "name": tenant.name,
        "status": tenant.status.value,
        "max_users": tenant.quotas.max_users,
        "max_api_keys": tenant.quotas.max_api_keys,
    }
    changed = [field for field, value in after.items() if before[field] != value]
    if not changed:
        return None
    return TenantUpdated(
        tenant_id=tenant.id,
        name=str(after["name"]),
        status=str(after["status"]),
        max_users=quotas.max_users,
        max_api_keys=quotas.max_api_keys,
        changed=changed,
    )


def update_tenant(
    cmd: UpdateTenant,
    actor: Principal,
    *,
    uow: TenancyUnitOfWork,
    clock: Clock,
) -> TenantInfo:
    """Rename, disable or re-enable a tenant, or change its quotas.

    Disabling a tenant makes every one of its keys and tokens fail at once.
    Lowering a quota below current usage refuses new additions only. A command
    that changes nothing appends nothing.

    Raises:
        PermissionDenied: ``actor`` is not a platform administrator.
        TenantNotFound: no such tenant.
        InvalidField: a bad name, status or quota.
    """
    require(actor, PLATFORM_ADMIN)
    now = clock.now()
    with uow.transaction(cmd.tenant_id, write=True) as tx:
        tenant = locked_tenant(tx, cmd.tenant_id)
        event = _update_event(tenant, cmd)
        if event is not None:
            tx.append(
                envelopes(tenant.id, actor, now, [event]),
                expected_version=tenant.version,
            )
            tenant = locked_tenant(tx, cmd.tenant_id)
        info = tenant_info(tenant, usage(tx.repo, tenant.id, now))
        tx.commit()
    if event is not None:
        log.info("tenancy.tenant.updated", tenant_id=tenant.id, changed=event.changed)
    return info
