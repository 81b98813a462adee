"""Tenants: slugs, names, isolation levels, status and quotas."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Final

from phantom.tenancy.domain.errors import InvalidField
from phantom.tenancy.domain.text import clean_label

__all__ = [
    "AVAILABLE_ISOLATION",
    "DEFAULT_QUOTAS",
    "MAX_NAME_LENGTH",
    "MAX_QUOTA",
    "Isolation",
    "Quotas",
    "Tenant",
    "TenantStatus",
    "parse_isolation",
    "parse_status",
    "tenant_stream",
    "validate_slug",
    "validate_tenant_name",
]

MAX_NAME_LENGTH: Final = 100
MAX_QUOTA: Final = 1_000_000
_SLUG: Final = re.compile(r"[a-z0-9][a-z0-9-]{1,38}[a-z0-9]")


class Isolation(StrEnum):
    """How a tenant's data is separated from other tenants'."""

    ROW = "row"
    """Shared tables, every row tagged with ``tenant_id`` (and RLS on PostgreSQL)."""
    SCHEMA = "schema"
    """A PostgreSQL schema per tenant (not available yet)."""
    DATABASE = "database"
    """A database per tenant (not available yet)."""


AVAILABLE_ISOLATION: Final = frozenset({Isolation.ROW})


class TenantStatus(StrEnum):
    """Whether a tenant's credentials work."""

    ACTIVE = "active"
    DISABLED = "disabled"


@dataclass(frozen=True, slots=True)
class Quotas:
    """A tenant's count quotas."""

    max_users: int
    max_api_keys: int

    def __post_init__(self) -> None:
        for field, value in (
            ("max_users", self.max_users),
            ("max_api_keys", self.max_api_keys),
        ):
            if isinstance(value, bool) or not 1 <= value <= MAX_QUOTA:
                raise InvalidField(field, f"must be between 1 and {MAX_QUOTA}")


DEFAULT_QUOTAS: Final = Quotas(max_users=50, max_api_keys=100)


@dataclass(frozen=True, slots=True)
class Tenant:
    """A tenant as stored.

    Attributes:
        id: the tenant id (a UUIDv7 string).
        name: the display name.
        slug: the unique, URL-safe handle.
        isolation: the isolation level.
        status: active or disabled.
        quotas: the count quotas.
        version: the version of the tenant's event stream (optimistic concurrency).
        created_at: when the tenant was created.
    """

    id: str
    name: str
    slug: str
    isolation: Isolation
    status: TenantStatus
    quotas: Quotas
    version: int
    created_at: datetime

    @property
    def active(self) -> bool:
        """Whether the tenant's credentials may authenticate."""
        return self.status is TenantStatus.ACTIVE


def validate_slug(value: object) -> str:
    """Return ``value`` if it is a valid slug.

    A slug is 3 to 40 characters of ``a-z``, ``0-9`` and ``-``, neither starting nor
    ending with ``-``. Nothing is normalised: ``Acme`` is refused, not lowered.

    Raises:
        InvalidField: naming ``slug``.
    """
    if not isinstance(value, str) or len(value) > 40 or not _SLUG.fullmatch(value):
        msg = (
            "must be 3 to 40 characters of a-z, 0-9 and '-', "
            "not starting or ending with '-'"
        )
        raise InvalidField("slug", msg)
    return value


def validate_tenant_name(value: object) -> str:
    """Return the cleaned tenant name (see :func:`clean_label`)."""
    return clean_label("name", value, max_length=MAX_NAME_LENGTH)


def parse_isolation(value: str) -> Isolation:
    """Return the isolation level called ``value``, if it is available.

    Raises:
        InvalidField: naming ``isolation``; ``schema`` and ``database`` are
            recognised but not available yet.
    """
    try:
        level = Isolation(value)
    except ValueError:
        raise InvalidField("isolation", "unknown isolation level; use 'row'") from None
    if level not in AVAILABLE_ISOLATION:
        raise InvalidField(
            "isolation",
            f"isolation level {level.value!r} is not available yet; use 'row'",
        )
    return level


def parse_status(value: str) -> TenantStatus:
    """Return the tenant status called ``value``.

    Raises:
        InvalidField: naming ``status``.
    """
    try:
        return TenantStatus(value)
    except ValueError:
        raise InvalidField("status", "must be 'active' or 'disabled'") from None


def tenant_stream(tenant_id: str) -> str:
    """The id of the event stream holding every tenancy event of ``tenant_id``.

    One stream per tenant: its version serialises the tenant's writes, which is
    what makes quota checks safe (ADR 0009).
    """
    return f"tenant-{tenant_id}"
