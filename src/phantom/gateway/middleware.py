"""Pure-ASGI middlewares of the gateway: request context, body limit, metrics.

They wrap the application in this order, outermost first::

    HttpMetricsMiddleware      counts every answer, by method, route template, status
    RequestContextMiddleware   request id, trace id, access log, 500 for the unhandled
    BodyLimitMiddleware        413 for bodies over ``max_body_bytes``, even streamed
    (FastAPI: exception handlers, routes)

None of them reads a request body into memory, and none uses Starlette's
``BaseHTTPMiddleware`` (which buffers and breaks context variables).
"""

from __future__ import annotations

import logging
import re
import time
from typing import TYPE_CHECKING, Final

import structlog
from prometheus_client import CollectorRegistry, Counter, Histogram

from phantom.gateway.problems import internal_error_response, problem_response
from phantom.kernel.errors import PayloadTooLarge
from phantom.kernel.ids import uuid7

if TYPE_CHECKING:
    from collections.abc import Callable

    from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = [
    "REQUEST_ID_HEADER",
    "BodyLimitMiddleware",
    "HttpMetrics",
    "HttpMetricsMiddleware",
    "RequestContextMiddleware",
]

log = structlog.get_logger(__name__)
_stdlib_log = logging.getLogger(__name__)

REQUEST_ID_HEADER: Final = "x-request-id"
_REQUEST_ID_RE: Final = re.compile(r"[A-Za-z0-9._-]{1,128}")
_TRACEPARENT_RE: Final = re.compile(
    r"([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(-.*)?"
)
_QUIET_PATHS: Final = frozenset({"/healthz", "/readyz", "/metrics"})
_METHODS: Final = frozenset(
    {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"}
)


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", ()):
        if key.lower() == name:
            return bytes(value).decode("latin-1")
    return None


def _request_id(scope: Scope) -> str:
    inbound = _header(scope, REQUEST_ID_HEADER.encode())
    if inbound is not None and _REQUEST_ID_RE.fullmatch(inbound):
        return inbound
    return str(uuid7())


def _trace_id(scope: Scope) -> str | None:
    """The trace id of a valid W3C ``traceparent`` header, if there is one."""
    header = _header(scope, b"traceparent")
    match = _TRACEPARENT_RE.fullmatch(header.strip()) if header else None
    if match is None:
        return None
    version, trace_id, parent_id = match.group(1), match.group(2), match.group(3)
    if version == "ff" or set(trace_id) == {"0"} or set(parent_id) == {"0"}:
        return None
    if version == "00" and match.group(5):
        return None
    return trace_id


class RequestContextMiddleware:
    """Gives every request an id, binds it for logging and answers unhandled errors.

    * A sane inbound ``X-Request-ID`` (1-128 of ``[A-Za-z0-9._-]``) is kept, any
      other is replaced by a new UUIDv7; the id is echoed on every response and
      stored in ``scope["state"]["request_id"]``.
    * ``request_id`` and the ``traceparent`` trace id (as ``trace_id``) are bound in
      ``structlog.contextvars`` while the request runs.
    * An exception nothing handled becomes a logged 500 problem+json.
    * One ``http.request`` log line per request (debug level for probes); it
      carries ``tenant_id`` when authentication stored one in
      ``scope["state"]["tenant_id"]`` (the route's own ``tenant_id`` binding lives
      in a copied context the middleware cannot see).
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Handle one connection (ASGI)."""
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        request_id = _request_id(scope)
        scope.setdefault("state", {})["request_id"] = request_id
        context: dict[str, str] = {"request_id": request_id}
        if trace_id := _trace_id(scope):
            context["trace_id"] = trace_id
        tokens = structlog.contextvars.bind_contextvars(**context)
        try:
            if scope["type"] == "http":
                await self._http(scope, receive, send, request_id)
            else:
                await self.app(scope, receive, send)
        finally:
            structlog.contextvars.reset_contextvars(**tokens)

    async def _http(
        self, scope: Scope, receive: Receive, send: Send, request_id: str
    ) -> None:
        started = time.perf_counter()
        status = 0
        header = (REQUEST_ID_HEADER.encode(), request_id.encode())

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
                message["headers"] = [*message.get("headers", ()), header]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        except Exception as exc:
            if status:  # the response began: all we can do is drop the connection
                raise
            await internal_error_response(scope, exc)(scope, receive, send_with_id)
        finally:
            self._log(scope, status, time.perf_counter() - started)

    @staticmethod
    def _log(scope: Scope, status: int, seconds: float) -> None:
        path = str(scope.get("path", ""))
        level = logging.DEBUG if path in _QUIET_PATHS else logging.INFO
        if not _stdlib_log.isEnabledFor(level):
            return  # one access line per request: skip building it when filtered
        emit = log.debug if level == logging.DEBUG else log.info
        state = scope.get("state")
        tenant_id = state.get("tenant_id") if isinstance(state, dict) else None
        emit(
            "http.request",
            method=scope.get("method"),
            path=path,
            status=status or 500,
            duration_ms=round(seconds * 1000, 3),
            **({"tenant_id": tenant_id} if isinstance(tenant_id, str) else {}),
        )


class _BodyTooLargeError(Exception):
    """Raised to the application when the body it reads grows past the limit."""


class _LimitedExchange:
    """One request's receive/send pair, counting the body it lets through."""

    def __init__(
        self,
        middleware: BodyLimitMiddleware,
        scope: Scope,
        receive: Receive,
        send: Send,
    ) -> None:
        self.middleware = middleware
        self.limit = middleware.limit_for(scope)
        self.scope = scope
        self._receive = receive
        self._send = send
        self.received = 0
        self.exceeded = False
        self.started = False
        self.rejected = False

    async def receive(self) -> Message:
        if self.exceeded:
            raise _BodyTooLargeError
        message = await self._receive()
        if message["type"] == "http.request":
            self.received += len(message.get("body", b""))
            if self.received > self.limit:
                self.exceeded = True
                raise _BodyTooLargeError
        return message

    async def send(self, message: Message) -> None:
        if self.exceeded:  # the application's answer is replaced by the 413
            if message["type"] == "http.response.start":
                await self.reject()
            return
        self.started = self.started or message["type"] == "http.response.start"
        await self._send(message)

    async def reject(self) -> None:
        if not self.rejected:
            self.rejected = True
            await self.middleware.reject(
                self.scope, self._receive, self._send, self.limit
            )


class BodyLimitMiddleware:
    """Answers 413 problem+json for request bodies larger than ``max_bytes``.

    A ``Content-Length`` over the limit is refused before the application runs. A
    body without one (chunked) is counted as the application reads it: past the
    limit, the read raises, and whatever the application answers is replaced by the
    413. The body is never buffered here. Requests that ``is_upload`` recognises
    (routes taking a file as their body) get ``upload_max_bytes`` instead.
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        max_bytes: int,
        upload_max_bytes: int | None = None,
        is_upload: Callable[[Scope], bool] | None = None,
    ) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.upload_max_bytes = upload_max_bytes or max_bytes
        self.is_upload = is_upload

    def limit_for(self, scope: Scope) -> int:
        """The body limit of this request."""
        if self.is_upload is not None and self.is_upload(scope):
            return self.upload_max_bytes
        return self.max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Run the application with the body limit enforced (ASGI)."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        length = _header(scope, b"content-length")
        limit = self.limit_for(scope)
        if length and length.strip().isdigit() and int(length) > limit:
            await self.reject(scope, receive, send, limit)
            return
        exchange = _LimitedExchange(self, scope, receive, send)
        try:
            await self.app(scope, exchange.receive, exchange.send)
        except Exception:
            if not exchange.exceeded or exchange.started:
                raise
        if exchange.exceeded:
            await exchange.reject()

    async def reject(
        self, scope: Scope, receive: Receive, send: Send, limit: int
    ) -> None:
        """Answer the 413 problem (and ask the server to close the connection)."""
        error = PayloadTooLarge(
            f"The request body exceeds the limit of {limit} bytes.",
            max_bytes=limit,
        )
        # The rest of the body is never read, so the connection cannot be reused.
        response = problem_response(error, scope, headers={"connection": "close"})
        await response(scope, receive, send)


class HttpMetrics:
    """The gateway's request metrics, registered on one (per-app) registry."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.registry = registry
        labels = ("method", "route", "status")
        self.requests = Counter(
            "phantom_http_requests",
            "HTTP requests answered, by method, route template and status.",
            labels,
            registry=registry,
        )
        self.duration = Histogram(
            "phantom_http_request_duration_seconds",
            "Time to answer HTTP requests, by method, route template and status.",
            labels,
            registry=registry,
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5),
        )

    def observe(self, method: str, route: str, status: int, seconds: float) -> None:
        """Record one answered request."""
        label = method if method in _METHODS else "OTHER"
        self.requests.labels(label, route, str(status)).inc()
        self.duration.labels(label, route, str(status)).observe(seconds)


def _route_template(scope: Scope) -> str:
    """The matched route's path template; unmatched paths share one label."""
    route = scope.get("route")
    path = getattr(route, "path_format", None) or getattr(route, "path", None)
    return path if isinstance(path, str) else "<unmatched>"


class HttpMetricsMiddleware:
    """Counts requests and their latency by method, route template and status."""

    def __init__(self, app: ASGIApp, *, metrics: HttpMetrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Handle one connection, observing HTTP requests (ASGI)."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def send_and_watch(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, send_and_watch)
        finally:
            self.metrics.observe(
                str(scope.get("method", "")),
                _route_template(scope),
                status,
                time.perf_counter() - started,
            )
