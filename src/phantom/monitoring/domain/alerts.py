"""Alert rules and their state machine, with no I/O.

A rule watches one metric of a tenant's model (or of all its models) and fires
when the metric has crossed its threshold continuously for ``for_s`` seconds::

    ok --crossed--> pending --still crossed after for_s--> firing
    pending/firing --not crossed--> ok      (firing -> ok is "resolved")

A rule with ``for_s == 0`` fires on the first evaluation that crosses. Each
transition to ``firing`` or from ``firing`` back to ``ok`` is what the service
publishes (``AlertFired``, ``AlertResolved``) and delivers to the rule's webhook.
"""

from __future__ import annotations

import math
import operator
import re
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Final, Literal

from phantom.kernel.errors import InvalidField

__all__ = [
    "METRICS",
    "OPERATORS",
    "SEVERITIES",
    "AlertRule",
    "AlertState",
    "InvalidAlertRule",
    "Transition",
    "advance",
]

METRICS: Final = frozenset(
    {
        "drift_share",  # share of features drifted in the latest recorded report
        "drifted_features",  # how many drifted in it
        "feature_drift",  # one feature's statistic value (needs ``feature``)
        "accuracy",  # from feedback labels over the last window
        "expected_accuracy",  # the label-free estimate over the last window
        "error_rate",  # refused requests / requests over the last window
        "latency_p99_ms",  # model latency's 99th percentile over the last window
        "requests",  # logged requests over the last window
    }
)
OPERATORS: Final[dict[str, Callable[[float, float], bool]]] = {
    ">": operator.gt,
    ">=": operator.ge,
    "<": operator.lt,
    "<=": operator.le,
}
SEVERITIES: Final = ("info", "warning", "critical")
_NAME: Final = re.compile(r"[A-Za-z0-9][A-Za-z0-9 ._-]{0,99}")
MAX_FOR_S: Final = 7 * 24 * 3600

Phase = Literal["ok", "pending", "firing"]


class InvalidAlertRule(InvalidField):
    """An alert rule names an unknown metric, operator or severity, or a bad value."""

    code = "invalid-alert-rule"
    title = "Invalid alert rule"


Transition = Literal["fired", "resolved"]


@dataclass(frozen=True, slots=True)
class AlertRule:
    """What to watch, when it counts as crossed, and for how long.

    Raises:
        InvalidPolicy: an unknown metric, operator or severity, a feature
            missing for (or given without) ``feature_drift``, a non-finite
            threshold, a duration out of range, or a bad name.
    """

    rule_id: str
    name: str
    metric: str
    op: str
    threshold: float
    model: str | None = None
    feature: str | None = None
    for_s: float = 0.0
    severity: str = "warning"
    webhook_url: str | None = None

    def __post_init__(self) -> None:
        if not _NAME.fullmatch(self.name):
            raise InvalidAlertRule(
                "name", "1-100 letters, digits, spaces, '.', '_', '-'"
            )
        if self.metric not in METRICS:
            raise InvalidAlertRule("metric", f"one of {sorted(METRICS)}")
        if self.op not in OPERATORS:
            raise InvalidAlertRule("op", f"one of {sorted(OPERATORS)}")
        if self.severity not in SEVERITIES:
            raise InvalidAlertRule("severity", f"one of {list(SEVERITIES)}")
        if (self.metric == "feature_drift") != (self.feature is not None):
            raise InvalidAlertRule(
                "feature", "required for feature_drift, and only there"
            )
        if not math.isfinite(self.threshold):
            raise InvalidAlertRule("threshold", "a finite number")
        if not 0 <= self.for_s <= MAX_FOR_S:
            raise InvalidAlertRule("for_s", f"0 to {MAX_FOR_S} seconds")

    def crossed(self, value: float | None) -> bool:
        """Whether ``value`` crosses the threshold (no value never does)."""
        if value is None or not math.isfinite(value):
            return False
        return OPERATORS[self.op](value, self.threshold)


@dataclass(frozen=True, slots=True)
class AlertState:
    """Where a rule stands (per model it watches)."""

    rule_id: str
    model: str
    phase: Phase = "ok"
    since_us: int = 0
    value: float | None = None


def advance(
    rule: AlertRule, state: AlertState, value: float | None, now_us: int
) -> tuple[AlertState, Transition | None]:
    """The state after one evaluation, and the transition it made, if any."""
    if not rule.crossed(value):
        resolved: Transition | None = "resolved" if state.phase == "firing" else None
        return replace(state, phase="ok", since_us=now_us, value=value), resolved
    since = state.since_us if state.phase != "ok" else now_us
    due = now_us - since >= rule.for_s * 1_000_000
    if state.phase == "firing" or not due:
        phase: Phase = "firing" if state.phase == "firing" else "pending"
        return replace(state, phase=phase, since_us=since, value=value), None
    return replace(state, phase="firing", since_us=since, value=value), "fired"
