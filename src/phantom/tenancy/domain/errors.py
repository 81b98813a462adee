"""The tenancy context's errors, in the kernel's one tree.

::

    InvalidInput (422)
    └── InvalidField            a named field failed validation
    Unauthenticated (401)
    └── AuthenticationFailed    credentials refused; the reason is for logs only
    Forbidden (403)
    └── PermissionDenied        the principal lacks a permission or may not grant it
    QuotaExceeded (429)
    └── QuotaReached (403)      a count quota (users, keys) is full
    NotFound (404)
    ├── TenantNotFound
    ├── UserNotFound
    └── ApiKeyNotFound
    Conflict (409)
    ├── SlugTaken
    ├── EmailTaken
    └── LastOwner               the change would leave the tenant without an owner
"""

from __future__ import annotations

from phantom.kernel.errors import (
    Conflict,
    Forbidden,
    InvalidField,
    NotFound,
    QuotaExceeded,
    Unauthenticated,
)

__all__ = [
    "ApiKeyNotFound",
    "AuthenticationFailed",
    "EmailTaken",
    "InvalidField",
    "LastOwner",
    "PermissionDenied",
    "QuotaReached",
    "SlugTaken",
    "TenantNotFound",
    "UserNotFound",
]


class AuthenticationFailed(Unauthenticated):
    """Credentials were refused.

    The detail shown to the caller is always the same generic sentence, so it never
    tells which part failed (unknown key, wrong secret, expired, revoked, disabled
    user or tenant, bad signature...). ``reason`` and ``context`` are for the server
    log and the audit trail only; they never contain a secret.

    Attributes:
        reason: a short machine-readable cause, e.g. ``"revoked"``.
        context: identifiers safe to log (key prefix, tenant id, kid...).
    """

    GENERIC_DETAIL = "The credentials were not accepted."

    def __init__(self, reason: str, **context: str) -> None:
        super().__init__(self.GENERIC_DETAIL)
        self.reason = reason
        self.context = context


class PermissionDenied(Forbidden):
    """The principal lacks a permission, or may not grant more than it holds."""

    code = "permission-denied"
    title = "Permission denied"


class QuotaReached(QuotaExceeded):
    """A count quota (``max_users``, ``max_api_keys``) is full.

    A 403 rather than the 429 of rate limits: retrying later does not help until
    something is deleted or the quota is raised. Still a :class:`QuotaExceeded`, so
    code that handles quota refusals handles both.

    Attributes:
        quota: the quota's name.
        limit: its value for the tenant.
    """

    code = "quota-reached"
    status = 403
    title = "Quota reached"

    def __init__(self, quota: str, limit: int) -> None:
        super().__init__(
            f"the tenant's {quota} quota of {limit} is reached",
            quota=quota,
            limit=limit,
        )
        self.quota = quota
        self.limit = limit


class TenantNotFound(NotFound):
    """No such tenant (or not visible to the caller)."""

    code = "tenant-not-found"
    title = "Tenant not found"


class UserNotFound(NotFound):
    """No such user in this tenant."""

    code = "user-not-found"
    title = "User not found"


class ApiKeyNotFound(NotFound):
    """No such API key in this tenant."""

    code = "api-key-not-found"
    title = "API key not found"


class SlugTaken(Conflict):
    """Another tenant already has this slug."""

    code = "slug-taken"
    title = "Slug taken"


class EmailTaken(Conflict):
    """Another user of the tenant already has this email address."""

    code = "email-taken"
    title = "Email taken"


class LastOwner(Conflict):
    """The change would leave the tenant without an active owner."""

    code = "last-owner"
    title = "Last owner"
