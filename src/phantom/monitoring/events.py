"""The monitoring context's published events (wire type ``monitoring.<Name>``).

* ``ReferenceProfiled`` (stream ``model-<name>``): a version's reference profile
  was built (from its training dataset, or from its first logged traffic).
* ``DriftPolicySet`` (stream ``model-<name>``): the model's drift thresholds.
* ``DriftReported`` (stream ``model-<name>``): a drift report ran over a window;
  its summary is projected into the report history.
* ``DriftDetected`` (stream ``model-<name>``): a report's features crossed their
  thresholds; names them with their statistics, for alerts and agents.

Schema version 1 for all.
"""

from __future__ import annotations

from typing import Any, ClassVar, Literal

from phantom.kernel.events.envelope import Envelope
from phantom.kernel.events.typed import DomainEvent, parse_typed

__all__ = [
    "EVENT_TYPES",
    "AlertFired",
    "AlertResolved",
    "AlertRuleDeleted",
    "AlertRuleSet",
    "DriftDetected",
    "DriftPolicySet",
    "DriftReported",
    "MonitoringEvent",
    "ReferenceProfiled",
    "parse_event",
]


class MonitoringEvent(DomainEvent):
    """Base of the monitoring events: frozen, unknown fields refused."""

    CONTEXT: ClassVar[str] = "monitoring"


class ReferenceProfiled(MonitoringEvent):
    """A version's reference profile is stored under ``digest``."""

    NAME: ClassVar[str] = "ReferenceProfiled"
    model: str
    version: int
    digest: str
    source: Literal["dataset", "traffic"]
    rows: int
    features: list[str]


class DriftPolicySet(MonitoringEvent):
    """The model's drift policy is now ``policy`` (``DriftPolicy.to_dict``)."""

    NAME: ClassVar[str] = "DriftPolicySet"
    model: str
    policy: dict[str, Any]


class DriftReported(MonitoringEvent):
    """A drift report over ``[since_us, until_us)`` of a version's traffic."""

    NAME: ClassVar[str] = "DriftReported"
    report_id: str
    model: str
    version: int
    since_us: int
    until_us: int
    rows: int
    dataset_drifted: bool
    drift_share: float
    drifted: list[str]
    report: dict[str, Any]


class DriftDetected(MonitoringEvent):
    """Features (or outputs) of a version crossed their drift thresholds."""

    NAME: ClassVar[str] = "DriftDetected"
    report_id: str
    model: str
    version: int
    since_us: int
    until_us: int
    dataset_drifted: bool
    columns: list[dict[str, Any]]


class AlertRuleSet(MonitoringEvent):
    """An alert rule was created (``rule``: the rule's document)."""

    NAME: ClassVar[str] = "AlertRuleSet"
    rule: dict[str, Any]


class AlertRuleDeleted(MonitoringEvent):
    """An alert rule was deleted."""

    NAME: ClassVar[str] = "AlertRuleDeleted"
    rule_id: str


class AlertFired(MonitoringEvent):
    """A rule's metric held past its threshold for its duration."""

    NAME: ClassVar[str] = "AlertFired"
    rule_id: str
    name: str
    model: str
    metric: str
    value: float
    threshold: float
    severity: str


class AlertResolved(MonitoringEvent):
    """A firing rule's metric came back within its threshold."""

    NAME: ClassVar[str] = "AlertResolved"
    rule_id: str
    name: str
    model: str
    metric: str
    value: float | None
    threshold: float
    severity: str


EVENT_TYPES: dict[str, type[MonitoringEvent]] = {
    cls.event_type(): cls
    for cls in (
        ReferenceProfiled,
        DriftPolicySet,
        DriftReported,
        DriftDetected,
        AlertRuleSet,
        AlertRuleDeleted,
        AlertFired,
        AlertResolved,
    )
}


def parse_event(envelope: Envelope) -> MonitoringEvent | None:
    """The typed event in ``envelope``, or ``None`` for another context's."""
    return parse_typed(envelope, EVENT_TYPES)
