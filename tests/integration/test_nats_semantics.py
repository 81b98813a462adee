"""What the NATS bus relies on JetStream for: de-duplication, ack_wait, durability."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Iterator

import pytest

from phantom.kernel.bus import Delivery, NatsBus, subject_for
from phantom.testing.contracts.bus import Inbox, event, run_scenario
from phantom.testing.nats import delete_stream, nats_test_url, require_nats

pytestmark = pytest.mark.nats


def _with_bus(url: str, scenario_of: Callable[[NatsBus], Awaitable[None]]) -> None:
    bus = NatsBus(url)
    run_scenario(bus, lambda: scenario_of(bus))


@pytest.fixture
def url() -> Iterator[str]:
    """A unique stream and prefix on the test server (skips without NATS)."""
    url = nats_test_url("pi")
    require_nats(url)
    try:
        yield url
    finally:
        delete_stream(url)


async def _stream_state(bus: NatsBus) -> tuple[int, float]:
    """(messages stored, duplicate window in seconds) of ``bus``'s stream."""
    js = await bus._jetstream()
    info = await js.stream_info(bus.options.stream)
    return info.state.messages, info.config.duplicate_window


def test_a_duplicate_msg_id_inside_the_window_is_stored_and_delivered_once(
    url: str,
) -> None:
    async def scenario(bus: NatsBus) -> None:
        sent, marker = event(n=1), event(n=2)
        await bus.publish(sent)
        await bus.publish(sent)  # a PubAck with duplicate=True is not an error
        js = await bus._jetstream()
        ack = await js.publish(
            subject_for(sent, bus.prefix),
            b"not even an envelope",
            headers={"Nats-Msg-Id": str(sent.id)},
        )
        assert ack.duplicate is True
        await bus.publish(marker)
        assert await _stream_state(bus) == (2, 120.0)
        inbox = Inbox()
        await bus.subscribe("dedupe", inbox)
        await inbox.wait_count(2)
        await asyncio.sleep(0.3)
        assert inbox.ids == [str(sent.id), str(marker.id)]

    _with_bus(url, scenario)


def test_a_delivery_not_acked_within_ack_wait_comes_back_as_attempt_two(
    url: str,
) -> None:
    seen: list[tuple[int, float]] = []

    async def ack_second(delivery: Delivery) -> None:
        seen.append((delivery.attempt, time.monotonic()))
        if delivery.attempt > 1:
            await delivery.ack()

    async def scenario(bus: NatsBus) -> None:
        inbox = Inbox(ack_second)
        await bus.subscribe("slow", inbox)
        await bus.publish(event())
        await inbox.wait_count(2)
        await asyncio.sleep(0.8)  # acked now: no third delivery after ack_wait
        assert [attempt for attempt, _ in seen] == [1, 2]
        assert seen[1][1] - seen[0][1] >= 0.4

    _with_bus(f"{url}&ack_wait=0.5", scenario)


def test_a_consumer_resumes_across_bus_instances_like_a_restart(url: str) -> None:
    first, second = event(n=1), event(n=2)
    before, after = Inbox(), Inbox()

    async def first_process(bus: NatsBus) -> None:
        await bus.subscribe("svc", before)
        await bus.publish(first)
        await before.wait_id(first)

    async def second_process(bus: NatsBus) -> None:
        await bus.publish(second)
        await bus.subscribe("svc", after)
        await after.wait_id(second)
        await asyncio.sleep(0.3)

    _with_bus(url, first_process)
    _with_bus(url, second_process)
    assert before.ids == [str(first.id)]
    assert after.ids == [str(second.id)]


def test_a_new_consumer_reads_what_the_stream_still_holds(url: str) -> None:
    async def scenario(bus: NatsBus) -> None:
        earlier = event()
        await bus.publish(earlier)
        inbox = Inbox()
        await bus.subscribe("late-joiner", inbox)
        await inbox.wait_id(earlier)

    _with_bus(url, scenario)


def test_connecting_updates_the_duplicate_window_of_an_existing_stream(
    url: str,
) -> None:
    async def scenario(bus: NatsBus) -> None:
        assert await _stream_state(bus) == (0, 7.0)

    _with_bus(url, lambda bus: bus.ping())
    _with_bus(f"{url}&duplicate_window=7", scenario)
