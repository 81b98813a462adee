"""Which version answers: the alias's, or a canary's share, sticky per routing key."""

from __future__ import annotations

import random
from collections.abc import Iterator

import pytest

from phantom.serving.domain.routing import BUCKETS, Traffic, bucket_of, choose

KEYS = [f"user-{number}" for number in range(10_000)]
TOLERANCE = 0.015


@pytest.fixture
def seeded() -> Iterator[None]:
    """Keyless routing draws from ``random``: make it repeatable, then restore it."""
    state = random.getstate()
    random.seed(20_260_101)
    yield
    random.setstate(state)


def canary(percent: int) -> Traffic:
    return Traffic(version=1, canary_version=2, canary_percent=percent)


def test_without_a_canary_the_alias_version_answers() -> None:
    for traffic in (Traffic(version=3), Traffic(version=3, canary_version=4)):
        for key in (None, "user-1", "user-2"):
            assert choose(traffic, key) == (3, "primary")


def test_a_shadow_never_answers() -> None:
    traffic = Traffic(version=1, shadow_version=2)
    assert {choose(traffic, key) for key in KEYS[:500]} == {(1, "primary")}


def test_buckets_are_stable_and_in_range() -> None:
    buckets = [bucket_of(key) for key in KEYS]
    assert buckets == [bucket_of(key) for key in KEYS]
    assert all(0 <= bucket < BUCKETS for bucket in buckets)
    assert len(set(buckets)) > 6_000  # spread over the buckets, not clumped
    assert bucket_of("é-user-\ud800") == bucket_of("é-user-\ud800")  # any str


def test_a_ten_percent_canary_takes_ten_percent_of_distinct_keys() -> None:
    traffic = canary(10)
    routed = [choose(traffic, key) for key in KEYS]
    share = sum(route == "canary" for _, route in routed) / len(KEYS)
    assert abs(share - 0.10) <= TOLERANCE, share
    assert all(
        (version, route) in {(1, "primary"), (2, "canary")} for version, route in routed
    )


def test_the_same_key_always_gets_the_same_version() -> None:
    traffic = canary(10)
    first = {key: choose(traffic, key) for key in KEYS[:2_000]}
    for _ in range(3):
        assert {key: choose(traffic, key) for key in KEYS[:2_000]} == first


def test_raising_the_percentage_only_moves_keys_towards_the_canary() -> None:
    previous: set[str] = set()
    for percent in (1, 5, 10, 25, 50, 75, 99):
        traffic = canary(percent)
        on_canary = {key for key in KEYS if choose(traffic, key)[1] == "canary"}
        assert previous <= on_canary, percent  # nobody went back to the primary
        assert abs(len(on_canary) / len(KEYS) - percent / 100) <= TOLERANCE, percent
        previous = on_canary


@pytest.mark.usefixtures("seeded")
def test_a_thirty_percent_canary_without_keys_takes_thirty_percent() -> None:
    traffic = canary(30)
    routed = [choose(traffic, None) for _ in range(10_000)]
    share = sum(route == "canary" for _, route in routed) / len(routed)
    assert abs(share - 0.30) <= TOLERANCE, share
    assert {version for version, _ in routed} == {1, 2}
