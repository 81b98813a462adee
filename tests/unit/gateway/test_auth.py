"""Credentials from headers, the verified-credential cache, and ``require``."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace
from typing import Any

import pytest

from phantom.gateway.auth import (
    Authenticator,
    Credential,
    CredentialsRefused,
    PermissionMissing,
    credential_of,
    require,
)
from phantom.kernel.errors import Unauthenticated
from phantom.tenancy.api import Principal
from phantom.testing.contracts.cache import ManualTime

KEY = "phk_aaaaaaaaaa_" + "A" * 43
PRINCIPAL = Principal(
    tenant_id="t1",
    role="viewer",
    permissions=frozenset({"tenant:read"}),
    via="api_key",
    user_id="u1",
    key_id="k1",
)


def scope(*headers: tuple[str, str]) -> dict[str, Any]:
    return {"headers": [(k.lower().encode(), v.encode()) for k, v in headers]}


class CountingResolver:
    def __init__(self) -> None:
        self.calls: list[str] = []
        self.refuse = False

    def authenticate_key(self, plaintext: str) -> Principal:
        self.calls.append(plaintext)
        if self.refuse:
            raise Unauthenticated("no")
        return PRINCIPAL

    def authenticate_token(self, token: str) -> Principal:
        return self.authenticate_key(token)


@pytest.mark.parametrize(
    ("headers", "kind"),
    [
        ((("Authorization", f"Bearer {KEY}"),), "api_key"),
        ((("authorization", f"bearer   {KEY}  "),), "api_key"),
        ((("X-API-Key", KEY),), "api_key"),
        ((("Authorization", "Bearer a.b.c"),), "token"),
        ((("Authorization", f"Bearer {KEY}"), ("X-API-Key", KEY)), "api_key"),
    ],
)
def test_credentials_are_read_from_either_header(
    headers: tuple[tuple[str, str], ...], kind: str
) -> None:
    credential = credential_of(scope(*headers))
    assert credential.kind == kind
    assert KEY not in repr(credential)


def test_no_credentials_is_refused_as_not_presented() -> None:
    with pytest.raises(CredentialsRefused) as caught:
        credential_of(scope())
    assert caught.value.presented is False
    assert caught.value.detail == CredentialsRefused.MISSING_DETAIL


@pytest.mark.parametrize(
    ("headers", "reason"),
    [
        ((("Authorization", "Basic abc"),), "unsupported-scheme"),
        ((("Authorization", "Bearer"),), "empty-credential"),
        (
            (("Authorization", "Bearer a"), ("Authorization", "Bearer b")),
            "repeated-header",
        ),
        (
            (("Authorization", "Bearer a.b.c"), ("X-API-Key", KEY)),
            "ambiguous-credentials",
        ),
        ((("X-API-Key", ""),), "empty-credential"),
        ((("X-API-Key", "x" * 9000),), "oversized-credential"),
    ],
)
def test_odd_headers_are_refused_with_a_reason(
    headers: tuple[tuple[str, str], ...], reason: str
) -> None:
    with pytest.raises(CredentialsRefused) as caught:
        credential_of(scope(*headers))
    assert caught.value.reason == reason
    assert caught.value.detail == CredentialsRefused.GENERIC_DETAIL


def test_a_verified_credential_is_reused_for_its_ttl_only() -> None:
    resolver, clock = CountingResolver(), ManualTime()
    auth = Authenticator(resolver, ttl=1.0, time_fn=clock)
    credential = Credential("api_key", KEY)
    assert auth.cached(credential) is None
    assert auth.authenticate(credential) == PRINCIPAL
    clock.advance(0.9)
    assert auth.cached(credential) == PRINCIPAL
    clock.advance(0.2)
    assert auth.cached(credential) is None
    assert resolver.calls == [KEY]


def test_failures_are_never_cached() -> None:
    resolver = CountingResolver()
    resolver.refuse = True
    auth = Authenticator(resolver, ttl=1.0, time_fn=ManualTime())
    credential = Credential("api_key", KEY)
    with pytest.raises(Unauthenticated):
        auth.authenticate(credential)
    assert auth.cached(credential) is None


def test_the_cache_is_bounded_and_can_be_off() -> None:
    clock = ManualTime()
    auth = Authenticator(CountingResolver(), ttl=1.0, max_entries=2, time_fn=clock)
    credentials = [Credential("api_key", f"{KEY}{i}") for i in range(3)]
    for credential in credentials:
        auth.authenticate(credential)
    assert auth.cached(credentials[0]) is None
    assert auth.cached(credentials[2]) == PRINCIPAL
    auth.forget()
    assert auth.cached(credentials[2]) is None
    off = Authenticator(CountingResolver(), ttl=0, time_fn=clock)
    off.authenticate(credentials[0])
    assert off.cached(credentials[0]) is None


def _request(principal: Principal | None) -> Any:
    state = SimpleNamespace()
    if principal is not None:
        state.principal = principal
    return SimpleNamespace(state=state)


def test_require_returns_the_principal_holding_the_permission() -> None:
    dependency = require("tenant:read")
    assert asyncio.run(dependency(_request(PRINCIPAL))) == PRINCIPAL
    assert asyncio.run(require()(_request(PRINCIPAL))) == PRINCIPAL


def test_require_refuses_a_missing_permission_with_a_403() -> None:
    with pytest.raises(PermissionMissing) as caught:
        asyncio.run(require("users:write")(_request(PRINCIPAL)))
    assert caught.value.status == 403
    assert caught.value.extra == {"permission": "users:write"}


def test_require_without_a_principal_is_a_401() -> None:
    with pytest.raises(CredentialsRefused) as caught:
        asyncio.run(require("tenant:read")(_request(None)))
    assert caught.value.status == 401


class SlowResolver(CountingResolver):
    """Blocks each lookup until the test releases it."""

    def __init__(self) -> None:
        super().__init__()
        import threading

        self.release = threading.Event()

    def authenticate_key(self, plaintext: str) -> Principal:
        assert self.release.wait(5)
        return super().authenticate_key(plaintext)


def test_concurrent_misses_share_one_lookup() -> None:
    resolver = SlowResolver()
    auth = Authenticator(resolver, ttl=1.0, time_fn=ManualTime())
    credential = Credential("api_key", KEY)

    async def main() -> list[Principal]:
        waiters = [asyncio.create_task(auth.verify(credential)) for _ in range(16)]
        await asyncio.sleep(0.05)
        resolver.release.set()
        return await asyncio.gather(*waiters)

    assert asyncio.run(main()) == [PRINCIPAL] * 16
    assert resolver.calls == [KEY]
    assert auth._flights == {}


def test_a_shared_refusal_reaches_every_waiter_and_is_not_cached() -> None:
    resolver = SlowResolver()
    resolver.refuse = True
    auth = Authenticator(resolver, ttl=1.0, time_fn=ManualTime())
    credential = Credential("api_key", KEY)

    async def main() -> list[BaseException | Principal]:
        waiters = [asyncio.create_task(auth.verify(credential)) for _ in range(4)]
        await asyncio.sleep(0.05)
        resolver.release.set()
        return await asyncio.gather(*waiters, return_exceptions=True)

    outcomes = asyncio.run(main())
    assert all(isinstance(outcome, Unauthenticated) for outcome in outcomes)
    assert resolver.calls == [KEY]
    assert auth.cached(credential) is None


def test_a_busy_credential_is_refreshed_ahead_without_waiting() -> None:
    resolver, clock = SlowResolver(), ManualTime()
    auth = Authenticator(resolver, ttl=1.0, time_fn=clock)
    credential = Credential("api_key", KEY)
    resolver.release.set()
    auth.authenticate(credential)
    resolver.release.clear()
    clock.advance(0.6)

    async def main() -> Principal:
        principal = await auth.verify(credential)  # answered from the cache
        assert resolver.calls == [KEY]
        resolver.release.set()
        await asyncio.gather(*auth._flights.values())
        return principal

    assert asyncio.run(main()) == PRINCIPAL
    assert resolver.calls == [KEY, KEY]
    clock.advance(0.9)  # 1.5 s after the first lookup, 0.9 s after the refresh
    assert auth.cached(credential) == PRINCIPAL


def test_a_refusal_on_refresh_drops_the_credential() -> None:
    resolver, clock = CountingResolver(), ManualTime()
    auth = Authenticator(resolver, ttl=1.0, time_fn=clock)
    credential = Credential("api_key", KEY)
    auth.authenticate(credential)
    clock.advance(0.6)
    resolver.refuse = True

    async def main() -> None:
        assert await auth.verify(credential) == PRINCIPAL
        await asyncio.gather(*auth._flights.values(), return_exceptions=True)

    asyncio.run(main())
    assert auth.cached(credential) is None


def test_flights_are_not_shared_across_event_loops() -> None:
    resolver = CountingResolver()
    auth = Authenticator(resolver, ttl=0, time_fn=ManualTime())
    credential = Credential("api_key", KEY)
    for _ in range(3):
        assert asyncio.run(auth.verify(credential)) == PRINCIPAL
    assert resolver.calls == [KEY] * 3
