"""The audit-trail consumer: domain events land in their tenant's chain, once."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select

from phantom.audit.api import AuditActor, AuditDecision, AuditSearch
from phantom.audit.consumer import AUDIT_TRAIL_CONSUMER
from phantom.audit.module import audit_components
from phantom.bootstrap import Container
from phantom.kernel.db.metadata import inbox
from phantom.kernel.db.tenant import tenant_transaction
from phantom.kernel.events.envelope import new_envelope
from phantom.kernel.events.relay import OutboxRelay
from tests.unit.audit.harness import (
    audit_settings,
    build_audit_container,
    write_events,
)

A, B = "acme", "globex"


@pytest.fixture(
    params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]
)
def container(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Container]:
    # No de-duplication on the bus: every republished event reaches the consumer,
    # so the inbox is what absorbs the repeats.
    bus = "memory://?duplicate_window=0"
    with audit_settings(request.param, tmp_path / "home", bus_url=bus) as settings:
        built = build_audit_container(settings)
        try:
            yield built
        finally:
            asyncio.run(built.aclose())


async def _deliver(container: Container, *, again: bool = False) -> None:
    consumer = container.consumer(AUDIT_TRAIL_CONSUMER)
    subscription = await container.bus.subscribe(
        AUDIT_TRAIL_CONSUMER, consumer.on_delivery, subjects=">"
    )
    try:
        for relay in container.relays():
            await relay.drain()
        if again:  # a second cursor publishes every stored event once more
            for name, db in container.databases.items():
                relay = OutboxRelay(db, container.stores[name], container.bus)
                relay.name = "again"
                await relay.drain()
    finally:
        await subscription.stop()


def _inbox_rows(container: Container) -> int:
    """The consumer's inbox rows (the inbox has no tenant column)."""
    db = container.database("audit")
    with tenant_transaction(db, A) as conn:
        return int(
            conn.execute(
                select(func.count()).where(inbox.c.consumer == AUDIT_TRAIL_CONSUMER)
            ).scalar_one()
        )


def test_events_land_in_their_tenants_chain_exactly_once(container) -> None:
    ids_a = write_events(container, A, 3)
    ids_b = write_events(container, B, 2, "tenancy.UserCreated")
    asyncio.run(_deliver(container, again=True))

    audit = audit_components(container)
    page_a = audit.queries.search(A, AuditSearch())
    page_b = audit.queries.search(B, AuditSearch())
    assert [e.details["event_id"] for e in page_a.entries] == ids_a
    assert [e.details["event_id"] for e in page_b.entries] == ids_b
    assert {e.action for e in page_b.entries} == {"tenancy.UserCreated"}
    for tenant, count in ((A, 3), (B, 2)):
        report = audit.queries.verify(tenant)
        assert report.intact, report.problem
        assert (report.checked, report.last_seq) == (count, count)
    assert _inbox_rows(container) == 5


def test_an_entry_summarises_the_event_without_its_payload(container) -> None:
    (event_id,) = write_events(container, A, 1)
    asyncio.run(_deliver(container))

    audit = audit_components(container)
    (entry,) = audit.queries.search(A, AuditSearch()).entries
    assert entry.action == "registry.ModelVersionRegistered"
    assert entry.actor.model_dump() == {"kind": "user", "id": "u-1", "via": "api_key"}
    assert entry.resource is not None
    assert (entry.resource.type, entry.resource.id) == ("stream", f"model-{A}-0")
    assert entry.result == "success"
    assert entry.details == {
        "event_id": event_id,
        "stream_version": 1,
        "schema_version": 1,
        "correlation_id": "corr-0",
        "causation_id": None,
    }
    assert "phk_secret" not in entry.model_dump_json()


def test_audit_events_are_not_audited_again(container) -> None:
    write_events(container, A, 1)
    own = new_envelope(
        "audit.ChainVerified", tenant_id=A, stream_id="audit-acme", data={}
    )

    async def scenario() -> None:
        consumer = container.consumer(AUDIT_TRAIL_CONSUMER)
        subscription = await container.bus.subscribe(
            AUDIT_TRAIL_CONSUMER, consumer.on_delivery, subjects=">"
        )
        try:
            for relay in container.relays():
                await relay.drain()
            await container.bus.publish(own)
        finally:
            await subscription.stop()

    asyncio.run(scenario())
    audit = audit_components(container)
    page = audit.queries.search(A, AuditSearch())
    assert [e.action for e in page.entries] == ["registry.ModelVersionRegistered"]
    assert audit.queries.verify(A).intact


def test_consumer_and_recorder_appends_share_one_gapless_chain(container) -> None:
    """Events and gateway decisions appended concurrently never fork the chain."""
    audit = audit_components(container)
    decision = AuditDecision(
        action="auth.denied",
        actor=AuditActor(kind="anonymous", id="", via="api_key"),
        result="denied",
    )
    write_events(container, A, 30)

    def record() -> None:
        for _ in range(30):
            audit.recorder.record(A, decision)

    recorder = threading.Thread(target=record)
    recorder.start()
    asyncio.run(_deliver(container))
    recorder.join()
    report = audit.queries.verify(A)
    assert report.intact, report.problem
    assert report.checked == 60
    assert audit.recorder.failures == 0
