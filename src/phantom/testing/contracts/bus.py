"""The event bus contract: behaviour every :class:`~phantom.kernel.bus.EventBus` shows.

Subclass :class:`BusContract` in a test module (its name must start with ``Test``)
and provide a ``bus`` fixture: a fresh bus under test, with no consumers and nothing
published on it yet, that nothing else is using. Each test runs its scenario with
:func:`run_scenario`, which closes the bus at the end, so the fixture only has to
clean up what lives outside the bus object (a NATS stream, say).

The suite uses no pytest plugin: every test is synchronous and drives one
``asyncio.run``. Every wait is bounded (:data:`WAIT` seconds), so a bus that loses
a message fails the test instead of hanging it.

Behaviour the contract leaves to each adapter (what a consumer's first subscribe
sees of earlier messages, when an unsettled delivery comes back) belongs to the
adapter's own tests.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

import pytest

from phantom.kernel.bus import Delivery, EventBus, subject_for, subject_token
from phantom.kernel.context import Actor
from phantom.kernel.errors import ConfigError, Conflict, InvalidInput, Unavailable
from phantom.kernel.events.envelope import Envelope, new_envelope

__all__ = ["SCENARIO_TIMEOUT", "WAIT", "BusContract", "Inbox", "event", "run_scenario"]

WAIT = 5.0
"""Seconds a test waits for deliveries that should arrive."""

SCENARIO_TIMEOUT = 20.0
"""Seconds one whole scenario may take."""

SETTLE = 0.3
"""Seconds a test waits to see that something does *not* arrive."""

Reaction = Callable[[Delivery], Awaitable[None]]


def event(
    tenant: str = "t1",
    name: str = "registry.ModelRegistered",
    **data: object,
) -> Envelope:
    """A new envelope of type ``name`` for ``tenant``, carrying ``data``."""
    return new_envelope(name, tenant_id=tenant, stream_id=f"{tenant}-s1", data=data)


def run_scenario(
    bus: EventBus,
    scenario: Callable[[], Awaitable[None]],
    timeout: float = SCENARIO_TIMEOUT,
) -> None:
    """Run ``scenario`` in a fresh event loop, then close ``bus`` in that loop."""

    async def main() -> None:
        try:
            await asyncio.wait_for(scenario(), timeout)
        finally:
            await bus.close()

    asyncio.run(main())


class Inbox:
    """A handler that records every delivery and acks it (or reacts as told).

    Args:
        react: called instead of acking; it decides how to settle the delivery.
    """

    def __init__(self, react: Reaction | None = None) -> None:
        self.deliveries: list[Delivery] = []
        self._react = react

    async def __call__(self, delivery: Delivery) -> None:
        """Record ``delivery``, then ack it or hand it to ``react``."""
        self.deliveries.append(delivery)
        if self._react is None:
            await delivery.ack()
        else:
            await self._react(delivery)

    @property
    def ids(self) -> list[str]:
        """The envelope ids delivered so far, in delivery order."""
        return [str(d.envelope.id) for d in self.deliveries]

    async def wait_for(
        self, predicate: Callable[[], bool], what: str, within: float = WAIT
    ) -> None:
        """Wait until ``predicate()`` holds; fail the test after ``within`` s."""
        deadline = time.monotonic() + within
        while not predicate():
            if time.monotonic() > deadline:
                pytest.fail(f"timed out after {within} s waiting for {what}")
            await asyncio.sleep(0.01)

    async def wait_count(self, count: int, within: float = WAIT) -> None:
        """Wait until at least ``count`` deliveries arrived."""
        await self.wait_for(
            lambda: len(self.deliveries) >= count, f"{count} deliveries", within
        )

    async def wait_id(self, envelope: Envelope, within: float = WAIT) -> None:
        """Wait until ``envelope`` was delivered."""
        await self.wait_for(
            lambda: str(envelope.id) in self.ids, f"envelope {envelope.id}", within
        )


class BusContract:
    """Behaviour every event bus adapter must show (see the module docstring)."""

    @pytest.fixture
    def bus(self) -> EventBus:
        """The bus under test; subclasses must override this fixture."""
        msg = f"{type(self).__name__} must provide a 'bus' fixture"
        raise NotImplementedError(msg)

    # -- publish / subscribe -----------------------------------------------------

    def test_subscriber_receives_the_envelope_exactly_as_published(
        self, bus: EventBus
    ) -> None:
        sent = new_envelope(
            "registry.ModelVersionRegistered",
            tenant_id="acme",
            stream_id="model-1",
            data={"name": "ünïcode 名前", "nested": {"n": [1, 2.5, None, True]}},
            actor=Actor(kind="user", id="u-1", via="api_key"),
            schema_version=3,
            occurred_at=datetime(2025, 1, 2, 3, 4, 5, 678901, tzinfo=UTC),
            correlation_id="corr-1",
            causation_id="cause-1",
        ).with_version(7)

        async def scenario() -> None:
            inbox = Inbox()
            await bus.subscribe("c1", inbox)
            await bus.publish(sent)
            await inbox.wait_count(1)
            (got,) = inbox.deliveries
            assert got.envelope == sent
            assert got.envelope.to_dict() == sent.to_dict()
            assert got.attempt == 1
            suffix = subject_for(sent, "p").removeprefix("p")
            assert got.subject.endswith(suffix)
            assert got.subject.endswith(".acme.registry.ModelVersionRegistered")

        run_scenario(bus, scenario)

    def test_every_consumer_gets_its_own_copy(self, bus: EventBus) -> None:
        async def scenario() -> None:
            first, second = Inbox(), Inbox()
            await bus.subscribe("first", first)
            await bus.subscribe("second", second)
            sent = event()
            await bus.publish(sent)
            await first.wait_id(sent)
            await second.wait_id(sent)
            assert first.ids == second.ids == [str(sent.id)]

        run_scenario(bus, scenario)

    def test_messages_arrive_in_publish_order_per_subject(self, bus: EventBus) -> None:
        async def scenario() -> None:
            inbox = Inbox()
            await bus.subscribe("ordered", inbox)
            names = ("registry.ModelRegistered", "training.RunStarted")
            sent = [event(name=names[n % 2], n=n) for n in range(30)]
            for envelope in sent:
                await bus.publish(envelope)
            await inbox.wait_count(len(sent))
            for name in names:
                got = [d.envelope for d in inbox.deliveries if d.envelope.type == name]
                assert got == [e for e in sent if e.type == name]

        run_scenario(bus, scenario)

    # -- redelivery --------------------------------------------------------------

    def test_a_naked_message_comes_back_with_the_next_attempt(
        self, bus: EventBus
    ) -> None:
        async def nak_twice(delivery: Delivery) -> None:
            if delivery.attempt < 3:
                await delivery.nak()
            else:
                await delivery.ack()

        async def scenario() -> None:
            inbox = Inbox(nak_twice)
            await bus.subscribe("retrying", inbox)
            sent = event()
            await bus.publish(sent)
            await inbox.wait_count(3)
            await asyncio.sleep(SETTLE)
            assert [d.attempt for d in inbox.deliveries] == [1, 2, 3]
            assert set(inbox.ids) == {str(sent.id)}

        run_scenario(bus, scenario)

    def test_a_nak_with_a_delay_still_comes_back(self, bus: EventBus) -> None:
        async def nak_once(delivery: Delivery) -> None:
            if delivery.attempt == 1:
                await delivery.nak(delay=0.2)
            else:
                await delivery.ack()

        async def scenario() -> None:
            inbox = Inbox(nak_once)
            await bus.subscribe("delayed", inbox)
            await bus.publish(event())
            await inbox.wait_count(2)
            assert [d.attempt for d in inbox.deliveries] == [1, 2]

        run_scenario(bus, scenario)

    def test_a_handler_that_raises_gets_the_message_again(self, bus: EventBus) -> None:
        async def fail_twice(delivery: Delivery) -> None:
            if delivery.attempt < 3:
                msg = f"boom {delivery.attempt}"
                raise RuntimeError(msg)
            await delivery.ack()

        async def scenario() -> None:
            inbox = Inbox(fail_twice)
            await bus.subscribe("failing", inbox)
            sent = event()
            await bus.publish(sent)  # the handler's failure never reaches here
            await inbox.wait_count(3)
            await asyncio.sleep(SETTLE)
            assert [d.attempt for d in inbox.deliveries] == [1, 2, 3]
            assert set(inbox.ids) == {str(sent.id)}

        run_scenario(bus, scenario)

    def test_settling_twice_keeps_the_first_outcome(self, bus: EventBus) -> None:
        async def ack_then_nak(delivery: Delivery) -> None:
            await delivery.ack()
            await delivery.nak()

        async def scenario() -> None:
            inbox = Inbox(ack_then_nak)
            await bus.subscribe("settled", inbox)
            first, second = event(n=1), event(n=2)
            await bus.publish(first)
            await bus.publish(second)
            await inbox.wait_count(2)
            await asyncio.sleep(SETTLE)
            assert inbox.ids == [str(first.id), str(second.id)]

        run_scenario(bus, scenario)

    # -- subjects ----------------------------------------------------------------

    def test_a_tenant_filter_sees_none_of_another_tenants_events(
        self, bus: EventBus
    ) -> None:
        # "acme.eu" and "acme_eu" would share a token under a lossy escaping
        mine, theirs = "acme.eu", "acme_eu"

        async def scenario() -> None:
            tenant_only, everything = Inbox(), Inbox()
            await bus.subscribe(
                "tenant-only", tenant_only, subjects=f"{subject_token(mine)}.>"
            )
            await bus.subscribe("everything", everything)
            sent = [event(mine, n=1), event(theirs, n=2), event(mine, n=3)]
            for envelope in sent:
                await bus.publish(envelope)
            await everything.wait_count(3)
            await tenant_only.wait_count(2)
            await asyncio.sleep(SETTLE)
            assert tenant_only.ids == [str(sent[0].id), str(sent[2].id)]
            assert {d.envelope.tenant_id for d in tenant_only.deliveries} == {mine}

        run_scenario(bus, scenario)

    def test_a_context_filter_sees_only_that_context(self, bus: EventBus) -> None:
        async def scenario() -> None:
            registry, everything = Inbox(), Inbox()
            await bus.subscribe("registry", registry, subjects="*.registry.>")
            await bus.subscribe("everything", everything)
            wanted = event("t2", "registry.AliasSet")
            await bus.publish(event("t1", "training.RunStarted"))
            await bus.publish(wanted)
            await bus.publish(event("t1", "serving.EndpointCreated"))
            await everything.wait_count(3)
            await asyncio.sleep(SETTLE)
            assert registry.ids == [str(wanted.id)]

        run_scenario(bus, scenario)

    @pytest.mark.parametrize("subjects", ["", "a..b", "a.>.b", "a*", "a b", ">x"])
    def test_a_malformed_filter_is_invalid_input(
        self, bus: EventBus, subjects: str
    ) -> None:
        async def scenario() -> None:
            with pytest.raises(InvalidInput):
                await bus.subscribe("bad", Inbox(), subjects=subjects)

        run_scenario(bus, scenario)

    def test_an_event_type_without_a_context_is_invalid_input(
        self, bus: EventBus
    ) -> None:
        async def scenario() -> None:
            with pytest.raises(InvalidInput):
                await bus.publish(event(name="NoContext"))

        run_scenario(bus, scenario)

    def test_data_json_cannot_carry_is_invalid_input(self, bus: EventBus) -> None:
        async def scenario() -> None:
            with pytest.raises(InvalidInput):
                await bus.publish(event(blob=object()))

        run_scenario(bus, scenario)

    def test_data_arrives_as_json_would_carry_it(self, bus: EventBus) -> None:
        async def scenario() -> None:
            inbox = Inbox()
            await bus.subscribe("wire", inbox)
            at = datetime(2025, 1, 2, tzinfo=UTC)
            await bus.publish(event(at=at, tags=("a", "b")))
            await inbox.wait_count(1)
            data = inbox.deliveries[0].envelope.data
            assert data == {"at": "2025-01-02T00:00:00Z", "tags": ["a", "b"]}

        run_scenario(bus, scenario)

    # -- de-duplication ----------------------------------------------------------

    def test_the_same_envelope_published_twice_is_delivered_once(
        self, bus: EventBus
    ) -> None:
        async def scenario() -> None:
            inbox = Inbox()
            await bus.subscribe("dedupe", inbox)
            sent, marker = event(n=1), event(n=2)
            await bus.publish(sent)
            await bus.publish(sent)
            await bus.publish(marker)  # same subject: it arrives after any copy
            await inbox.wait_id(marker)
            await asyncio.sleep(SETTLE)
            assert inbox.ids == [str(sent.id), str(marker.id)]

        run_scenario(bus, scenario)

    # -- durable consumers -------------------------------------------------------

    def test_a_stopped_consumer_resumes_with_what_was_published_meanwhile(
        self, bus: EventBus
    ) -> None:
        async def scenario() -> None:
            before = Inbox()
            subscription = await bus.subscribe("durable", before)
            first = event(n=1)
            await bus.publish(first)
            await before.wait_id(first)
            await subscription.stop()
            await subscription.stop()  # idempotent
            meanwhile = [event(n=2), event(n=3)]
            for envelope in meanwhile:
                await bus.publish(envelope)
            after = Inbox()
            await bus.subscribe("durable", after)
            await after.wait_count(2)
            await asyncio.sleep(SETTLE)
            assert before.ids == [str(first.id)]
            assert after.ids == [str(e.id) for e in meanwhile]

        run_scenario(bus, scenario)

    def test_a_second_active_subscription_under_one_name_is_a_conflict(
        self, bus: EventBus
    ) -> None:
        async def scenario() -> None:
            subscription = await bus.subscribe("once", Inbox())
            with pytest.raises(Conflict):
                await bus.subscribe("once", Inbox())
            await subscription.stop()
            await bus.subscribe("once", Inbox())

        run_scenario(bus, scenario)

    def test_resubscribing_with_other_subjects_is_a_config_error(
        self, bus: EventBus
    ) -> None:
        async def scenario() -> None:
            subscription = await bus.subscribe("narrow", Inbox(), subjects="t1.>")
            await subscription.stop()
            with pytest.raises(ConfigError):
                await bus.subscribe("narrow", Inbox(), subjects="t2.>")

        run_scenario(bus, scenario)

    def test_an_empty_consumer_name_is_invalid_input(self, bus: EventBus) -> None:
        async def scenario() -> None:
            with pytest.raises(InvalidInput):
                await bus.subscribe("", Inbox())

        run_scenario(bus, scenario)

    # -- ping / close ------------------------------------------------------------

    def test_ping_succeeds_on_an_open_bus(self, bus: EventBus) -> None:
        run_scenario(bus, bus.ping)

    def test_publish_subscribe_and_ping_after_close_raise_unavailable(
        self, bus: EventBus
    ) -> None:
        async def scenario() -> None:
            await bus.ping()
            await bus.close()
            await bus.close()  # idempotent
            with pytest.raises(Unavailable, match="closed"):
                await bus.publish(event())
            with pytest.raises(Unavailable, match="closed"):
                await bus.subscribe("late", Inbox())
            with pytest.raises(Unavailable, match="closed"):
                await bus.ping()

        run_scenario(bus, scenario)

    def test_close_stops_the_subscriptions(self, bus: EventBus) -> None:
        async def scenario() -> None:
            inbox = Inbox()
            subscription = await bus.subscribe("closing", inbox)
            await bus.close()
            await subscription.stop()  # still fine after close

        run_scenario(bus, scenario)
