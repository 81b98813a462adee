"""The rate limiter, the denial budget and the idempotency store, on memory://."""

from __future__ import annotations

import pytest

from phantom.audit.api import AuditActor, AuditDecision
from phantom.gateway.decisions import Decisions, actor_of
from phantom.gateway.idempotency import (
    IdempotencyKeyInUse,
    IdempotencyKeyReused,
    IdempotencyStore,
    Replay,
    StoredResponse,
    idempotency_key_of,
)
from phantom.gateway.ratelimit import RateLimiter, retry_after
from phantom.kernel.cache import cache_key
from phantom.kernel.cache.memory import MemoryCache
from phantom.kernel.errors import InvalidInput
from phantom.testing.contracts.cache import ManualTime


@pytest.fixture
def clock() -> ManualTime:
    return ManualTime()


@pytest.fixture
def cache(clock: ManualTime) -> MemoryCache:
    return MemoryCache(time_fn=clock)


# --- rate limiter ---------------------------------------------------------------


def test_each_tenant_gets_its_burst_then_waits_for_the_refill(
    cache: MemoryCache, clock: ManualTime
) -> None:
    limiter = RateLimiter(cache, rate=2.0, burst=3)
    assert [limiter.wait("t1") for _ in range(3)] == [0.0, 0.0, 0.0]
    assert limiter.wait("t1") == pytest.approx(0.5)
    assert limiter.wait("t2") == 0.0
    clock.advance(0.5)
    assert limiter.wait("t1") == 0.0


def test_a_zero_rate_turns_the_limiter_off(cache: MemoryCache) -> None:
    limiter = RateLimiter(cache, rate=0.0, burst=1)
    assert not limiter.enabled
    assert all(limiter.wait("t1") == 0.0 for _ in range(10))


def test_an_unreachable_cache_lets_requests_through(cache: MemoryCache) -> None:
    limiter = RateLimiter(cache, rate=1.0, burst=1)
    cache.close()
    assert limiter.wait("t1") == 0.0


@pytest.mark.parametrize(("wait", "header"), [(0.01, "1"), (1.0, "1"), (1.2, "2")])
def test_retry_after_is_whole_seconds_at_least_one(wait: float, header: str) -> None:
    assert retry_after(wait) == header


# --- denial budget --------------------------------------------------------------


class Recorder:
    def __init__(self) -> None:
        self.records: list[tuple[str, AuditDecision]] = []
        self.counts: list[tuple[str, str, str]] = []
        self.results: list[str] = []
        self.fail = False

    def record(self, tenant_id: str, decision: AuditDecision) -> None:
        if self.fail:
            raise RuntimeError("audit down")
        self.records.append((tenant_id, decision))

    def count(
        self, tenant_id: str, key_id: str, action: str, result: str = "allowed"
    ) -> None:
        self.counts.append((tenant_id, key_id, action))
        self.results.append(result)


def test_denials_are_recorded_up_to_the_budget_then_counted(
    cache: MemoryCache,
) -> None:
    recorder, now = Recorder(), [1000.0]
    decisions = Decisions(recorder, cache, per_second=2, time_fn=lambda: now[0])
    for _ in range(4):
        decisions.deny(tenant_id="t1", action="auth.denied", actor=actor_of(None))
    decisions.deny(tenant_id=None, action="auth.denied", actor=actor_of(None))
    assert [t for t, _ in recorder.records] == ["t1", "t1", "platform"]
    assert recorder.counts == [("t1", "anonymous", "auth.denied")] * 2
    assert recorder.results == ["denied", "denied"]  # never counted as allowed
    now[0] += 1
    decisions.deny(tenant_id="t1", action="auth.denied", actor=actor_of(None))
    assert len(recorder.records) == 4


def test_an_audit_failure_does_not_raise(cache: MemoryCache) -> None:
    recorder = Recorder()
    recorder.fail = True
    decisions = Decisions(recorder, cache, per_second=5)
    actor = AuditActor(kind="user", id="u1", via="api_key")
    decisions.deny(tenant_id="t1", action="authz.denied", actor=actor)


# --- idempotency ----------------------------------------------------------------


def _replay(body: bytes = b"{}", credential: bytes = b"c" * 32) -> Replay:
    return Replay.of(
        tenant_id="t1",
        key="k-1",
        credential_digest=credential,
        method="POST",
        path="/v1/users",
        query=b"",
        body=body,
    )


ANSWER = StoredResponse(
    status=201, headers=[("content-type", "application/json")], body=b'{"id":"1"}'
)


def test_a_kept_answer_is_found_for_the_same_request(cache: MemoryCache) -> None:
    store = IdempotencyStore(cache, ttl=60)
    assert store.find(_replay()) is None
    store.keep(_replay(), ANSWER)
    assert store.find(_replay()) == ANSWER


def test_another_body_or_credential_is_a_reuse(cache: MemoryCache) -> None:
    store = IdempotencyStore(cache, ttl=60)
    store.keep(_replay(), ANSWER)
    with pytest.raises(IdempotencyKeyReused):
        store.find(_replay(body=b'{"other": 1}'))
    with pytest.raises(IdempotencyKeyReused):
        store.find(_replay(credential=b"d" * 32))


def test_the_kept_answer_is_sealed(cache: MemoryCache) -> None:
    store = IdempotencyStore(cache, ttl=60)
    store.keep(_replay(), ANSWER)
    sealed = cache.get(cache_key("t1", "idempotency", "k-1"))
    assert sealed is not None
    assert b'"id"' not in sealed


def test_a_kept_answer_expires(cache: MemoryCache, clock: ManualTime) -> None:
    store = IdempotencyStore(cache, ttl=60)
    store.keep(_replay(), ANSWER)
    clock.advance(61)
    assert store.find(_replay()) is None


def test_a_key_in_use_is_refused_until_released(cache: MemoryCache) -> None:
    store = IdempotencyStore(cache, ttl=60)
    store.claim(_replay())
    with pytest.raises(IdempotencyKeyInUse):
        store.claim(_replay())
    store.release(_replay())
    store.claim(_replay())


@pytest.mark.parametrize("value", ["", " spaced", "x" * 256, "ü"])
def test_a_malformed_idempotency_key_is_invalid_input(value: str) -> None:
    scope = {"headers": [(b"idempotency-key", value.encode())]}
    with pytest.raises(InvalidInput):
        idempotency_key_of(scope)


def test_the_idempotency_key_is_read_when_present() -> None:
    assert idempotency_key_of({"headers": []}) is None
    scope = {"headers": [(b"idempotency-key", b"abc-123")]}
    assert idempotency_key_of(scope) == "abc-123"
