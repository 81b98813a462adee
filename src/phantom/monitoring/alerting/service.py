"""Alert rules over monitoring metrics: evaluated, published, delivered.

Each evaluation reads every rule's metric per model (a rule without a model
watches every model with traffic in the window), steps its state machine
(:mod:`phantom.monitoring.domain.alerts`), publishes ``AlertFired`` and
``AlertResolved`` through the outbox, and hands each of them to the rule's
webhook on a background thread (:mod:`.webhooks`), keeping the outcome beside
the state. The server evaluates every ``alert_interval_s``; ``POST
/v1/alerts/evaluate`` evaluates the caller's tenant at once.

Metrics: ``drift_share``, ``drifted_features`` and ``feature_drift`` come from
the model's latest recorded drift report; ``accuracy`` and ``expected_accuracy``
from feedback over the window; ``error_rate``, ``latency_p99_ms`` and
``requests`` from the serving roll-up over the window (shadows left out).
"""

from __future__ import annotations

import hashlib
import hmac
import threading
import uuid
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import asdict, dataclass
from typing import Any, Final

import structlog

from phantom.kernel.analytics import ServingStats
from phantom.kernel.clock import Clock
from phantom.kernel.errors import NotFound, QuotaExceeded
from phantom.kernel.events.envelope import new_envelope
from phantom.kernel.events.sql import to_us
from phantom.monitoring.adapters.alerts_sql import SqlAlertStore, StateRow
from phantom.monitoring.adapters.sql import SqlMonitoringStore
from phantom.monitoring.alerting.webhooks import WebhookSender, check_target
from phantom.monitoring.domain.alerts import AlertRule, AlertState, advance
from phantom.monitoring.events import (
    AlertFired,
    AlertResolved,
    AlertRuleDeleted,
    AlertRuleSet,
    MonitoringEvent,
)
from phantom.monitoring.feedback import FeedbackService
from phantom.tenancy.api import (
    Permission,
    Principal,
    internal_principal,
    require_permission,
)

__all__ = ["ALERT_WINDOW_S", "AlertService", "AlertView"]

ALERT_WINDOW_S: Final = 300
"""The window of window-based metrics (error rate, latency, accuracy...)."""
MAX_RULES: Final = 200
_ACTS: Final = (Permission.MONITORING_READ, Permission.MONITORING_WRITE)
_DRIFT_METRICS: Final = frozenset({"drift_share", "drifted_features", "feature_drift"})
_SERVING_METRICS: Final = frozenset({"requests", "error_rate", "latency_p99_ms"})
log = structlog.get_logger(__name__)


@dataclass(frozen=True, slots=True)
class AlertView:
    """A rule, and its state per model with the last webhook delivery."""

    rule: AlertRule
    states: list[StateRow]


