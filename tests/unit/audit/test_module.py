"""The audit module's pieces that need no database: drafts, the task loop, wiring."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from starlette.requests import Request
from structlog.testing import capture_logs

from phantom.audit.api import AuditActor, AuditDecision, AuditResource
from phantom.audit.consumer import (
    AUDIT_TRAIL_CONSUMER,
    audit_trail_effect,
    event_draft,
)
from phantom.audit.domain import InvalidAuditEntry
from phantom.audit.domain.checkpoints import Checkpoint
from phantom.audit.domain.entry import clip
from phantom.audit.http import request_principal
from phantom.audit.module import audit_module
from phantom.audit.recorder import decision_draft
from phantom.audit.tasks import AuditMaintenance, run_audit_tasks
from phantom.kernel.context import Actor
from phantom.kernel.errors import Unauthenticated
from phantom.kernel.events.envelope import Envelope, new_envelope
from phantom.tenancy.api import Principal

T0 = datetime(2026, 4, 1, 9, 0, tzinfo=UTC)


def envelope(**changes: Any) -> Envelope:
    made = new_envelope(
        "registry.ModelVersionRegistered",
        tenant_id="acme",
        stream_id="model-7",
        data={"name": "fraud", "api_key": "phk_secret"},
        actor=Actor(kind="user", id="u-1", via="token"),
        occurred_at=T0,
        correlation_id="req-1",
    ).with_version(3)
    return made._replace(**changes)


def test_an_event_becomes_a_summary_entry() -> None:
    event = envelope()
    draft = event_draft(event)
    assert (draft.action, draft.result, draft.occurred_at) == (
        "registry.ModelVersionRegistered",
        "success",
        T0,
    )
    assert (draft.actor.kind, draft.actor.id, draft.actor.via) == (
        "user",
        "u-1",
        "token",
    )
    assert draft.resource is not None
    assert (draft.resource.type, draft.resource.id) == ("stream", "model-7")
    assert draft.details == {
        "event_id": str(event.id),
        "stream_version": 3,
        "schema_version": 1,
        "correlation_id": "req-1",
        "causation_id": None,
    }


def test_an_event_with_a_naive_time_or_long_stream_is_still_recorded() -> None:
    draft = event_draft(
        envelope(occurred_at=T0.replace(tzinfo=None), stream_id="s" * 900)
    )
    assert draft.occurred_at == T0
    assert draft.resource is not None
    assert draft.resource.id is not None
    assert len(draft.resource.id) == 200


def test_audit_events_never_reach_the_chain() -> None:
    effect = audit_trail_effect()
    connection: Any = object()  # touching it would raise AttributeError
    effect(connection, envelope(type="audit.CheckpointSigned"))


def test_clip_keeps_short_values_and_marks_cut_ones() -> None:
    assert clip("actor via", "api_key") == "api_key"
    cut = clip("actor via", "v" * 100)
    assert (len(cut), cut[-1]) == (64, "\u2026")
    with pytest.raises(KeyError):
        clip("no such field", "x")


def test_a_decision_becomes_a_draft_with_defaults_for_anonymous_callers() -> None:
    decision = AuditDecision(
        action="auth.denied",
        actor=AuditActor(kind="", id="", via=""),
        result="denied",
        resource=AuditResource(type="", id=None),
        details={"reason": "expired"},
    )
    draft = decision_draft(decision, T0)
    assert (draft.actor.kind, draft.actor.id, draft.actor.via) == (
        "anonymous",
        "",
        "none",
    )
    assert draft.resource is not None
    assert (draft.resource.type, draft.resource.id) == ("unknown", None)
    assert (draft.result, draft.occurred_at, dict(draft.details)) == (
        "denied",
        T0,
        {"reason": "expired"},
    )


def test_a_decision_at_a_naive_time_is_refused_as_a_bug() -> None:
    decision = AuditDecision(
        action="x", actor=AuditActor(kind="user", id="u", via="t"), result="success"
    )
    with pytest.raises(InvalidAuditEntry):
        decision_draft(decision, T0.replace(tzinfo=None))


def test_the_module_contributes_migrations_a_consumer_and_routes(
    tmp_path: Path,
) -> None:
    module = audit_module(tmp_path / "keys")
    assert module.name == "audit"
    assert module.migrations is not None
    assert (module.migrations / "versions").is_dir()
    (consumer,) = module.consumers
    assert (consumer.name, consumer.subjects) == (AUDIT_TRAIL_CONSUMER, ">")
    assert module.router is not None
    assert not (tmp_path / "keys").exists()  # nothing touched before first use


def _request(state: dict[str, Any]) -> Request:
    return Request({"type": "http", "method": "GET", "path": "/", "state": state})


def test_the_default_caller_is_the_principal_the_gateway_set() -> None:
    principal = Principal(
        tenant_id="acme", role="viewer", permissions=frozenset(), via="api_key"
    )
    found = asyncio.run(request_principal(_request({"principal": principal})))
    assert found is principal
    for state in ({}, {"principal": "not a principal"}):
        with pytest.raises(Unauthenticated):
            asyncio.run(request_principal(_request(state)))


# -- the background task --------------------------------------------------------


class FakeRecorder:
    """Records the calls; ``fail`` makes flush raise that many times."""

    def __init__(self, fail: int = 0, left: int = 0) -> None:
        self.calls: list[tuple[str, bool]] = []
        self.fail = fail
        self.unflushed = left

    def flush(self, now: datetime | None = None, *, include_open: bool = False) -> int:
        self.calls.append(("flush", include_open))
        if self.fail:
            self.fail -= 1
            msg = "database down"
            raise RuntimeError(msg)
        return 0

    def checkpoint_all(self, now: datetime | None = None) -> list[Checkpoint]:
        self.calls.append(("checkpoint", False))
        return []


async def _run_for(recorder: FakeRecorder, rounds: int, interval: float) -> None:
    """Run the task until it has done ``rounds`` periodic rounds, then stop it."""
    stop = asyncio.Event()
    task = asyncio.create_task(run_audit_tasks(recorder, stop, interval_s=interval))
    deadline = asyncio.get_running_loop().time() + 10
    while len(recorder.calls) < 2 * rounds:
        assert asyncio.get_running_loop().time() < deadline, recorder.calls
        await asyncio.sleep(0.005)
    stop.set()
    await asyncio.wait_for(task, 5)


def test_the_task_flushes_and_signs_every_interval_then_everything_on_stop() -> None:
    recorder = FakeRecorder()
    assert isinstance(recorder, AuditMaintenance)
    asyncio.run(_run_for(recorder, 3, interval=0.01))
    rounds = [call for call in recorder.calls if call[0] == "flush"]
    assert len(rounds) >= 4
    assert all(not final for _, final in rounds[:-1])
    assert recorder.calls[-2:] == [("flush", True), ("checkpoint", False)]


def test_a_failing_round_is_logged_and_the_task_goes_on() -> None:
    recorder = FakeRecorder(fail=2)
    with capture_logs() as logs:
        asyncio.run(_run_for(recorder, 3, interval=0.01))
    failed = [line for line in logs if line["event"] == "audit.tasks.failed"]
    assert [line["step"] for line in failed] == ["flush", "flush"]
    assert recorder.calls[-2:] == [("flush", True), ("checkpoint", False)]


def test_stopping_at_once_still_flushes_and_reports_what_is_left() -> None:
    recorder = FakeRecorder(left=4)
    with capture_logs() as logs:
        asyncio.run(_run_for(recorder, 0, interval=60))
    assert recorder.calls == [("flush", True), ("checkpoint", False)]
    lost = [line for line in logs if line["event"] == "audit.usage_lost"]
    assert [line["entries"] for line in lost] == [4]


def test_uuid_of_event_is_not_reused_as_the_entry_id() -> None:
    event = envelope()
    assert event_draft(event).id != event.id
    assert isinstance(event_draft(event).id, uuid.UUID)
