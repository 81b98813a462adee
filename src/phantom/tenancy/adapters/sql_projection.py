"""The inline projector: tenancy events → the tenancy tables.

It runs in the writer's transaction, so a read right after a write sees it.

Replaying a tenant's stream onto empty tables rebuilds everything but two
non-event columns: ``secret_hash`` (credential state, ADR 0009) and
``last_used_at_us`` (a usage hint).
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import ColumnElement, Connection, and_, delete, insert, update

from phantom.kernel.events.envelope import Envelope
from phantom.kernel.events.sql import to_us
from phantom.tenancy.adapters.sql_tables import api_keys, tenants, users
from phantom.tenancy.events import (
    ApiKeyCreated,
    ApiKeyRevoked,
    TenancyEvent,
    TenantCreated,
    TenantUpdated,
    UserCreated,
    UserDeleted,
    UserUpdated,
    parse_event,
)

__all__ = ["project_tenancy"]


def project_tenancy(conn: Connection, envelopes: Sequence[Envelope]) -> None:
    """Apply tenancy events to the tables; record each tenant's stream version."""
    versions: dict[str, tuple[int, int]] = {}
    for envelope in envelopes:
        event = parse_event(envelope)
        if event is None:
            continue
        _apply(conn, envelope, event)
        versions[envelope.tenant_id] = (
            envelope.stream_version,
            to_us(envelope.occurred_at),
        )
    for tenant_id, (version, at_us) in versions.items():
        conn.execute(
            update(tenants)
            .where(tenants.c.tenant_id == tenant_id)
            .values(version=version, updated_at_us=at_us)
        )


def _apply(conn: Connection, envelope: Envelope, event: TenancyEvent) -> None:
    tenant_id, at_us = envelope.tenant_id, to_us(envelope.occurred_at)
    match event:
        case TenantCreated():
            conn.execute(
                insert(tenants).values(
                    tenant_id=tenant_id,
                    name=event.name,
                    slug=event.slug,
                    isolation=event.isolation,
                    status=event.status,
                    max_users=event.max_users,
                    max_api_keys=event.max_api_keys,
                    version=envelope.stream_version,
                    created_at_us=at_us,
                    updated_at_us=at_us,
                )
            )
        case TenantUpdated():
            conn.execute(
                update(tenants)
                .where(tenants.c.tenant_id == tenant_id)
                .values(
                    name=event.name,
                    status=event.status,
                    max_users=event.max_users,
                    max_api_keys=event.max_api_keys,
                )
            )
        case UserCreated() | UserUpdated() | UserDeleted():
            _apply_user(conn, tenant_id, at_us, event)
        case ApiKeyCreated() | ApiKeyRevoked():
            _apply_key(conn, tenant_id, at_us, event)
        case _:
            pass  # QuotaRefused changes no table (only the stream version)


def _apply_user(
    conn: Connection,
    tenant_id: str,
    at_us: int,
    event: UserCreated | UserUpdated | UserDeleted,
) -> None:
    match event:
        case UserCreated():
            conn.execute(
                insert(users).values(
                    tenant_id=tenant_id,
                    user_id=event.user_id,
                    email=event.email,
                    display_name=event.display_name,
                    role=event.role,
                    disabled=event.disabled,
                    is_platform_admin=event.is_platform_admin,
                    created_at_us=at_us,
                    updated_at_us=at_us,
                )
            )
        case UserUpdated():
            conn.execute(
                update(users)
                .where(_user(tenant_id, event.user_id))
                .values(
                    role=event.role,
                    disabled=event.disabled,
                    display_name=event.display_name,
                    updated_at_us=at_us,
                )
            )
        case UserDeleted():
            _delete_user(conn, tenant_id, event.user_id)


def _delete_user(conn: Connection, tenant_id: str, user_id: str) -> None:
    owned = and_(api_keys.c.tenant_id == tenant_id, api_keys.c.user_id == user_id)
    conn.execute(delete(api_keys).where(owned))
    conn.execute(delete(users).where(_user(tenant_id, user_id)))


def _user(tenant_id: str, user_id: str) -> ColumnElement[bool]:
    return and_(users.c.tenant_id == tenant_id, users.c.user_id == user_id)


def _apply_key(
    conn: Connection,
    tenant_id: str,
    at_us: int,
    event: ApiKeyCreated | ApiKeyRevoked,
) -> None:
    match event:
        case ApiKeyCreated():
            conn.execute(
                insert(api_keys).values(
                    tenant_id=tenant_id,
                    key_id=event.key_id,
                    user_id=event.user_id,
                    prefix=event.prefix,
                    name=event.name,
                    scopes=None if event.scopes is None else " ".join(event.scopes),
                    created_at_us=at_us,
                    expires_at_us=None
                    if event.expires_at is None
                    else to_us(event.expires_at),
                )
            )
        case ApiKeyRevoked():
            conn.execute(
                update(api_keys)
                .where(
                    and_(
                        api_keys.c.tenant_id == tenant_id,
                        api_keys.c.key_id == event.key_id,
                        api_keys.c.revoked_at_us.is_(None),
                    )
                )
                .values(revoked_at_us=at_us)
            )