class AlertService:
    """Rules, evaluation and webhooks (see the module docstring)."""

    def __init__(  # noqa: PLR0913 - the service's collaborators
        self,
        *,
        store: SqlAlertStore,
        reports: SqlMonitoringStore,
        feedback: FeedbackService,
        sender: WebhookSender,
        signing_key: bytes,
        clock: Clock,
        window_s: int = ALERT_WINDOW_S,
    ) -> None:
        self.store = store
        self.reports = reports
        self.feedback = feedback
        self.sender = sender
        self.clock = clock
        self.window_s = window_s
        self._key = signing_key
        self._pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="webhook")
        self._pending: list[Future[None]] = []
        self._lock = threading.Lock()

    # -- rules --------------------------------------------------------------------

    def rules(self, principal: Principal) -> list[AlertView]:
        """The tenant's rules with their states."""
        require_permission(principal, Permission.MONITORING_READ)
        states = self.store.states(principal.tenant_id)
        return [
            AlertView(rule, [s for s in states if s.state.rule_id == rule.rule_id])
            for rule in self.store.rules(principal.tenant_id)
        ]

    def add_rule(self, principal: Principal, document: dict[str, Any]) -> AlertRule:
        """Create a rule (its webhook target is checked now and at each delivery).

        Raises:
            InvalidAlertRule: a bad metric, operator, threshold or duration.
            WebhookRefused: the webhook is not an allowed public http(s) URL.
            QuotaExceeded: the tenant has too many rules.
        """
        require_permission(principal, Permission.MONITORING_WRITE)
        rule = AlertRule(rule_id=str(uuid.uuid4()), **document)
        if rule.webhook_url is not None:
            check_target(rule.webhook_url, self.sender.allowed)
        if len(self.store.rules(principal.tenant_id)) >= MAX_RULES:
            msg = f"a tenant has at most {MAX_RULES} alert rules"
            raise QuotaExceeded(msg)
        self._append(principal, AlertRuleSet(rule=asdict(rule)))
        return rule

    def delete_rule(self, principal: Principal, rule_id: str) -> None:
        """Delete a rule and its states.

        Raises:
            NotFound: the tenant has no such rule.
        """
        require_permission(principal, Permission.MONITORING_WRITE)
        if rule_id not in {r.rule_id for r in self.store.rules(principal.tenant_id)}:
            msg = f"no alert rule {rule_id[:64]!r} in this tenant"
            raise NotFound(msg)
        self._append(principal, AlertRuleDeleted(rule_id=rule_id))

    def webhook_secret(self, principal: Principal) -> str:
        """The key the tenant's webhooks are signed with (hex)."""
        require_permission(principal, Permission.MONITORING_WRITE)
        return self._secret(principal.tenant_id).hex()

    # -- evaluation ---------------------------------------------------------------

    def evaluate(self, principal: Principal) -> list[dict[str, Any]]:
        """Evaluate the caller's tenant now; the transitions it made."""
        require_permission(principal, Permission.MONITORING_WRITE)
        return self._evaluate(principal.tenant_id)

    def run_scheduled(self) -> int:
        """Evaluate every tenant with rules; how many transitions."""
        moved = 0
        for tenant_id in self.store.tenants_with_rules():
            try:
                moved += len(self._evaluate(tenant_id))
            except Exception:
                log.warning(
                    "alerts.evaluate.failed", tenant_id=tenant_id, exc_info=True
                )
        return moved

    def wait_deliveries(self, timeout_s: float = 30.0) -> None:
        """Wait for the webhook deliveries started so far (tests, shutdown)."""
        with self._lock:
            pending, self._pending = self._pending, []
        wait(pending, timeout=timeout_s)

    def close(self) -> None:
        """Finish queued deliveries and stop the delivery threads."""
        self._pool.shutdown(wait=True, cancel_futures=False)

    def _evaluate(self, tenant_id: str) -> list[dict[str, Any]]:
        rules = self.store.rules(tenant_id)
        if not rules:
            return []
        now = to_us(self.clock.now())
        stats = self.feedback.analytics().serving_stats(
            tenant_id, since_us=now - self.window_s * 1_000_000, until_us=now + 1
        )
        known = {
            (s.state.rule_id, s.state.model): s.state
            for s in self.store.states(tenant_id)
        }
        changed: list[AlertState] = []
        moves: list[tuple[AlertRule, AlertState, str]] = []
        for rule in rules:
            for model in self._models(rule, stats):
                state = known.get((rule.rule_id, model)) or AlertState(
                    rule.rule_id, model
                )
                value = self._value(tenant_id, rule, model, stats, now)
                after, moved = advance(rule, state, value, now)
                if after != state:
                    changed.append(after)
                if moved is not None:
                    moves.append((rule, after, moved))
        self.store.save_states(tenant_id, changed, now)
        return [
            self._announce(tenant_id, rule, state, moved)
            for rule, state, moved in moves
        ]

    def _models(self, rule: AlertRule, stats: Sequence[ServingStats]) -> list[str]:
        if rule.model is not None:
            return [rule.model]
        return sorted({s.model for s in stats if s.route != "shadow"})

    def _value(
        self,
        tenant_id: str,
        rule: AlertRule,
        model: str,
        stats: Sequence[ServingStats],
        now: int,
    ) -> float | None:
        if rule.metric in _DRIFT_METRICS:
            return self._drift_value(tenant_id, rule, model)
        if rule.metric in _SERVING_METRICS:
            return _serving_value(rule.metric, model, stats)
        found = self.feedback.performance(
            internal_principal(tenant_id, *_ACTS),
            model,
            since_us=now - self.window_s * 1_000_000,
            until_us=now + 1,
        )
        if rule.metric == "accuracy":
            return found.metrics.get("accuracy")
        return found.estimated.get("expected_accuracy")

    def _drift_value(self, tenant_id: str, rule: AlertRule, model: str) -> float | None:
        latest = self.reports.reports(tenant_id, model, version=None, limit=1)
        if not latest:
            return None
        if rule.metric == "drift_share":
            return latest[0].drift_share
        if rule.metric == "drifted_features":
            return float(len(latest[0].drifted))
        for column in latest[0].report.get("features", []):
            if column.get("name") == rule.feature and column.get("value") is not None:
                return float(column["value"])
        return None

    def _announce(
        self, tenant_id: str, rule: AlertRule, state: AlertState, moved: str
    ) -> dict[str, Any]:
        fields: dict[str, Any] = {
            "rule_id": rule.rule_id,
            "name": rule.name,
            "model": state.model,
            "metric": rule.metric,
            "threshold": rule.threshold,
            "severity": rule.severity,
            "value": state.value,
        }
        event: MonitoringEvent = (
            AlertFired.model_validate(fields)
            if moved == "fired"
            else AlertResolved.model_validate(fields)
        )
        self._append(
            internal_principal(tenant_id, *_ACTS), event, stream=f"alert-{rule.rule_id}"
        )
        payload = {
            "event": event.event_type(),
            "tenant_id": tenant_id,
            "at": self.clock.now().isoformat(),
            **event.to_data(),
        }
        if rule.webhook_url is not None:
            self._deliver(tenant_id, rule, state.model, payload)
        return payload

    def _deliver(
        self, tenant_id: str, rule: AlertRule, model: str, payload: dict[str, Any]
    ) -> None:
        url, secret = rule.webhook_url or "", self._secret(tenant_id)

        def send() -> None:
            result = self.sender.deliver(url, secret, payload)
            outcome = {**asdict(result), "event": payload["event"]}
            log.info(
                "alerts.webhook",
                tenant_id=tenant_id,
                rule_id=rule.rule_id,
                alert=payload["event"],
                delivered=result.delivered,
                attempts=result.attempts,
                status=result.status,
                error=result.error,
            )
            try:
                self.store.record_delivery(tenant_id, rule.rule_id, model, outcome)
            except Exception:
                log.exception("alerts.webhook.unrecorded", rule_id=rule.rule_id)

        future = self._pool.submit(send)
        with self._lock:
            self._pending = [f for f in self._pending if not f.done()]
            self._pending.append(future)

    def _secret(self, tenant_id: str) -> bytes:
        label = b"phantom-alert-webhook:" + tenant_id.encode()
        return hmac.new(self._key, label, hashlib.sha256).digest()

    def _append(
        self, principal: Principal, event: MonitoringEvent, stream: str = "alerts"
    ) -> None:
        envelope = new_envelope(
            event.event_type(),
            tenant_id=principal.tenant_id,
            stream_id=stream,
            data=event.to_data(),
            actor=principal.actor(),
            schema_version=event.SCHEMA_VERSION,
            occurred_at=self.clock.now(),
        )
        self.reports.append(principal.tenant_id, [envelope])


def _serving_value(
    metric: str, model: str, stats: Sequence[ServingStats]
) -> float | None:
    mine = [s for s in stats if s.model == model and s.route != "shadow"]
    requests = sum(s.requests for s in mine)
    if metric == "requests":
        return float(requests)
    if not requests:
        return None
    if metric == "error_rate":
        return sum(s.errors for s in mine) / requests
    return max(s.latency_p99_us for s in mine) / 1000
