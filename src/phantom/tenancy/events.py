"""The tenancy context's published events (wire type ``tenancy.<Name>``).

Every tenancy event of a tenant goes to that tenant's one stream
(``tenant-<tenant_id>``), in order. Events never carry a key's secret or its hash:
an :class:`ApiKeyCreated` names the key by id and public prefix only.

Schema version 1 for all; an upcaster will live next to an event whose shape
changes.
"""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar, Literal

from phantom.kernel.events.envelope import Envelope
from phantom.kernel.events.typed import DomainEvent, parse_typed

__all__ = [
    "EVENT_TYPES",
    "ApiKeyCreated",
    "ApiKeyRevoked",
    "QuotaRefused",
    "TenancyEvent",
    "TenantCreated",
    "TenantUpdated",
    "UserCreated",
    "UserDeleted",
    "UserUpdated",
    "parse_event",
]


class TenancyEvent(DomainEvent):
    """Base of the tenancy events: frozen, unknown fields refused."""

    CONTEXT: ClassVar[str] = "tenancy"


class TenantCreated(TenancyEvent):
    """A tenant was created (its owner and owner key follow in the same append)."""

    NAME: ClassVar[str] = "TenantCreated"
    tenant_id: str
    name: str
    slug: str
    isolation: str
    status: str
    max_users: int
    max_api_keys: int


class TenantUpdated(TenancyEvent):
    """A platform administrator changed a tenant; every field holds its new value."""

    NAME: ClassVar[str] = "TenantUpdated"
    tenant_id: str
    name: str
    status: str
    max_users: int
    max_api_keys: int
    changed: list[str]


class UserCreated(TenancyEvent):
    """A user was added to the tenant."""

    NAME: ClassVar[str] = "UserCreated"
    user_id: str
    email: str
    display_name: str
    role: str
    disabled: bool = False
    is_platform_admin: bool = False


class UserUpdated(TenancyEvent):
    """A user's role, disabled flag or display name changed (new values)."""

    NAME: ClassVar[str] = "UserUpdated"
    user_id: str
    role: str
    disabled: bool
    display_name: str
    changed: list[str]


class UserDeleted(TenancyEvent):
    """A user was deleted; their keys were revoked in the same append, before."""

    NAME: ClassVar[str] = "UserDeleted"
    user_id: str


class ApiKeyCreated(TenancyEvent):
    """An API key was created (its secret was shown once and is not recorded)."""

    NAME: ClassVar[str] = "ApiKeyCreated"
    key_id: str
    user_id: str
    prefix: str
    name: str
    scopes: list[str] | None
    expires_at: datetime | None


class ApiKeyRevoked(TenancyEvent):
    """An API key was revoked, by request or because its user was deleted."""

    NAME: ClassVar[str] = "ApiKeyRevoked"
    key_id: str
    user_id: str
    reason: Literal["revoked", "user-deleted"] = "revoked"


class QuotaRefused(TenancyEvent):
    """A change was refused by a count quota; nothing else was written."""

    NAME: ClassVar[str] = "QuotaRefused"
    quota: str
    limit: int
    current: int
    requested: int
    action: str


EVENT_TYPES: dict[str, type[TenancyEvent]] = {
    cls.event_type(): cls
    for cls in (
        TenantCreated,
        TenantUpdated,
        UserCreated,
        UserUpdated,
        UserDeleted,
        ApiKeyCreated,
        ApiKeyRevoked,
        QuotaRefused,
    )
}
"""Every tenancy event class by wire type."""


def parse_event(envelope: Envelope) -> TenancyEvent | None:
    """The typed event in ``envelope``, or ``None`` when it is not a tenancy event."""
    return parse_typed(envelope, EVENT_TYPES)
