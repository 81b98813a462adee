"""Authentication at the gateway: credentials → :class:`Principal`, and ``require``.

* ``Authorization: Bearer phk_...`` or ``X-API-Key: phk_...`` is an API key,
  checked by :meth:`PrincipalResolver.authenticate_key`; any other bearer value
  is a JWT, checked by :meth:`PrincipalResolver.authenticate_token`.
* Every refusal is a 401 problem with the same generic detail and a
  ``WWW-Authenticate: Bearer`` challenge; the reason is logged and audited
  (:mod:`phantom.gateway.access`), never shown.
* :class:`Authenticator` keeps verified credentials for at most a second (a
  bounded LRU keyed by the credential's SHA-256, never the credential itself), so
  a revoked key, a disabled user or tenant stops working within a second while a
  busy key costs one lookup a second. :meth:`Authenticator.verify` shares one
  lookup between concurrent requests with the same credential (single flight)
  and refreshes a busy credential in the background during the second half of
  its TTL, so a hot key never makes requests wait for the database.
* :func:`require` is the FastAPI dependency factory routes use to get the caller:
  ``caller: Annotated[Principal, Depends(require("users:read"))]``.
"""

from __future__ import annotations

import asyncio
import hashlib
import threading
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from functools import partial
from typing import TYPE_CHECKING, Final, Literal

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request

from phantom.gateway.problems import CHALLENGE
from phantom.kernel.errors import Forbidden, Unauthenticated
from phantom.tenancy.api import Principal, PrincipalResolver

if TYPE_CHECKING:
    from starlette.types import Scope

__all__ = [
    "API_KEY_HEADER",
    "API_KEY_PREFIX",
    "CHALLENGE",
    "Authenticator",
    "Credential",
    "CredentialsRefused",
    "PermissionMissing",
    "credential_of",
    "principal_of",
    "require",
]

API_KEY_HEADER: Final = "x-api-key"
API_KEY_PREFIX: Final = "phk_"
_MAX_CREDENTIAL: Final = 8192
_DEFAULT_MAX_ENTRIES: Final = 10_000

CredentialKind = Literal["api_key", "token"]


class CredentialsRefused(Unauthenticated):
    """Credentials were missing, malformed or not accepted.

    The detail is generic; ``reason`` and ``context`` are for the log and the
    audit trail only (never a secret).

    Attributes:
        reason: why, e.g. ``missing``, ``unsupported-scheme``, ``revoked``.
        context: identifiers safe to log (key prefix, tenant id, kid).
        presented: whether the caller presented any credential at all.
    """

    MISSING_DETAIL: Final = "This route needs an API key or a bearer token."
    GENERIC_DETAIL: Final = "The credentials were not accepted."

    def __init__(
        self,
        reason: str,
        *,
        presented: bool = True,
        context: dict[str, str] | None = None,
    ) -> None:
        super().__init__(self.GENERIC_DETAIL if presented else self.MISSING_DETAIL)
        self.reason = reason
        self.presented = presented
        self.context = dict(context or {})


class PermissionMissing(Forbidden):
    """The caller is authenticated but lacks the route's permission."""

    code = "permission-denied"
    title = "Permission denied"


@dataclass(frozen=True, slots=True)
class Credential:
    """A presented credential (its value never appears in ``repr`` or logs).

    Attributes:
        kind: ``api_key`` or ``token``.
        value: the key or token as presented.
    """

    kind: CredentialKind
    value: str = field(repr=False)

    def digest(self) -> bytes:
        """SHA-256 of the value: how caches name the credential."""
        return hashlib.sha256(self.value.encode("utf-8", "surrogatepass")).digest()


def _header_values(scope: Scope, name: bytes) -> list[str]:
    return [
        bytes(value).decode("latin-1")
        for key, value in scope.get("headers", ())
        if bytes(key).lower() == name
    ]


def _bearer(header: str) -> Credential:
    scheme, _, value = header.strip().partition(" ")
    if scheme.lower() != "bearer":
        raise CredentialsRefused("unsupported-scheme")
    value = value.strip()
    if not value:
        raise CredentialsRefused("empty-credential")
    kind: CredentialKind = "api_key" if value.startswith(API_KEY_PREFIX) else "token"
    return Credential(kind, value)


def credential_of(scope: Scope) -> Credential:
    """The credential presented with the request in ``scope``.

    Raises:
        CredentialsRefused: none was presented (``presented`` false), the
            ``Authorization`` scheme is not Bearer, a header is repeated, the
            two headers disagree, or the value is empty or oversized.
    """
    authorizations = _header_values(scope, b"authorization")
    api_keys = _header_values(scope, API_KEY_HEADER.encode())
    if not authorizations and not api_keys:
        raise CredentialsRefused("missing", presented=False)
    if len(authorizations) > 1 or len(api_keys) > 1:
        raise CredentialsRefused("repeated-header")
    found = [_bearer(header) for header in authorizations]
    found += [Credential("api_key", value.strip()) for value in api_keys]
    if len({credential.value for credential in found}) > 1:
        raise CredentialsRefused("ambiguous-credentials")
    credential = found[0]
    if not credential.value:
        raise CredentialsRefused("empty-credential")
    if len(credential.value) > _MAX_CREDENTIAL:
        raise CredentialsRefused("oversized-credential")
    return credential


