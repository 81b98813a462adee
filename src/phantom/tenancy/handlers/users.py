"""Handlers: create, update and delete users."""

from __future__ import annotations

import structlog

from phantom.kernel.clock import Clock
from phantom.kernel.ids import uuid7
from phantom.tenancy.api import UserInfo
from phantom.tenancy.commands import CreateUser, DeleteUser, UpdateUser
from phantom.tenancy.domain.errors import EmailTaken, PermissionDenied
from phantom.tenancy.domain.principals import Principal, require, target_tenant
from phantom.tenancy.domain.quotas import MAX_USERS, QuotaRefusal, check_quota
from phantom.tenancy.domain.roles import (
    Permission,
    Role,
    can_grant,
    parse_role,
    permissions_for,
)
from phantom.tenancy.domain.users import (
    User,
    ensure_owner_remains,
    validate_display_name,
    validate_email,
)
from phantom.tenancy.events import (
    ApiKeyRevoked,
    TenancyEvent,
    UserCreated,
    UserDeleted,
    UserUpdated,
)
from phantom.tenancy.handlers._shared import (
    ensure_may_manage,
    envelopes,
    loaded_user,
    locked_tenant,
    refuse,
)
from phantom.tenancy.ports import TenancyTransaction, TenancyUnitOfWork
from phantom.tenancy.presenters import user_info

__all__ = ["create_user", "delete_user", "update_user"]

log = structlog.get_logger(__name__)


def _ensure_may_grant(actor: Principal, role: Role, *, platform_admin: bool) -> None:
    if not can_grant(
        actor.permissions, permissions_for(role, platform_admin=platform_admin)
    ):
        msg = (
            f"you cannot grant the role {role.value!r}: it holds permissions you do not"
        )
        raise PermissionDenied(msg)


def create_user(
    cmd: CreateUser,
    actor: Principal,
    *,
    uow: TenancyUnitOfWork,
    clock: Clock,
) -> UserInfo:
    """Add a user to the caller's tenant (or, for platform admins, ``tenant_id``).

    The ``max_users`` quota is checked under the tenant lock, in the transaction
    that adds the user; a refusal writes only a ``QuotaRefused`` event.

    Raises:
        PermissionDenied: no ``users:write``, or the role holds more than the actor.
        TenantNotFound: another tenant named by a non-platform-admin.
        InvalidField: a bad email, display name or role.
        EmailTaken: the tenant already has a user with this email.
        QuotaReached: the tenant's ``max_users`` is reached.
    """
    require(actor, Permission.USERS_WRITE)
    tenant_id = target_tenant(actor, cmd.tenant_id)
    email, role = validate_email(cmd.email), parse_role(cmd.role)
    name = validate_display_name(cmd.display_name or email.split("@", 1)[0])
    _ensure_may_grant(actor, role, platform_admin=False)
    event = UserCreated(
        user_id=str(uuid7()), email=email, display_name=name, role=role.value
    )
    with uow.transaction(tenant_id, write=True) as tx:
        result = _add_user(tx, tenant_id, actor, event, clock)
    if isinstance(result, QuotaRefusal):
        raise refuse(result, "users.create", actor, tenant_id, uow=uow, clock=clock)
    log.info("tenancy.user.created", tenant_id=tenant_id, user_id=result.id)
    return user_info(result)


def _add_user(
    tx: TenancyTransaction,
    tenant_id: str,
    actor: Principal,
    event: UserCreated,
    clock: Clock,
) -> User | QuotaRefusal:
    tenant = locked_tenant(tx, tenant_id)
    if tx.repo.find_user_by_email(tenant_id, event.email) is not None:
        msg = "this tenant already has a user with that email"
        raise EmailTaken(msg)
    refusal = check_quota(
        MAX_USERS, limit=tenant.quotas.max_users, current=tx.repo.count_users(tenant_id)
    )
    if refusal is not None:
        return refusal
    tx.append(
        envelopes(tenant_id, actor, clock.now(), [event]),
        expected_version=tenant.version,
    )
    user = loaded_user(tx.repo, tenant_id, event.user_id)
    tx.commit()
    return user


