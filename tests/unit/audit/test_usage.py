"""Usage counts: one draft per tenant, key, action and closed minute."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

from phantom.audit.domain import UsageCounter

T = datetime(2026, 3, 1, 12, 0, 0, tzinfo=UTC)


def test_closed_minutes_are_drained_as_one_allowed_entry_per_key_and_action() -> None:
    counter = UsageCounter()
    for second in range(0, 60, 10):  # 6 calls in 12:00
        counter.hit("t1", "k1", "usage.predict", T + timedelta(seconds=second))
    counter.hit("t1", "k2", "usage.predict", T + timedelta(seconds=5))
    counter.hit("t1", "k1", "usage.metrics", T + timedelta(seconds=59.9))
    counter.hit("t2", "k9", "usage.predict", T + timedelta(minutes=1, seconds=1))

    drained = counter.drain(T + timedelta(minutes=1, seconds=30))

    assert list(drained) == ["t1"]
    summary = [
        (d.actor.id, d.action, d.result, dict(d.details), d.occurred_at)
        for d in drained["t1"]
    ]
    minute = {"minute": "2026-03-01T12:00Z"}
    assert summary == [
        ("k1", "usage.metrics", "allowed", {"count": 1, **minute}, T),
        ("k1", "usage.predict", "allowed", {"count": 6, **minute}, T),
        ("k2", "usage.predict", "allowed", {"count": 1, **minute}, T),
    ]
    assert drained["t1"][0].actor.kind == "api_key"
    assert counter.pending() == 1  # t2's call is in the open minute


def test_the_open_minute_is_kept_until_it_closes_or_is_flushed() -> None:
    counter = UsageCounter()
    counter.hit("t1", "k1", "usage.predict", T + timedelta(seconds=30))
    assert counter.drain(T + timedelta(seconds=59)) == {}
    assert counter.pending() == 1
    flushed = counter.drain(T + timedelta(seconds=59), include_open=True)
    assert [d.details["count"] for d in flushed["t1"]] == [1]
    assert counter.pending() == 0
    assert counter.drain(T + timedelta(hours=1)) == {}


def test_a_late_hit_for_a_drained_minute_is_counted_again() -> None:
    counter = UsageCounter()
    counter.hit("t1", "k1", "usage.predict", T)
    counter.drain(T + timedelta(minutes=2))
    counter.hit("t1", "k1", "usage.predict", T + timedelta(seconds=1))
    later = counter.drain(T + timedelta(minutes=2))
    assert [(d.details["count"], d.occurred_at) for d in later["t1"]] == [(1, T)]


def test_concurrent_hits_are_all_counted() -> None:
    counter = UsageCounter()

    def hammer() -> None:
        for i in range(2_000):
            counter.hit("t1", f"k{i % 2}", "usage.predict", T)

    threads = [threading.Thread(target=hammer) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    drained = counter.drain(T + timedelta(minutes=1))
    assert sum(int(d.details["count"]) for d in drained["t1"]) == 16_000  # type: ignore[call-overload]


def test_counted_denials_keep_their_result_apart_from_allowed_calls() -> None:
    counter = UsageCounter()
    counter.hit("t1", "k1", "auth.denied", T, result="denied")
    counter.hit("t1", "k1", "auth.denied", T + timedelta(seconds=1), result="denied")
    counter.hit("t1", "k1", "auth.denied", T + timedelta(seconds=2))
    drained = counter.drain(T, include_open=True)["t1"]
    assert [(d.result, dict(d.details)["count"]) for d in drained] == [
        ("allowed", 1),
        ("denied", 2),
    ]
