"""Alert rules: validation, and the ok -> pending -> firing -> ok machine."""

from __future__ import annotations

import math
from typing import Any

import pytest

from phantom.monitoring.domain.alerts import (
    AlertRule,
    AlertState,
    InvalidAlertRule,
    advance,
)

S = 1_000_000


def rule(**changes: Any) -> AlertRule:
    values: dict[str, Any] = {
        "rule_id": "r1",
        "name": "drifting",
        "metric": "drift_share",
        "op": ">=",
        "threshold": 0.5,
        "for_s": 60,
    }
    values.update(changes)
    return AlertRule(**values)


def test_a_rule_fires_only_after_holding_for_its_duration_then_resolves() -> None:
    r = rule()
    state = AlertState("r1", "churn")
    state, moved = advance(r, state, 0.6, 0)
    assert (state.phase, moved) == ("pending", None)
    state, moved = advance(r, state, 0.7, 59 * S)
    assert (state.phase, moved) == ("pending", None)
    state, moved = advance(r, state, 0.7, 60 * S)
    assert (state.phase, moved) == ("firing", "fired")
    state, moved = advance(r, state, 0.9, 120 * S)
    assert (state.phase, moved) == ("firing", None)  # fires once
    state, moved = advance(r, state, 0.1, 130 * S)
    assert (state.phase, moved) == ("ok", "resolved")


def test_a_dip_before_the_duration_resets_the_clock() -> None:
    r = rule()
    state, _ = advance(r, AlertState("r1", "churn"), 0.6, 0)
    state, moved = advance(r, state, 0.2, 30 * S)
    assert (state.phase, moved) == ("ok", None)  # never fired: nothing resolved
    state, _ = advance(r, state, 0.6, 40 * S)
    state, moved = advance(r, state, 0.6, 90 * S)
    assert (state.phase, moved) == ("pending", None)


def test_zero_duration_fires_at_once_and_no_value_never_crosses() -> None:
    r = rule(for_s=0, metric="error_rate", op=">", threshold=0.05)
    state, moved = advance(r, AlertState("r1", "m"), 0.2, 5)
    assert (state.phase, moved) == ("firing", "fired")
    assert not r.crossed(None)
    assert not r.crossed(math.nan)


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"metric": "vibes"}, "metric"),
        ({"op": "=="}, "op"),
        ({"severity": "meh"}, "severity"),
        ({"metric": "feature_drift"}, "feature"),
        ({"feature": "age"}, "feature"),
        ({"threshold": math.inf}, "threshold"),
        ({"for_s": -1}, "for_s"),
        ({"name": ""}, "name"),
    ],
)
def test_bad_rules_name_the_field(changes: dict[str, Any], field: str) -> None:
    with pytest.raises(InvalidAlertRule) as caught:
        rule(**changes)
    assert caught.value.detail.startswith(f"{field}:")