def _update_event(
    tx: TenancyTransaction, user: User, cmd: UpdateUser, actor: Principal
) -> UserUpdated | None:
    role = user.role if cmd.role is None else parse_role(cmd.role)
    disabled = user.disabled if cmd.disabled is None else cmd.disabled
    name = (
        user.display_name
        if cmd.display_name is None
        else validate_display_name(cmd.display_name)
    )
    if role is not user.role:
        _ensure_may_grant(actor, role, platform_admin=user.is_platform_admin)
    if user.active_owner:
        owners = tx.repo.count_active_owners(user.tenant_id)
        ensure_owner_remains(user, active_owners=owners, role=role, disabled=disabled)
    changed = [
        field
        for field, differs in (
            ("role", role is not user.role),
            ("disabled", disabled != user.disabled),
            ("display_name", name != user.display_name),
        )
        if differs
    ]
    if not changed:
        return None
    return UserUpdated(
        user_id=user.id,
        role=role.value,
        disabled=disabled,
        display_name=name,
        changed=changed,
    )


def update_user(
    cmd: UpdateUser,
    actor: Principal,
    *,
    uow: TenancyUnitOfWork,
    clock: Clock,
) -> UserInfo:
    """Change a user's role, disabled flag or display name.

    A disabled user's keys and tokens are refused until re-enabled. A command
    that changes nothing appends nothing.

    Raises:
        PermissionDenied: no ``users:write``; the user, or the new role, holds
            permissions the actor does not.
        UserNotFound: no such user in the tenant (another tenant's id included).
        LastOwner: the tenant's last active owner would be demoted or disabled.
        InvalidField: a bad role or display name.
    """
    require(actor, Permission.USERS_WRITE)
    tenant_id = target_tenant(actor, cmd.tenant_id)
    with uow.transaction(tenant_id, write=True) as tx:
        tenant = locked_tenant(tx, tenant_id)
        user = loaded_user(tx.repo, tenant_id, cmd.user_id)
        ensure_may_manage(actor, user)
        event = _update_event(tx, user, cmd, actor)
        if event is not None:
            tx.append(
                envelopes(tenant_id, actor, clock.now(), [event]),
                expected_version=tenant.version,
            )
            user = loaded_user(tx.repo, tenant_id, cmd.user_id)
        tx.commit()
    if event is not None:
        log.info("tenancy.user.updated", tenant_id=tenant_id, user_id=user.id)
    return user_info(user)


def delete_user(
    cmd: DeleteUser,
    actor: Principal,
    *,
    uow: TenancyUnitOfWork,
    clock: Clock,
) -> None:
    """Delete a user; each of their active keys is revoked first, in one append.

    Raises:
        PermissionDenied: no ``users:write``, or the user holds more than the actor.
        UserNotFound: no such user in the tenant (another tenant's id included).
        LastOwner: the user is the tenant's last active owner.
    """
    require(actor, Permission.USERS_WRITE)
    tenant_id = target_tenant(actor, cmd.tenant_id)
    now = clock.now()
    with uow.transaction(tenant_id, write=True) as tx:
        tenant = locked_tenant(tx, tenant_id)
        user = loaded_user(tx.repo, tenant_id, cmd.user_id)
        ensure_may_manage(actor, user)
        if user.active_owner:
            owners = tx.repo.count_active_owners(tenant_id)
            # Deleting ends ownership just as disabling does.
            ensure_owner_remains(
                user, active_owners=owners, role=user.role, disabled=True
            )
        events: list[TenancyEvent] = [
            ApiKeyRevoked(key_id=key_id, user_id=user.id, reason="user-deleted")
            for key_id in tx.repo.active_key_ids(tenant_id, user.id, now)
        ]
        events.append(UserDeleted(user_id=user.id))
        tx.append(
            envelopes(tenant_id, actor, now, events), expected_version=tenant.version
        )
        tx.commit()
    log.info("tenancy.user.deleted", tenant_id=tenant_id, user_id=cmd.user_id)
