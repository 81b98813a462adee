"""The event bus contract over ``memory://`` and ``nats://``, plus adapter specifics."""

from __future__ import annotations

import asyncio
import sys
import time
from collections.abc import Iterator

import pytest
from structlog.testing import capture_logs

from phantom.kernel.bus import (
    Delivery,
    EventBus,
    MemoryBus,
    NatsBus,
    open_bus,
    subject_for,
    subject_token,
)
from phantom.kernel.errors import ConfigError, InvalidInput, Unavailable
from phantom.testing.contracts.bus import BusContract, Inbox, event, run_scenario
from phantom.testing.contracts.cache import ManualTime
from phantom.testing.nats import delete_stream, nats_test_url, require_nats

UNREACHABLE_NATS = "nats://127.0.0.1:1?connect_timeout=1"


class TestMemoryBus(BusContract):
    @pytest.fixture
    def bus(self) -> EventBus:
        return MemoryBus()

    def test_publish_returns_after_the_handlers_settled(self) -> None:
        bus = MemoryBus()

        async def scenario() -> None:
            inbox = Inbox()
            await bus.subscribe("c", inbox)
            await bus.publish(event())
            assert len(inbox.deliveries) == 1

        run_scenario(bus, scenario)

    def test_an_id_is_delivered_again_once_the_window_has_passed(self) -> None:
        clock = ManualTime()
        bus = MemoryBus(duplicate_window=120, clock=clock)

        async def scenario() -> None:
            inbox = Inbox()
            await bus.subscribe("c", inbox)
            sent = event()
            await bus.publish(sent)
            clock.advance(119)
            await bus.publish(sent)
            assert len(inbox.deliveries) == 1
            clock.advance(2)
            await bus.publish(sent)
            assert inbox.ids == [str(sent.id)] * 2

        run_scenario(bus, scenario)

    def test_remembered_ids_are_bounded(self) -> None:
        bus = MemoryBus(max_tracked_ids=2)

        async def scenario() -> None:
            inbox = Inbox()
            await bus.subscribe("c", inbox)
            first = event()
            for envelope in (first, event(), event(), first):
                await bus.publish(envelope)
            assert len(inbox.deliveries) == 4

        run_scenario(bus, scenario)

    def test_a_message_never_acked_is_dropped_after_the_cap_and_logged(self) -> None:
        bus = MemoryBus(max_attempts_cap=4)

        async def ignore(delivery: Delivery) -> None:
            pass

        async def scenario() -> None:
            inbox = Inbox(ignore)
            await bus.subscribe("c", inbox)
            sent = event()
            with capture_logs() as logs:
                await bus.publish(sent)
            assert [d.attempt for d in inbox.deliveries] == [1, 2, 3, 4]
            dropped = [e for e in logs if e["event"] == "bus.redelivery.dropped"]
            assert dropped == [
                {
                    "event": "bus.redelivery.dropped",
                    "log_level": "error",
                    "consumer": "c",
                    "event_id": str(sent.id),
                    "subject": subject_for(sent),
                    "attempts": 4,
                }
            ]

        run_scenario(bus, scenario)

    def test_a_nak_delay_is_capped(self) -> None:
        bus = MemoryBus(max_redelivery_delay=0.01)

        async def slow_nak(delivery: Delivery) -> None:
            if delivery.attempt == 1:
                await delivery.nak(delay=60)
            else:
                await delivery.ack()

        async def scenario() -> None:
            started = time.monotonic()
            inbox = Inbox(slow_nak)
            await bus.subscribe("c", inbox)
            await bus.publish(event())
            assert [d.attempt for d in inbox.deliveries] == [1, 2]
            assert time.monotonic() - started < 1

        run_scenario(bus, scenario)

    def test_a_full_backlog_drops_new_messages_for_that_consumer(self) -> None:
        bus = MemoryBus(backlog_limit=2)

        async def scenario() -> None:
            subscription = await bus.subscribe("c", Inbox())
            await subscription.stop()
            sent = [event(n=n) for n in range(3)]
            with capture_logs() as logs:
                for envelope in sent:
                    await bus.publish(envelope)
            assert [e["event"] for e in logs] == ["bus.backlog.overflow"]
            inbox = Inbox()
            await bus.subscribe("c", inbox)
            assert inbox.ids == [str(e.id) for e in sent[:2]]

        run_scenario(bus, scenario)

    def test_a_handler_publishing_to_its_own_consumer_does_not_deadlock(self) -> None:
        bus = MemoryBus()

        async def scenario() -> None:
            follow_up = event(n=2)

            async def chain(delivery: Delivery) -> None:
                if delivery.envelope.data["n"] == 1:
                    await bus.publish(follow_up)
                await delivery.ack()

            inbox = Inbox(chain)
            await bus.subscribe("c", inbox)
            first = event(n=1)
            await bus.publish(first)
            assert inbox.ids == [str(first.id), str(follow_up.id)]

        run_scenario(bus, scenario)

    def test_concurrent_publishers_wait_and_the_handler_runs_one_at_a_time(
        self,
    ) -> None:
        bus = MemoryBus()
        running: list[int] = []

        async def slow(delivery: Delivery) -> None:
            running.append(1)
            assert len(running) == 1
            await asyncio.sleep(0.01)
            running.pop()
            await delivery.ack()

        async def scenario() -> None:
            inbox = Inbox(slow)
            await bus.subscribe("c", inbox)
            await asyncio.gather(*(bus.publish(event(n=n)) for n in range(5)))
            assert len(inbox.deliveries) == 5

        run_scenario(bus, scenario)

    def test_stop_from_inside_the_handler_parks_the_rest(self) -> None:
        bus = MemoryBus()

        async def scenario() -> None:
            stopper: list[object] = []

            async def stop_on_first(delivery: Delivery) -> None:
                await delivery.nak()
                await stopper[0].stop()  # type: ignore[attr-defined]

            stopper.append(await bus.subscribe("c", Inbox(stop_on_first)))
            sent = event()
            await bus.publish(sent)
            inbox = Inbox()
            await bus.subscribe("c", inbox)
            assert [(d.envelope.id, d.attempt) for d in inbox.deliveries] == [
                (sent.id, 2)
            ]

        run_scenario(bus, scenario)

    @pytest.mark.parametrize(
        ("subjects", "matches"),
        [
            (">", True),
            ("t1.>", True),
            ("t1.registry.>", True),
            ("*.registry.*", True),
            ("t1.*.ModelRegistered", True),
            ("t1.registry.ModelRegistered", True),
            ("t1.registry.ModelRegistered.>", False),
            ("t1.*", False),
            ("t2.>", False),
            ("*.training.>", False),
        ],
    )
    def test_wildcards_match_like_nats(self, subjects: str, matches: bool) -> None:
        bus = MemoryBus()

        async def scenario() -> None:
            inbox = Inbox()
            await bus.subscribe("c", inbox, subjects=subjects)
            await bus.publish(event("t1", "registry.ModelRegistered"))
            assert len(inbox.deliveries) == int(matches)

        run_scenario(bus, scenario)

    def test_open_bus_reads_memory_options_from_the_url(self) -> None:
        bus = open_bus("memory://?prefix=app&max_attempts_cap=3&duplicate_window=1.5")
        assert isinstance(bus, MemoryBus)
        assert bus.prefix == "app"

    @pytest.mark.parametrize(
        "url",
        [
            "memory://?nope=1",
            "memory://?max_attempts_cap=x",
            "memory://?backlog_limit=0",
        ],
    )
    def test_bad_memory_options_are_config_errors(self, url: str) -> None:
        with pytest.raises(ConfigError):
            open_bus(url)


