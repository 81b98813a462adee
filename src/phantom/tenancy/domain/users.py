"""Users: email addresses, display names, and the rule that a tenant keeps an owner."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Final

from phantom.tenancy.domain.errors import InvalidField, LastOwner
from phantom.tenancy.domain.roles import Role, permissions_for
from phantom.tenancy.domain.text import clean_label

__all__ = [
    "MAX_DISPLAY_NAME_LENGTH",
    "MAX_EMAIL_LENGTH",
    "User",
    "ensure_owner_remains",
    "validate_display_name",
    "validate_email",
]

MAX_EMAIL_LENGTH: Final = 254
MAX_DISPLAY_NAME_LENGTH: Final = 100
_ATOM: Final = r"[a-z0-9!#$%&'*+/=?^_`{|}~-]+"
_LOCAL: Final = re.compile(rf"{_ATOM}(?:\.{_ATOM})*")
_LABEL: Final = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?")


@dataclass(frozen=True, slots=True)
class User:
    """A user of a tenant, as stored.

    Attributes:
        tenant_id: the tenant the user belongs to.
        id: the user id (a UUIDv7 string).
        email: the lower-case email address, unique within the tenant.
        display_name: how the user is shown.
        role: the user's role in the tenant.
        disabled: a disabled user's keys and tokens are refused.
        is_platform_admin: holds ``platform:admin`` (granted by platform admins).
        created_at: when the user was created.
    """

    tenant_id: str
    id: str
    email: str
    display_name: str
    role: Role
    disabled: bool
    is_platform_admin: bool
    created_at: datetime

    def permissions(self, scopes: frozenset[str] | None = None) -> frozenset[str]:
        """The user's permissions, narrowed by ``scopes`` when given."""
        return permissions_for(
            self.role, platform_admin=self.is_platform_admin, scopes=scopes
        )

    @property
    def active_owner(self) -> bool:
        """Whether the user counts as one of the tenant's owners."""
        return self.role is Role.OWNER and not self.disabled


def validate_email(value: object) -> str:
    """Return ``value`` as a lower-case email address, or raise naming ``email``.

    Accepted: ``local@domain`` in ASCII, at most 254 characters, a dot-atom local
    part of at most 64 characters and a domain of at least two DNS labels whose last
    label is not numeric. Quoted local parts, IP literals and internationalised
    addresses are refused.

    Raises:
        InvalidField: naming ``email``.
    """
    invalid = InvalidField("email", "must be an email address like name@example.com")
    if not isinstance(value, str) or not value.isascii():
        raise invalid
    email = value.strip().lower()
    if len(email) > MAX_EMAIL_LENGTH or email.count("@") != 1:
        raise invalid
    local, domain = email.split("@")
    labels = domain.split(".")
    if (
        len(local) > 64
        or not _LOCAL.fullmatch(local)
        or len(labels) < 2
        or not all(_LABEL.fullmatch(label) for label in labels)
        or labels[-1].isdigit()
    ):
        raise invalid
    return email


def validate_display_name(value: object) -> str:
    """Return the cleaned display name (see :func:`clean_label`)."""
    return clean_label("display_name", value, max_length=MAX_DISPLAY_NAME_LENGTH)


def ensure_owner_remains(
    user: User, *, active_owners: int, role: Role, disabled: bool
) -> None:
    """Refuse a change that would leave the tenant without an active owner.

    Args:
        user: the user as stored.
        active_owners: how many active owners the tenant has now.
        role: the user's role after the change.
        disabled: the user's disabled flag after the change.

    Raises:
        LastOwner: ``user`` is the last active owner and would stop being one.
    """
    stays_owner = role is Role.OWNER and not disabled
    if user.active_owner and not stays_owner and active_owners <= 1:
        msg = "the tenant's last active owner cannot be demoted, disabled or deleted"
        raise LastOwner(msg)
