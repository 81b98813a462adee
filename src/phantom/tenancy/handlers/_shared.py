"""Helpers shared by the tenancy handlers."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import structlog

from phantom.kernel.clock import Clock
from phantom.kernel.events.envelope import Envelope, new_envelope
from phantom.tenancy.domain.errors import (
    PermissionDenied,
    QuotaReached,
    TenantNotFound,
    UserNotFound,
)
from phantom.tenancy.domain.principals import Principal
from phantom.tenancy.domain.quotas import QuotaRefusal
from phantom.tenancy.domain.roles import can_grant
from phantom.tenancy.domain.tenants import Tenant, tenant_stream
from phantom.tenancy.domain.users import User
from phantom.tenancy.events import QuotaRefused, TenancyEvent
from phantom.tenancy.ports import (
    TenancyRepository,
    TenancyTransaction,
    TenancyUnitOfWork,
)

__all__ = [
    "ensure_may_manage",
    "envelopes",
    "loaded_user",
    "locked_tenant",
    "refuse",
]

log = structlog.get_logger(__name__)


def envelopes(
    tenant_id: str,
    actor: Principal,
    now: datetime,
    events: Sequence[TenancyEvent],
) -> list[Envelope]:
    """Wrap ``events`` for the tenant's stream, recorded as done by ``actor``."""
    stream_id, who = tenant_stream(tenant_id), actor.actor()
    return [
        new_envelope(
            event.event_type(),
            tenant_id=tenant_id,
            stream_id=stream_id,
            data=event.to_data(),
            actor=who,
            schema_version=event.SCHEMA_VERSION,
            occurred_at=now,
        )
        for event in events
    ]


def locked_tenant(tx: TenancyTransaction, tenant_id: str) -> Tenant:
    """The tenant, locked until the transaction ends.

    Raises:
        TenantNotFound: no such tenant.
    """
    tenant = tx.repo.find_tenant(tenant_id, lock=True)
    if tenant is None:
        raise TenantNotFound("no such tenant")
    return tenant


def loaded_user(repo: TenancyRepository, tenant_id: str, user_id: str) -> User:
    """The user ``user_id`` of the tenant.

    Raises:
        UserNotFound: not a user of this tenant (another tenant's id included).
    """
    user = repo.find_user(tenant_id, user_id)
    if user is None:
        raise UserNotFound("no such user in this tenant")
    return user


def ensure_may_manage(actor: Principal, user: User) -> None:
    """Refuse to let ``actor`` change a user who holds more than ``actor`` does.

    Raises:
        PermissionDenied: an admin touching an owner, a non-platform admin touching
            a platform administrator...
    """
    if not can_grant(actor.permissions, user.permissions()):
        msg = "you cannot manage a user who holds permissions you do not"
        raise PermissionDenied(msg)


def refuse(  # noqa: PLR0913 - what the audit records, then the dependencies
    refusal: QuotaRefusal,
    action: str,
    actor: Principal,
    tenant_id: str,
    *,
    uow: TenancyUnitOfWork,
    clock: Clock,
) -> QuotaReached:
    """Record a quota refusal as a ``QuotaRefused`` event; return the error to raise.

    The refused change was rolled back before; this is a transaction of its own
    that writes only the refusal, so the audit trail sees it.
    """
    event = QuotaRefused(
        quota=refusal.quota,
        limit=refusal.limit,
        current=refusal.current,
        requested=refusal.requested,
        action=action,
    )
    with uow.transaction(tenant_id, write=True) as tx:
        tenant = locked_tenant(tx, tenant_id)
        tx.append(
            envelopes(tenant_id, actor, clock.now(), [event]),
            expected_version=tenant.version,
        )
        tx.commit()
    log.info(
        "tenancy.quota.refused",
        tenant_id=tenant_id,
        quota=refusal.quota,
        limit=refusal.limit,
        action=action,
    )
    return refusal.error()
