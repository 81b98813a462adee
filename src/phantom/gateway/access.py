"""The access middleware: the policy table enforced before any route runs.

For each HTTP request it finds the route the router will pick, looks up its
:class:`~phantom.gateway.policy.Rule`, and then, for anything but ``public``:

1. authenticates the caller (:mod:`phantom.gateway.auth`) → 401 problem with a
   ``WWW-Authenticate`` challenge, recorded as ``auth.denied``;
2. binds ``tenant_id`` into the log context and stores the principal in
   ``request.state.principal`` (``require`` reads it there);
3. takes a token from the tenant's bucket (:mod:`phantom.gateway.ratelimit`) →
   429 problem with ``Retry-After``, recorded as ``ratelimit.denied``;
4. checks the rule's permission → 403 problem, recorded as ``authz.denied``;
5. calls the route, through :class:`~phantom.gateway.idempotency.IdempotencyStore`
   when the rule is idempotent and the POST has an ``Idempotency-Key``;
6. records a 403 or 404 the route answered (``authz.denied``,
   ``authz.not_found``): another tenant's ids are 404s, and probing them shows
   up in the caller's audit trail.

Unmatched paths and wrong methods go straight to the router (404, 405). It runs
inside the body limit, so an idempotent request's body is bounded too.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING, Final

import structlog
from fastapi.routing import RouteContext
from starlette.concurrency import run_in_threadpool
from starlette.routing import BaseRoute, Match, Mount

from phantom.audit.api import AuditResource
from phantom.gateway.auth import (
    CHALLENGE,
    Authenticator,
    Credential,
    CredentialsRefused,
    PermissionMissing,
    credential_of,
)
from phantom.gateway.decisions import Decisions, actor_of
from phantom.gateway.idempotency import IdempotencyStore, Replay, idempotency_key_of
from phantom.gateway.policy import RouteKey, Rule, mounted_routes, rule_for
from phantom.gateway.problems import problem_response
from phantom.gateway.ratelimit import RateLimited, RateLimiter, retry_after
from phantom.kernel.errors import PhantomError, Unauthenticated, Unavailable

if TYPE_CHECKING:
    from starlette.types import ASGIApp, Message, Receive, Scope, Send

    from phantom.tenancy.api import Principal

__all__ = ["AccessControl", "AccessMiddleware"]

log = structlog.get_logger(__name__)

_INVALID_CHALLENGE: Final = f'{CHALLENGE}, error="invalid_token"'
_RECORDED_STATUSES: Final = {403: "authz.denied", 404: "authz.not_found"}
_RECENT_PATHS: Final = 4096
"""How many (method, path) → route matches are remembered (the hot paths)."""


@dataclass(frozen=True, slots=True)
class AccessControl:
    """What the access middleware needs, built once by ``create_app``.

    Attributes:
        routes: the application's routes (the live list: routes added later count).
        policy: the policy table.
        authenticator: resolves credentials; ``None`` when the deployment has no
            tenancy context (every non-public route is then a 503).
        limiter: the per-tenant rate limiter.
        idempotency: where idempotent answers are kept.
        decisions: records denials in the audit trail.
        blocking_cache: whether cache calls do network I/O (run in a thread).
    """

    routes: Sequence[BaseRoute]
    policy: Mapping[RouteKey, Rule]
    authenticator: Authenticator | None
    limiter: RateLimiter
    idempotency: IdempotencyStore
    decisions: Decisions
    blocking_cache: bool


@dataclass(frozen=True, slots=True)
class _Call:
    """One guarded request: its route template, path parameters and rule."""

    method: str
    template: str
    params: Mapping[str, object]
    rule: Rule

    def details(self) -> dict[str, str]:
        return {"method": self.method, "route": self.template}

    def resource(self) -> AuditResource:
        ids = [str(value)[:200] for value in self.params.values()]
        return AuditResource(type=self.template, id=ids[-1] if ids else None)


@dataclass(frozen=True, slots=True)
class _Exchange:
    """One guarded request: what it calls, and its ASGI channels."""

    call: _Call
    scope: Scope
    receive: Receive
    send: Send

    async def answer(
        self, error: PhantomError, headers: Mapping[str, str] | None = None
    ) -> None:
        response = problem_response(error, self.scope, headers=headers)
        await response(self.scope, self.receive, self.send)


class AccessMiddleware:
    """Enforces the policy table (see the module docstring); pure ASGI."""

    def __init__(self, app: ASGIApp, *, control: AccessControl) -> None:
        self.app = app
        self.control = control
        self._flat: list[RouteContext] = []
        self._flat_key: tuple[int, ...] = ()
        self._recent: OrderedDict[tuple[str, str, str], _Call | None] = OrderedDict()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Handle one connection (ASGI)."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        call = self._match(scope)
        if call is None or call.rule.access == "public":
            await self.app(scope, receive, send)
            return
        await self._guarded(_Exchange(call, scope, receive, send))

    def _routes(self) -> list[RouteContext]:
        top = self.control.routes
        key = tuple(map(id, top))
        if key != self._flat_key:  # a route was added since: flatten again
            self._flat, self._flat_key = mounted_routes(top), key
            self._recent.clear()
        return self._flat

    def _match(self, scope: Scope) -> _Call | None:
        """The route the router will pick, remembered for recently seen paths."""
        routes = self._routes()
        seen = (
            str(scope.get("method", "GET")),
            str(scope.get("root_path", "")),
            str(scope.get("path", "")),
        )
        if seen in self._recent:
            self._recent.move_to_end(seen)
            return self._recent[seen]
        call = self._find(scope, routes)
        self._recent[seen] = call
        if len(self._recent) > _RECENT_PATHS:
            self._recent.popitem(last=False)
        return call

    def _find(self, scope: Scope, routes: list[RouteContext]) -> _Call | None:
        method = str(scope.get("method", "GET"))
        for route in routes:
            match, child = route.matches(scope)
            if match is not Match.FULL:
                continue
            path = str(route.path or "")
            if isinstance(route.original_route, Mount):
                rule = self.control.policy.get(("MOUNT", path))
            else:
                rule = rule_for(self.control.policy, method, path)
            if rule is None:  # a route added after the app was checked: fail closed
                log.error("gateway.route_without_policy", method=method, route=path)
                rule = Rule("permission", "unlisted-route")
            return _Call(method, path, dict(child.get("path_params", {})), rule)
        return None

    async def _guarded(self, ex: _Exchange) -> None:
        try:
            credential, principal = await self._authenticate(ex.scope)
        except Unauthenticated as exc:
            await self._refuse(ex, exc)
            return
        except PhantomError as exc:
            await ex.answer(exc)
            return
        state = ex.scope.setdefault("state", {})
        state["principal"], state["tenant_id"] = principal, principal.tenant_id
        tokens = structlog.contextvars.bind_contextvars(tenant_id=principal.tenant_id)
        try:
            await self._admitted(ex, credential, principal)
        finally:
            structlog.contextvars.reset_contextvars(**tokens)

    async def _authenticate(self, scope: Scope) -> tuple[Credential, Principal]:
        authenticator = self.control.authenticator
        if authenticator is None:
            msg = "this deployment serves no tenancy context to authenticate callers"
            raise Unavailable(msg)
        credential = credential_of(scope)
        return credential, await authenticator.verify(credential)

    async def _admitted(
        self, ex: _Exchange, credential: Credential, principal: Principal
    ) -> None:
        wait = await self._wait(principal.tenant_id)
        if wait > 0:
            await self._deny(ex.call, principal, "ratelimit.denied", {"wait_s": wait})
            limited = RateLimited("This tenant is over its request rate; retry later.")
            await ex.answer(limited, {"Retry-After": retry_after(wait)})
            return
        needed = ex.call.rule.permission
        if needed is not None and not principal.has(needed):
            await self._deny(ex.call, principal, "authz.denied", {"permission": needed})
            message = f"this needs the {needed!r} permission"
            await ex.answer(PermissionMissing(message, permission=needed))
            return
        self.control.decisions.allow(
            tenant_id=principal.tenant_id,
            key_id=principal.key_id or principal.actor().id,
            action=f"authz.allowed {ex.call.method} {ex.call.template}",
        )
        try:
            status = await self._call(ex, credential, principal)
        except PhantomError as exc:  # an idempotency refusal
            await ex.answer(exc)
            return
        action = _RECORDED_STATUSES.get(status)
        if action is not None:
            await self._deny(ex.call, principal, action, {"status": status})

    async def _call(
        self, ex: _Exchange, credential: Credential, principal: Principal
    ) -> int:
        key = idempotency_key_of(ex.scope) if ex.call.rule.idempotent else None
        if key is None or ex.call.method != "POST":
            return await _forward(self.app, ex.scope, ex.receive, ex.send)
        replay_for = partial(
            Replay.of,
            tenant_id=principal.tenant_id,
            key=key,
            credential_digest=credential.digest(),
            method=ex.call.method,
            path=str(ex.scope.get("path", "")),
            query=bytes(ex.scope.get("query_string", b"")),
        )
        return await self.control.idempotency.serve(
            self.app, ex.scope, ex.receive, ex.send, replay_for
        )

    async def _wait(self, tenant_id: str) -> float:
        wait = self.control.limiter.wait
        if self.control.blocking_cache:
            return await run_in_threadpool(wait, tenant_id)
        return wait(tenant_id)

    async def _deny(
        self,
        call: _Call,
        principal: Principal,
        action: str,
        extra: Mapping[str, str | float | int],
    ) -> None:
        await run_in_threadpool(
            partial(
                self.control.decisions.deny,
                tenant_id=principal.tenant_id,
                action=action,
                actor=actor_of(principal),
                key_id=principal.key_id,
                resource=call.resource(),
                details={**call.details(), **extra},
            )
        )

    async def _refuse(self, ex: _Exchange, exc: Unauthenticated) -> None:
        reason = str(getattr(exc, "reason", "refused"))
        context = {
            str(k): str(v)[:100] for k, v in dict(getattr(exc, "context", {})).items()
        }
        tenant_id = context.pop("tenant_id", None)
        if reason == "unknown-tenant":
            tenant_id = None  # a token naming a tenant that does not exist
        presented = bool(getattr(exc, "presented", True))
        via = _via(ex.scope) if presented else "none"
        log.info("gateway.auth.refused", reason=reason, via=via, **ex.call.details())
        await run_in_threadpool(
            partial(
                self.control.decisions.deny,
                tenant_id=tenant_id,
                action="auth.denied",
                actor=actor_of(None, via),
                key_id=context.get("prefix"),
                resource=ex.call.resource(),
                details={**ex.call.details(), "reason": reason, **context},
            )
        )
        challenge = _INVALID_CHALLENGE if presented else CHALLENGE
        refused = CredentialsRefused(reason, presented=presented)
        await ex.answer(refused, {"WWW-Authenticate": challenge})


def _via(scope: Scope) -> str:
    try:
        return credential_of(scope).kind
    except CredentialsRefused:
        return "malformed"


async def _forward(app: ASGIApp, scope: Scope, receive: Receive, send: Send) -> int:
    status = 0

    async def watch(message: Message) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = int(message["status"])
        await send(message)

    await app(scope, receive, watch)
    return status
