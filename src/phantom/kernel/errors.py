"""The one error tree of Phantom, and its rendering as RFC 9457 problem+json.

::

    PhantomError (500)
    ├── InvalidInput (422)
    │   ├── InvalidField (422)
    │   └── PayloadTooLarge (413)
    ├── Unauthenticated (401)
    ├── Forbidden (403)
    ├── NotFound (404)
    ├── Conflict (409)
    │   └── VersionConflict (409)
    ├── QuotaExceeded (429)
    ├── Unavailable (503)
    └── ConfigError (500, raised at start-up, never from a request)

Contexts subclass the tree (``ModelVersionNotFound(NotFound)``); the gateway renders
every one of them with :func:`problem_body`. Internals (driver messages, stack traces)
never reach a problem body: adapters wrap driver errors with ``raise ... from exc``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import ClassVar

__all__ = [
    "PROBLEM_TYPE_BASE",
    "ConfigError",
    "Conflict",
    "Forbidden",
    "InvalidField",
    "InvalidInput",
    "NotFound",
    "PayloadTooLarge",
    "PhantomError",
    "QuotaExceeded",
    "Unauthenticated",
    "Unavailable",
    "VersionConflict",
    "problem_body",
]

PROBLEM_TYPE_BASE = "https://phantom.dev/problems/"
"""Every problem ``type`` is this URL followed by the error's ``code``."""


class PhantomError(Exception):
    """Base of every error Phantom raises on purpose.

    Attributes:
        code: a stable machine-readable code, also the tail of the problem ``type``.
        status: the HTTP status the gateway answers with.
        title: a short human summary that does not change between occurrences.
        detail: what happened this time.
        extra: additional problem members (JSON-serialisable), such as ``errors``.
    """

    code: ClassVar[str] = "internal-error"
    status: ClassVar[int] = 500
    title: ClassVar[str] = "Internal error"

    def __init__(self, detail: str | None = None, **extra: object) -> None:
        self.detail = detail or self.title
        self.extra: dict[str, object] = extra
        super().__init__(self.detail)


class InvalidInput(PhantomError):
    """The request or command is malformed or fails validation."""

    code = "invalid-input"
    status = 422
    title = "Invalid input"


class InvalidField(InvalidInput):
    """One named field failed validation.

    The problem body carries ``errors: [{loc: [field], msg, type}]``, the shape the
    gateway uses for request validation errors; the offending value is never echoed.

    Attributes:
        field: the name of the field that failed.
    """

    code = "invalid-field"
    title = "Invalid field"

    def __init__(self, field: str, message: str) -> None:
        super().__init__(
            f"{field}: {message}",
            errors=[{"loc": [field], "msg": message, "type": "value_error"}],
        )
        self.field = field


class PayloadTooLarge(InvalidInput):
    """The request body exceeds the configured limit."""

    code = "payload-too-large"
    status = 413
    title = "Payload too large"


class Unauthenticated(PhantomError):
    """No valid credentials were presented."""

    code = "unauthenticated"
    status = 401
    title = "Authentication required"


class Forbidden(PhantomError):
    """The principal may not do this."""

    code = "forbidden"
    status = 403
    title = "Forbidden"


class NotFound(PhantomError):
    """The thing asked for does not exist (or is not visible to this tenant)."""

    code = "not-found"
    status = 404
    title = "Not found"


class Conflict(PhantomError):
    """The change conflicts with the current state."""

    code = "conflict"
    status = 409
    title = "Conflict"


class VersionConflict(Conflict):
    """An append's expected version did not match the stream's current version."""

    code = "version-conflict"
    status = 409
    title = "Version conflict"


class QuotaExceeded(PhantomError):
    """A quota or rate limit refused the change."""

    code = "quota-exceeded"
    status = 429
    title = "Quota exceeded"


class Unavailable(PhantomError):
    """A backing service is unreachable or overloaded; retrying later may succeed."""

    code = "unavailable"
    status = 503
    title = "Service unavailable"


class ConfigError(PhantomError):
    """Settings are invalid (an unknown URL scheme, a missing driver, ...)."""

    code = "config-error"
    status = 500
    title = "Configuration error"


def problem_body(
    error: PhantomError,
    *,
    instance: str | None = None,
    request_id: str | None = None,
) -> dict[str, object]:
    """Render ``error`` as an RFC 9457 problem details object."""
    body: dict[str, object] = {
        "type": PROBLEM_TYPE_BASE + error.code,
        "title": error.title,
        "status": error.status,
        "detail": error.detail,
        "code": error.code,
    }
    if instance is not None:
        body["instance"] = instance
    if request_id is not None:
        body["request_id"] = request_id
    extra: Mapping[str, object] = error.extra
    for key, value in extra.items():
        body.setdefault(key, value)
    return body
