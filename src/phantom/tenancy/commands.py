"""Commands of the tenancy context (pydantic; unknown fields refused).

Commands check shape and bound sizes; the domain checks meaning (slug rules, email
syntax, role names...) and raises ``InvalidField`` naming the field, so the HTTP
API and the CLI refuse bad input in the same words. ``tenant_id``, where a command
has one, is for platform administrators acting on another tenant; it defaults to
the caller's own.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "Command",
    "CreateApiKey",
    "CreateTenant",
    "CreateUser",
    "DeleteUser",
    "RevokeApiKey",
    "UpdateTenant",
    "UpdateUser",
]

Id = Annotated[str, Field(min_length=1, max_length=64)]
Quota = Annotated[int, Field(ge=1, le=1_000_000)]
Text = Annotated[str, Field(max_length=400)]


class Command(BaseModel):
    """Base of the tenancy commands."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class CreateTenant(Command):
    """Create a tenant with its owner and the owner's first API key.

    Platform administrators only. The owner's key is returned once.
    """

    name: Text
    slug: Text
    isolation: Annotated[str, Field(max_length=40)] = "row"
    owner_email: Text
    owner_display_name: Text | None = None
    owner_is_platform_admin: bool = False
    max_users: Quota | None = None
    max_api_keys: Quota | None = None


class UpdateTenant(Command):
    """Rename, disable/enable or change the quotas of a tenant (platform admins)."""

    tenant_id: Id
    name: Text | None = None
    status: Annotated[str, Field(max_length=40)] | None = None
    max_users: Quota | None = None
    max_api_keys: Quota | None = None


class CreateUser(Command):
    """Add a user to a tenant (``viewer`` unless another role is given)."""

    email: Text
    display_name: Text | None = None
    role: Annotated[str, Field(max_length=40)] = "viewer"
    tenant_id: Id | None = None


class UpdateUser(Command):
    """Change a user's role, disabled flag or display name (omitted: unchanged)."""

    user_id: Id
    role: Annotated[str, Field(max_length=40)] | None = None
    disabled: bool | None = None
    display_name: Text | None = None
    tenant_id: Id | None = None


class DeleteUser(Command):
    """Delete a user; their keys are revoked."""

    user_id: Id
    tenant_id: Id | None = None


class CreateApiKey(Command):
    """Create an API key for a user (the caller by default); returned once.

    ``scopes`` narrows the key to some of the user's permissions; ``expires_at``
    (timezone-aware) ends its life.
    """

    name: Text
    user_id: Id | None = None
    scopes: (
        Annotated[list[Annotated[str, Field(max_length=64)]], Field(max_length=64)]
        | None
    ) = None
    expires_at: datetime | None = None
    tenant_id: Id | None = None


class RevokeApiKey(Command):
    """Revoke an API key (revoking a revoked key changes nothing)."""

    key_id: Id
    tenant_id: Id | None = None
