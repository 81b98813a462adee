"""Drift policies: the documented defaults, rule choice, overrides, storage."""

from __future__ import annotations

import json
import math

import pytest

from phantom.monitoring.domain import DEFAULT_POLICY, DriftPolicy, DriftRule
from phantom.monitoring.domain.errors import InvalidPolicy


def test_defaults_are_the_documented_ones() -> None:
    assert DEFAULT_POLICY.numeric == DriftRule("js", 0.1)
    assert DEFAULT_POLICY.numeric_small == DriftRule("ks", 0.05)
    assert DEFAULT_POLICY.categorical == DriftRule("js", 0.1)
    assert DEFAULT_POLICY.categorical_small == DriftRule("chi2", 0.05)
    assert (DEFAULT_POLICY.small_sample, DEFAULT_POLICY.drift_share) == (1000, 0.5)


@pytest.mark.parametrize(
    ("kind", "n", "m", "statistic"),
    [
        ("numeric", 100_000, 1_000, "ks"),
        ("numeric", 100_000, 1_001, "js"),
        ("numeric", 800, 100_000, "ks"),
        ("categorical", 100_000, 10, "chi2"),
        ("categorical", 5_000, 5_000, "js"),
    ],
)
def test_the_smaller_sample_picks_test_or_distance(
    kind: str, n: int, m: int, statistic: str
) -> None:
    assert DEFAULT_POLICY.rule_for("x", kind, n, m).statistic == statistic  # type: ignore[arg-type]


def test_tests_drift_below_and_distances_at_or_above_their_threshold() -> None:
    assert DriftRule("ks", 0.05).crossed(0.049)
    assert not DriftRule("ks", 0.05).crossed(0.05)
    assert DriftRule("js", 0.1).crossed(0.1)
    assert not DriftRule("psi", 0.2).crossed(0.19)
    assert not DriftRule("js", 0.1).crossed(math.nan)
    assert not DriftRule("chi2", 0.05).crossed(math.nan)
    assert DriftRule("chi2", 0.05).key == "chi2_pvalue"


@pytest.mark.parametrize(
    "make",
    [
        lambda: DriftRule("wasserstein", 0.1),  # type: ignore[arg-type]
        lambda: DriftRule("ks", 1.5),
        lambda: DriftRule("js", 0.0),
        lambda: DriftRule("psi", math.inf),
        lambda: DriftPolicy(numeric=DriftRule("chi2", 0.05)),
        lambda: DriftPolicy(categorical_small=DriftRule("ks", 0.05)),
        lambda: DriftPolicy(drift_share=0.0),
        lambda: DriftPolicy(min_rows=0),
    ],
)
def test_impossible_policies_are_refused(make: object) -> None:
    with pytest.raises(InvalidPolicy):
        make()  # type: ignore[operator]


def test_policies_round_trip_through_json() -> None:
    policy = DriftPolicy(
        numeric=DriftRule("psi", 0.2),
        drift_share=0.3,
        min_rows=30,
        overrides={"age": DriftRule("ks", 0.01)},
    )
    data = json.loads(json.dumps(policy.to_dict()))
    assert DriftPolicy.from_dict(data) == policy
    assert DriftPolicy.from_dict({}) == DEFAULT_POLICY


@pytest.mark.parametrize(
    "data",
    [
        {"numeric": {"statistic": "js"}},
        {"overrides": []},
        {"drift_share": "lots"},
        {"numeric": {"statistic": "js", "threshold": -1}},
    ],
)
def test_malformed_stored_policies_are_refused(data: dict[str, object]) -> None:
    with pytest.raises(InvalidPolicy):
        DriftPolicy.from_dict(data)


def test_overrides_cannot_be_changed_after_the_fact() -> None:
    rules = {"x": DriftRule("js", 0.2)}
    policy = DriftPolicy(overrides=rules)
    rules["y"] = DriftRule("js", 0.3)
    assert "y" not in policy.overrides
    with pytest.raises(TypeError):
        policy.overrides["z"] = DriftRule("js", 0.3)  # type: ignore[index]
