"""What the SDK raises, one tree.

::

    PhantomSdkError
    ├── ConfigurationError      no server URL or API key, or an unsafe profile file
    ├── ServerUnreachable       no connection, a dropped one, or a timeout
    └── ApiError                the server answered with a problem (RFC 9457)
        ├── ValidationError     400, 413, 422
        ├── AuthError           401, 403
        ├── NotFoundError       404 (also another tenant's ids)
        ├── ConflictError       409
        ├── RateLimitedError    429 (``retry_after`` seconds, when the server said)
        └── ServerError         5xx

:func:`error_from_response` builds the right :class:`ApiError` from any answer:
a problem+json body gives its members, anything else (a proxy's HTML page) its
status and a short excerpt.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from http import HTTPStatus
from typing import Final

import httpx

__all__ = [
    "ApiError",
    "AuthError",
    "ConfigurationError",
    "ConflictError",
    "NotFoundError",
    "PhantomSdkError",
    "RateLimitedError",
    "ServerError",
    "ServerUnreachable",
    "ValidationError",
    "error_from_response",
    "retry_after_seconds",
]

_EXCERPT_CHARS: Final = 300


class PhantomSdkError(Exception):
    """Base of every error the SDK raises on purpose."""


class ConfigurationError(PhantomSdkError):
    """The client cannot be configured: the message says what to set, and how."""


class ServerUnreachable(PhantomSdkError):
    """The server could not be reached, dropped the connection or timed out.

    Attributes:
        url: the server's base URL.
    """

    def __init__(self, url: str, reason: str) -> None:
        super().__init__(f"Phantom server at {url} is unreachable: {reason}")
        self.url = url
        self.reason = reason


class ApiError(PhantomSdkError):
    """The server answered with an error (a problem+json document).

    Attributes:
        status: the HTTP status.
        code: the problem's stable machine-readable code (``not-found``...).
        title: the short summary of that kind of problem.
        detail: what happened this time.
        errors: field errors (``{loc, msg, type}``) of a validation problem.
        request_id: the server's request id, to quote in a bug report.
    """

    def __init__(  # noqa: PLR0913, PLR0917 - a problem document's members, in order
        self,
        status: int,
        code: str,
        title: str,
        detail: str,
        errors: Sequence[Mapping[str, object]] = (),
        request_id: str | None = None,
    ) -> None:
        self.status = status
        self.code = code
        self.title = title
        self.detail = detail
        self.errors: list[Mapping[str, object]] = list(errors)
        self.request_id = request_id
        super().__init__(self._message())

    def _message(self) -> str:
        text = f"{self.status} {self.title} ({self.code}): {self.detail}"
        for error in self.errors[:5]:
            where = ".".join(str(part) for part in _as_list(error.get("loc")))
            text += f"\n  {where or '-'}: {error.get('msg', '')}"
        if self.request_id:
            text += f" [request {self.request_id}]"
        return text


class ValidationError(ApiError):
    """The request was refused as invalid (400 malformed, 413 too large, 422)."""


class AuthError(ApiError):
    """The credential is missing or invalid (401), or may not do this (403)."""


class NotFoundError(ApiError):
    """Nothing by that id or name, or not visible to the caller's tenant."""


class ConflictError(ApiError):
    """The change conflicts with the current state (a taken name, an ended run)."""


class RateLimitedError(ApiError):
    """A rate limit or quota refused the request.

    Attributes:
        retry_after: seconds the server asked to wait (``Retry-After``), if it said.
    """

    def __init__(  # noqa: PLR0913, PLR0917 - a problem's members, then the wait
        self,
        status: int,
        code: str,
        title: str,
        detail: str,
        errors: Sequence[Mapping[str, object]] = (),
        request_id: str | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(status, code, title, detail, errors, request_id)
        self.retry_after = retry_after


class ServerError(ApiError):
    """The server failed (5xx)."""


_BY_STATUS: Final[Mapping[int, type[ApiError]]] = {
    400: ValidationError,
    401: AuthError,
    403: AuthError,
    404: NotFoundError,
    409: ConflictError,
    413: ValidationError,
    422: ValidationError,
    429: RateLimitedError,
}


def _as_list(value: object) -> list[object]:
    return list(value) if isinstance(value, list | tuple) else []


def retry_after_seconds(response: httpx.Response) -> float | None:
    """The ``Retry-After`` header in seconds (delta-seconds form only), if any."""
    raw = response.headers.get("retry-after")
    if raw is None:
        return None
    try:
        seconds = float(raw)
    except ValueError:
        return None  # an HTTP date: rare from our gateway, so backoff decides
    return max(seconds, 0.0)


def _problem(response: httpx.Response) -> Mapping[str, object]:
    try:
        body = json.loads(response.content)
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def error_from_response(response: httpx.Response) -> ApiError:
    """The :class:`ApiError` subclass for an error answer (status ≥ 400)."""
    status = response.status_code
    body = _problem(response)
    try:
        phrase = HTTPStatus(status).phrase
    except ValueError:
        phrase = "HTTP error"
    excerpt = response.text[:_EXCERPT_CHARS].strip() if not body else ""
    code = body.get("code")
    title = body.get("title")
    detail = body.get("detail")
    request_id = body.get("request_id") or response.headers.get("x-request-id")
    errors = [e for e in _as_list(body.get("errors")) if isinstance(e, dict)]
    kind = _BY_STATUS.get(status, ServerError if status >= 500 else ApiError)
    members = (
        status,
        code if isinstance(code, str) else f"http-{status}",
        title if isinstance(title, str) else phrase,
        detail if isinstance(detail, str) else (excerpt or phrase),
        errors,
        request_id if isinstance(request_id, str) else None,
    )
    if kind is RateLimitedError:
        return RateLimitedError(*members, retry_after=retry_after_seconds(response))
    return kind(*members)
