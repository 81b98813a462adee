"""Alert rules (projected from events) and alert states (written directly).

Rules change rarely and are audited: they are ``AlertRuleSet`` /
``AlertRuleDeleted`` events, projected by :func:`project_alert_rules`. States
change on every evaluation and are operational data: each ``(rule, model)`` row
is overwritten in its tenant's transaction, with the last webhook delivery's
outcome beside it.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, delete, insert, select

from phantom.kernel.db.engine import Database
from phantom.kernel.db.tenant import tenant_transaction
from phantom.kernel.events.envelope import Envelope
from phantom.kernel.events.sql import to_us
from phantom.monitoring.adapters.sql_tables import alert_rules, alert_states
from phantom.monitoring.domain.alerts import AlertRule, AlertState
from phantom.monitoring.events import AlertRuleDeleted, AlertRuleSet, parse_event

__all__ = ["SqlAlertStore", "StateRow", "project_alert_rules", "rule_of"]


def rule_of(document: dict[str, Any]) -> AlertRule:
    """The rule a stored document describes."""
    return AlertRule(**document)


@dataclass(frozen=True, slots=True)
class StateRow:
    """A rule's state for one model, and its last webhook delivery."""

    state: AlertState
    last_delivery: dict[str, Any] | None
    updated_at_us: int


class SqlAlertStore:
    """The alert tables of the monitoring database."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def rules(self, tenant_id: str) -> list[AlertRule]:
        """The tenant's rules, oldest first."""
        with tenant_transaction(self.db, tenant_id) as conn:
            rows = conn.execute(
                select(alert_rules.c.rule)
                .where(alert_rules.c.tenant_id == tenant_id)
                .order_by(alert_rules.c.created_at_us, alert_rules.c.rule_id)
            )
            return [rule_of(json.loads(row.rule)) for row in rows]

    def tenants_with_rules(self) -> list[str]:
        """Every tenant that has a rule (system read, for the schedule)."""
        with self.db.system_engine.connect() as conn, conn.begin():
            rows = conn.execute(select(alert_rules.c.tenant_id).distinct())
            return sorted(str(row.tenant_id) for row in rows)

    def states(self, tenant_id: str) -> list[StateRow]:
        """Every ``(rule, model)`` state of the tenant."""
        with tenant_transaction(self.db, tenant_id) as conn:
            rows = conn.execute(
                select(alert_states).where(alert_states.c.tenant_id == tenant_id)
            )
            return [
                StateRow(
                    state=AlertState(
                        rule_id=row.rule_id,
                        model=row.model,
                        phase=row.phase,
                        since_us=row.since_us,
                        value=row.value,
                    ),
                    last_delivery=None
                    if row.last_delivery is None
                    else json.loads(row.last_delivery),
                    updated_at_us=row.updated_at_us,
                )
                for row in rows
            ]

    def save_states(
        self, tenant_id: str, states: Sequence[AlertState], at_us: int
    ) -> None:
        """Overwrite the given states (keeping their last deliveries)."""
        if not states:
            return
        with tenant_transaction(self.db, tenant_id, write=True) as conn:
            for state in states:
                values = {
                    "phase": state.phase,
                    "since_us": state.since_us,
                    "value": state.value,
                    "updated_at_us": at_us,
                }
                updated = conn.execute(
                    alert_states.update()
                    .where(
                        alert_states.c.tenant_id == tenant_id,
                        alert_states.c.rule_id == state.rule_id,
                        alert_states.c.model == state.model,
                    )
                    .values(**values)
                )
                if updated.rowcount == 0:
                    conn.execute(
                        insert(alert_states).values(
                            tenant_id=tenant_id,
                            rule_id=state.rule_id,
                            model=state.model,
                            **values,
                        )
                    )

    def record_delivery(
        self, tenant_id: str, rule_id: str, model: str, outcome: dict[str, Any]
    ) -> None:
        """Keep the outcome of the latest webhook delivery of ``(rule, model)``."""
        with tenant_transaction(self.db, tenant_id, write=True) as conn:
            conn.execute(
                alert_states.update()
                .where(
                    alert_states.c.tenant_id == tenant_id,
                    alert_states.c.rule_id == rule_id,
                    alert_states.c.model == model,
                )
                .values(last_delivery=json.dumps(outcome, sort_keys=True))
            )


def _delivery(conn: Connection, tenant_id: str, rule_id: str, model: str) -> str | None:
    found: str | None = conn.execute(
        select(alert_states.c.last_delivery).where(
            alert_states.c.tenant_id == tenant_id,
            alert_states.c.rule_id == rule_id,
            alert_states.c.model == model,
        )
    ).scalar_one_or_none()
    return found


def _clear(conn: Connection, tenant_id: str, rule_id: str, model: str | None) -> None:
    statement = delete(alert_states).where(
        alert_states.c.tenant_id == tenant_id, alert_states.c.rule_id == rule_id
    )
    if model is not None:
        statement = statement.where(alert_states.c.model == model)
    conn.execute(statement)


def project_alert_rules(conn: Connection, envelopes: Sequence[Envelope]) -> None:
    """Apply rule events to the rules table (and drop a deleted rule's states)."""
    for envelope in envelopes:
        event = parse_event(envelope)
        tenant_id = envelope.tenant_id
        if isinstance(event, AlertRuleSet):
            conn.execute(
                insert(alert_rules).values(
                    tenant_id=tenant_id,
                    rule_id=event.rule["rule_id"],
                    rule=json.dumps(event.rule, sort_keys=True),
                    created_by=envelope.actor.id,
                    created_at_us=to_us(envelope.occurred_at),
                )
            )
        elif isinstance(event, AlertRuleDeleted):
            conn.execute(
                delete(alert_rules).where(
                    alert_rules.c.tenant_id == tenant_id,
                    alert_rules.c.rule_id == event.rule_id,
                )
            )
            _clear(conn, tenant_id, event.rule_id, None)