class Authenticator:
    """Resolves credentials to principals, remembering successes briefly.

    Args:
        resolver: the tenancy context's :class:`PrincipalResolver`.
        ttl: seconds a verified credential is reused (``0`` disables the cache).
        max_entries: the most credentials remembered (least recently used go).
        time_fn: a monotonic clock (tests inject their own).
    """

    def __init__(
        self,
        resolver: PrincipalResolver,
        *,
        ttl: float,
        max_entries: int = _DEFAULT_MAX_ENTRIES,
        time_fn: Callable[[], float] = time.monotonic,
    ) -> None:
        self._resolver = resolver
        self._ttl = ttl
        self._max_entries = max_entries
        self._time_fn = time_fn
        self._entries: OrderedDict[bytes, tuple[Principal, float]] = OrderedDict()
        self._lock = threading.Lock()
        self._flights: dict[tuple[int, bytes], asyncio.Future[Principal]] = {}

    def cached(self, credential: Credential) -> Principal | None:
        """The principal verified for ``credential`` less than ``ttl`` ago."""
        return self._lookup(credential.digest())[0]

    async def verify(self, credential: Credential) -> Principal:
        """The principal for ``credential``, from the cache or one shared lookup.

        Concurrent callers presenting the same credential while it is not cached
        wait on a single :meth:`authenticate` run in the thread pool (its
        refusal reaches every one of them). A cached credential past half its
        TTL is returned at once and refreshed in the background, so its entry
        never lapses while it is in use; a refusal on refresh drops it.

        Raises:
            Unauthenticated: the resolver refused it.
        """
        digest = credential.digest()
        principal, stale = self._lookup(digest)
        if principal is None:
            return await asyncio.shield(self._flight(credential, digest))
        if stale:
            self._flight(credential, digest)
        return principal

    def _lookup(self, digest: bytes) -> tuple[Principal | None, bool]:
        """The cached principal, and whether it is due for a refresh."""
        if self._ttl <= 0:
            return None, False
        now = self._time_fn()
        with self._lock:
            entry = self._entries.get(digest)
            if entry is None:
                return None, False
            principal, deadline = entry
            if deadline <= now:
                del self._entries[digest]
                return None, False
            self._entries.move_to_end(digest)
            return principal, deadline - now < self._ttl / 2

    def _flight(
        self, credential: Credential, digest: bytes
    ) -> asyncio.Future[Principal]:
        """The lookup in progress for ``digest`` on this event loop, or a new one."""
        loop = asyncio.get_running_loop()
        key = (id(loop), digest)
        flight = self._flights.get(key)
        if flight is None or flight.get_loop() is not loop:
            flight = loop.create_task(run_in_threadpool(self.authenticate, credential))
            self._flights[key] = flight
            flight.add_done_callback(partial(self._landed, key))
        return flight

    def _landed(
        self, key: tuple[int, bytes], flight: asyncio.Future[Principal]
    ) -> None:
        if self._flights.get(key) is flight:
            del self._flights[key]
        if flight.cancelled():
            return
        if isinstance(flight.exception(), Unauthenticated):
            with self._lock:
                self._entries.pop(key[1], None)

    def authenticate(self, credential: Credential) -> Principal:
        """Verify ``credential`` with the resolver (blocking: database reads).

        Raises:
            Unauthenticated: the resolver refused it (``reason`` on the error).
        """
        if credential.kind == "api_key":
            principal = self._resolver.authenticate_key(credential.value)
        else:
            principal = self._resolver.authenticate_token(credential.value)
        if self._ttl > 0:
            with self._lock:
                deadline = self._time_fn() + self._ttl
                self._entries[credential.digest()] = (principal, deadline)
                self._entries.move_to_end(credential.digest())
                while len(self._entries) > self._max_entries:
                    self._entries.popitem(last=False)
        return principal

    def forget(self) -> None:
        """Drop every remembered credential."""
        with self._lock:
            self._entries.clear()


def principal_of(request: Request) -> Principal:
    """The principal the gateway authenticated for ``request``.

    Raises:
        CredentialsRefused: the request was not authenticated.
    """
    principal = getattr(request.state, "principal", None)
    if not isinstance(principal, Principal):
        raise CredentialsRefused("missing", presented=False)
    return principal


def require(
    permission: str | None = None,
) -> Callable[[Request], Awaitable[Principal]]:
    """A FastAPI dependency returning the caller, who must hold ``permission``.

    Args:
        permission: the permission needed; ``None`` for any authenticated caller.

    Returns:
        An async dependency: 401 problem when the request is not authenticated,
        403 problem (recorded as a denial by the gateway) when the permission
        is missing, else the :class:`Principal`.
    """
    needed = None if permission is None else str(permission)

    async def dependency(request: Request) -> Principal:
        principal = principal_of(request)
        if needed is not None and not principal.has(needed):
            msg = f"this needs the {needed!r} permission"
            raise PermissionMissing(msg, permission=needed)
        return principal

    dependency.__name__ = f"require_{needed or 'authenticated'}".replace(":", "_")
    return dependency