@pytest.mark.nats
class TestNatsBus(BusContract):
    @pytest.fixture
    def bus(self) -> Iterator[EventBus]:
        url = nats_test_url()
        require_nats(url)
        try:
            yield open_bus(url)
        finally:
            delete_stream(url)


def test_subject_carries_prefix_tenant_context_and_name() -> None:
    envelope = event("acme", "registry.ModelVersionRegistered")
    assert subject_for(envelope) == "phantom.acme.registry.ModelVersionRegistered"
    assert subject_for(envelope, "x.y") == "x.y.acme.registry.ModelVersionRegistered"


@pytest.mark.parametrize(
    ("value", "token"),
    [
        ("acme-1", "acme-1"),
        ("a.b", "a_2Eb"),
        ("a_b", "a_5Fb"),
        ("a b*>", "a_20b_2A_3E"),
        ("ü", "_C3_BC"),
    ],
)
def test_subject_tokens_escape_everything_but_letters_digits_and_dashes(
    value: str, token: str
) -> None:
    assert subject_token(value) == token


def test_subject_tokens_never_collide() -> None:
    values = ["a.b", "a_b", "a_2Eb", "a b", "a*b", "a>b", "a\tb", "ab", "a-b", "A.b"]
    assert len({subject_token(v) for v in values}) == len(values)


def test_an_empty_tenant_has_no_subject() -> None:
    with pytest.raises(InvalidInput):
        subject_for(event(""))


def test_unknown_scheme_is_a_config_error_naming_the_known_ones() -> None:
    with pytest.raises(ConfigError) as caught:
        open_bus("kafka://somewhere")
    assert "memory://" in str(caught.value)
    assert "nats://" in str(caught.value)


def test_open_bus_nats_connects_nothing_until_first_use() -> None:
    bus = open_bus(UNREACHABLE_NATS)
    assert isinstance(bus, NatsBus)
    assert bus.options.stream == "PHANTOM_EVENTS"
    assert bus.options.prefix == "phantom"
    assert (bus.options.ack_wait, bus.options.duplicate_window) == (30.0, 120.0)


def test_unreachable_nats_raises_unavailable_quickly() -> None:
    started = time.monotonic()
    bus = open_bus(UNREACHABLE_NATS)

    async def scenario() -> None:
        with pytest.raises(Unavailable) as caught:
            await bus.ping()
        assert "127.0.0.1:1" in str(caught.value)
        assert caught.value.__cause__ is not None
        with pytest.raises(Unavailable):
            await bus.publish(event())
        with pytest.raises(Unavailable):
            await bus.subscribe("c", Inbox())

    run_scenario(bus, scenario)
    assert time.monotonic() - started < 8.0


@pytest.mark.parametrize(
    "query",
    [
        "stream=a.b",
        "stream=",
        "prefix=a.*",
        "prefix=a..b",
        "ack_wait=0",
        "ack_wait=x",
        "x=1",
    ],
)
def test_bad_nats_options_are_config_errors(query: str) -> None:
    with pytest.raises(ConfigError):
        open_bus(f"nats://127.0.0.1:4222?{query}")


def test_missing_nats_py_is_a_config_error_naming_the_extra(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "nats", None)
    with pytest.raises(ConfigError, match=r"phantom-ml\[nats\]"):
        open_bus("nats://127.0.0.1:4222")
