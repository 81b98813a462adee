"""The same request with and without the access layer, in one process.

``wrk`` against ``/healthz`` and an authenticated route compares two different
handlers: the difference holds FastAPI's dependency solving and the route's
response model as well as authentication. This module isolates authentication.

It builds the gateway with :func:`phantom.gateway.app.create_app` (embedded
defaults, the caller's ``PHANTOM_HOME``), runs its lifespan, and drives the ASGI
application directly (no sockets, no HTTP parser), alternating two variants of
the same request:

* **guarded**: the product's stack, :class:`~phantom.gateway.access.AccessMiddleware`
  included: credential parsing, the verified-key cache, the policy lookup, the
  tenant's rate-limit bucket, the permission check, counting the allowed decision
  for the audit trail, the tenant bound into the log context;
* **trusted**: the same stack with the access middleware swapped for a shim that
  puts the already-authenticated principal where the route's ``require`` reads
  it, and forwards.

Everything else — the other middlewares, routing, the handler, its database read,
the response model — is the same code on the same data. ``guarded - trusted`` is
what authentication and access control add to that request.
"""

from __future__ import annotations

import asyncio
import statistics
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

from phantom.gateway.access import AccessMiddleware
from phantom.gateway.app import create_app
from phantom.gateway.auth import credential_of
from phantom.kernel.logging import configure_logging
from phantom.kernel.settings import Settings
from phantom.testing.asgi import running

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["Split", "measure_split"]

_WARMUP: Final = 300
_VARIANTS: Final = ("guarded", "trusted")


@dataclass(frozen=True, slots=True)
class Split:
    """One route's time per request, guarded and trusted (microseconds)."""

    route: str
    guarded_us: list[float]
    trusted_us: list[float]

    def summary(self) -> dict[str, float]:
        """Medians over rounds: guarded, trusted, and their paired difference."""
        diffs = [g - t for g, t in zip(self.guarded_us, self.trusted_us, strict=True)]
        return {
            "guarded_us": round(statistics.median(self.guarded_us), 1),
            "trusted_us": round(statistics.median(self.trusted_us), 1),
            "difference_us": round(statistics.median(diffs), 1),
        }


def _scope(path: str, authorization: bytes) -> Scope:
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "root_path": "",
        "query_string": b"",
        "headers": [(b"host", b"bench"), (b"authorization", authorization)],
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 80),
        "state": {},
    }


async def _receive() -> Message:
    return {"type": "http.request", "body": b"", "more_body": False}


def _access_layer(app: ASGIApp) -> tuple[Any, AccessMiddleware]:
    """The middleware wrapping the access layer, and the access layer itself."""
    parent: Any = None
    node: Any = app
    while not isinstance(node, AccessMiddleware):
        parent, node = node, getattr(node, "app", None)
        if node is None:
            msg = "the gateway's stack holds no AccessMiddleware"
            raise RuntimeError(msg)
    return parent, node


class _Bench:
    """One app, one key, the two variants of its access layer."""

    def __init__(self, app: Any, key: str) -> None:
        self.app = app
        self.authorization = f"Bearer {key}".encode()
        self.statuses: list[int] = []
        self.parent: Any = None
        self.variants: dict[str, ASGIApp] = {}

    async def send(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            self.statuses.append(int(message["status"]))

    async def call(self, path: str) -> None:
        await self.app(_scope(path, self.authorization), _receive, self.send)

    async def prepare(self, route: str) -> None:
        await self.call(route)  # builds the middleware stack
        self.parent, access = _access_layer(self.app.middleware_stack)
        authenticator = access.control.authenticator
        if authenticator is None:
            msg = "this deployment has no tenancy context to authenticate with"
            raise RuntimeError(msg)
        credential = credential_of(
            {"headers": [(b"authorization", self.authorization)]}
        )
        principal = authenticator.authenticate(credential)

        async def trusted(scope: Scope, receive: Receive, send: Send) -> None:
            state = scope.setdefault("state", {})
            state["principal"], state["tenant_id"] = principal, principal.tenant_id
            await access.app(scope, receive, send)

        self.variants = {"guarded": access, "trusted": trusted}

    async def time(self, route: str, variant: str, requests: int) -> float:
        """Microseconds per request of ``route`` through ``variant``."""
        self.parent.app = self.variants[variant]
        try:
            for _ in range(_WARMUP):
                await self.call(route)
            self.statuses.clear()
            started = time.perf_counter()
            for _ in range(requests):
                await self.call(route)
            elapsed = time.perf_counter() - started
        finally:
            self.parent.app = self.variants["guarded"]
        if set(self.statuses) != {200}:
            msg = f"{route} ({variant}) answered {sorted(set(self.statuses))}"
            raise RuntimeError(msg)
        return elapsed / requests * 1e6


def measure_split(
    key: str,
    routes: Sequence[str],
    *,
    requests: int,
    rounds: int,
    progress: Callable[[str], None],
) -> list[Split]:
    """Time ``routes`` guarded and trusted, in this process.

    The caller sets ``PHANTOM_*`` in the environment first (the same home and
    settings as the server the ``wrk`` phase runs).

    Args:
        key: an API key of a user allowed to call every route.
        routes: GET routes that answer 200 to that key.
        requests: requests per variant per round.
        rounds: rounds; variants alternate their order from round to round.
        progress: called with one line per round.
    """
    settings = Settings()
    configure_logging(settings)

    async def go() -> list[Split]:
        app = create_app(settings)
        async with running(app):
            bench = _Bench(app, key)
            await bench.prepare(routes[0])
            results = []
            for route in routes:
                timings: dict[str, list[float]] = {"guarded": [], "trusted": []}
                for round_ in range(rounds):
                    order = _VARIANTS if round_ % 2 == 0 else _VARIANTS[::-1]
                    for variant in order:
                        timings[variant].append(
                            await bench.time(route, variant, requests)
                        )
                    progress(
                        f"[{round_ + 1}/{rounds}] {route}: "
                        f"guarded {timings['guarded'][-1]:.1f} us, "
                        f"trusted {timings['trusted'][-1]:.1f} us"
                    )
                results.append(Split(route, timings["guarded"], timings["trusted"]))
            return results

    return asyncio.run(go())
