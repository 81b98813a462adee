"""``start_run``: buffering, flushing, failures surfacing, and how a run ends."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator

import httpx
import pytest

import phantom
from phantom.sdk import (
    ActiveRun,
    BufferSettings,
    ConflictError,
    NotFoundError,
    RunEnded,
    ServerError,
    ValidationError,
    start_run,
    tracking,
)
from tests.unit.sdk.fake import FakeServer, client_for, problem

SLOW = BufferSettings(interval_s=60.0, flush_points=100, batch_points=40)


@pytest.fixture
def server() -> FakeServer:
    return FakeServer()


@pytest.fixture(autouse=True)
def no_leftover_runs() -> Iterator[None]:
    yield
    assert phantom.active_run() is None
    assert not tracking._open_runs


def started(
    server: FakeServer, buffer: BufferSettings = SLOW, **kw: object
) -> ActiveRun:
    return start_run("exp", client=client_for(server.handler), buffer=buffer, **kw)  # type: ignore[arg-type]


def wait_until(condition: Callable[[], bool], timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.005)


def test_exit_flushes_everything_and_ends_the_run_finished(server: FakeServer) -> None:
    with started(server, params={"lr": 0.1}, tags={"team": "a"}) as run:
        assert phantom.active_run() is run
        run.log_param("epochs", 3)
        run.log_params({"batch": 32, "lr": 0.1})  # the same value again is fine
        run.set_tags({"stage": "dev"})
        for value in (0.9, 0.5, 0.3):
            run.log_metric("loss", value)
        run.log_metrics({"acc": 0.8, "f1": 0.7}, step=10)
        run.log_metric("acc", 0.85)
        assert server.batches == []  # all buffered: under 100 points, 60 s interval
    state = server.runs[run.id]
    assert state["status"] == "finished"
    assert state["params"] == {"lr": "0.1", "epochs": "3", "batch": "32"}
    assert state["tags"] == {"team": "a", "stage": "dev"}
    points = [(p["key"], p["step"], p["value"]) for p in server.points[run.id]]
    assert points == [
        ("loss", 0, 0.9),
        ("loss", 1, 0.5),
        ("loss", 2, 0.3),
        ("acc", 10, 0.8),
        ("f1", 10, 0.7),
        ("acc", 11, 0.85),  # the per-key counter follows an explicit step
    ]
    assert all("timestamp" in p for p in server.points[run.id])


def test_an_exception_flushes_ends_the_run_failed_and_propagates(
    server: FakeServer,
) -> None:
    message = "training diverged"
    run = started(server)

    def train() -> None:
        with run:
            run.log_metric("loss", 1.0)
            raise RuntimeError(message)

    with pytest.raises(RuntimeError, match=message):
        train()
    assert server.runs[run.id]["status"] == "failed"
    assert len(server.points[run.id]) == 1


def test_ctrl_c_ends_the_run_killed(server: FakeServer) -> None:
    with pytest.raises(KeyboardInterrupt), started(server) as run:
        raise KeyboardInterrupt
    assert server.runs[run.id]["status"] == "killed"


def test_reaching_flush_points_sends_without_waiting_for_the_interval(
    server: FakeServer,
) -> None:
    with started(server) as run:
        for step in range(99):
            run.log_metric("x", step)
        time.sleep(0.05)
        assert server.batches == []
        run.log_metric("x", 99.0)  # the 100th point
        wait_until(lambda: sum(server.batches) == 100)
        assert max(server.batches) <= 40  # batches of at most batch_points
    assert len(server.points[run.id]) == 100


def test_the_interval_sends_a_few_points_soon(server: FakeServer) -> None:
    quick = BufferSettings(interval_s=0.05, flush_points=1000)
    with started(server, buffer=quick) as run:
        run.log_metric("x", 1.0)
        run.set_tag("t", "v")
        wait_until(lambda: server.batches == [1])
        wait_until(lambda: server.runs[run.id]["tags"] == {"t": "v"})


def test_a_full_buffer_blocks_the_logger_and_drops_nothing(
    server: FakeServer,
) -> None:
    server.metric_delay_s = 0.01
    tight = BufferSettings(
        interval_s=60.0, flush_points=10, batch_points=10, max_points=20
    )
    with started(server, buffer=tight) as run:
        for step in range(300):
            run.log_metric("x", step)
            assert len(run._points) <= 20
    steps = [p["step"] for p in server.points[run.id]]
    assert steps == list(range(300))


def test_a_failure_in_the_background_surfaces_on_the_next_call(
    server: FakeServer,
) -> None:
    server.fail_metrics = lambda n: (
        problem(404, "not-found", "gone") if n == 0 else None
    )
    run = started(server)
    run.log_metrics({"a": 1.0, "b": 2.0})
    with pytest.raises(NotFoundError, match="gone") as caught:
        run.flush()
    assert "background writer" in "".join(caught.value.__notes__)
    assert "2 points" in "".join(caught.value.__notes__)
    assert run.lost_points == 2
    run.log_metric("a", 3.0)  # reported once; logging goes on
    run.flush()
    run.end()
    assert server.runs[run.id]["status"] == "finished"
    assert [p["value"] for p in server.points[run.id]] == [3.0]


def test_a_failure_not_yet_reported_fails_the_run_at_exit(server: FakeServer) -> None:
    server.fail_metrics = lambda _: problem(503, "unavailable")
    with pytest.raises(ServerError), started(server) as run:
        run.log_metric("loss", 1.0)
    assert server.runs[run.id]["status"] == "failed"
    assert server.batches == [-1]  # metric POSTs are never replayed


def test_a_background_failure_is_raised_by_log_metric(server: FakeServer) -> None:
    server.fail_metrics = lambda _: problem(422, "invalid-input", "bad batch")
    quick = BufferSettings(interval_s=0.01, flush_points=1)
    run = started(server, buffer=quick)
    run.log_metric("loss", 1.0)
    wait_until(lambda: run._failure is not None)
    with pytest.raises(ValidationError, match="bad batch"):
        run.log_metric("loss", 2.0)
    run.end()


def test_a_changed_param_and_bad_keys_are_refused_at_once(server: FakeServer) -> None:
    with started(server, params={"lr": 0.1}) as run:
        with pytest.raises(ConflictError, match="lr"):
            run.log_params({"lr": 0.2, "other": 1})
        with pytest.raises(ValidationError, match="param key"):
            run.log_param("bad\nkey", 1)
        with pytest.raises(ValidationError, match="metric key"):
            run.log_metric("", 1.0)
        with pytest.raises(ValidationError, match="step"):
            run.log_metric("x", 1.0, step=-3)
        run.log_metric("ok", 1.0)
    assert server.runs[run.id]["params"] == {"lr": "0.1"}  # "other" not logged either
    assert len(server.points[run.id]) == 1


def test_several_threads_log_at_once_and_every_point_arrives(
    server: FakeServer,
) -> None:
    buffer = BufferSettings(interval_s=0.02, flush_points=500, max_points=2_000)
    with started(server, buffer=buffer) as run:

        def work(name: str) -> None:
            for value in range(5_000):
                run.log_metric(name, value)
                run.log_metric("shared", value)

        threads = [threading.Thread(target=work, args=(f"t{i}",)) for i in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    points = server.points[run.id]
    assert len(points) == 40_000
    for name in ("t0", "t1", "t2", "t3"):
        assert [p["step"] for p in points if p["key"] == name] == list(range(5_000))
    assert sorted(p["step"] for p in points if p["key"] == "shared") == list(
        range(20_000)
    )


def test_active_run_is_the_innermost_run_of_this_thread(server: FakeServer) -> None:
    seen_elsewhere: list[ActiveRun | None] = []
    with started(server) as outer:
        with started(server) as inner:
            assert phantom.active_run() is inner
            thread = threading.Thread(
                target=lambda: seen_elsewhere.append(phantom.active_run())
            )
            thread.start()
            thread.join()
        assert phantom.active_run() is outer
    assert seen_elsewhere == [None]


def test_an_ended_run_refuses_more_logging(server: FakeServer) -> None:
    run = started(server)
    run.end()
    run.end()  # ending again does nothing
    with pytest.raises(RunEnded):
        run.log_metric("x", 1.0)
    assert server.runs[run.id]["status"] == "finished"


def test_runs_left_open_are_flushed_and_ended_at_exit(
    server: FakeServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    calm, crashed = started(server), started(server)
    calm.log_metric("x", 1.0)
    tracking._end_open_runs()
    assert server.runs[calm.id]["status"] == "finished"
    assert server.runs[crashed.id]["status"] == "finished"
    assert server.points[calm.id][0]["value"] == 1.0

    after_crash = started(server)
    monkeypatch.setattr("sys.last_value", RuntimeError("boom"), raising=False)
    tracking._end_open_runs()
    assert server.runs[after_crash.id]["status"] == "failed"


def test_the_default_client_comes_from_the_environment(
    server: FakeServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    created: list[object] = []
    fake = client_for(server.handler)

    def make() -> object:
        created.append(1)
        return fake

    monkeypatch.setattr(tracking, "_default", [])
    monkeypatch.setattr(tracking, "Client", make)
    with start_run("exp", buffer=SLOW) as run:
        run.log_metric("x", 1.0)
    with start_run("exp", buffer=SLOW):
        pass
    assert created == [1]
    assert server.runs[run.id]["status"] == "finished"


def test_buffer_settings_are_checked() -> None:
    with pytest.raises(ValueError, match="batch_points"):
        BufferSettings(batch_points=20_000)
    with pytest.raises(ValueError, match="flush_points"):
        BufferSettings(flush_points=10, max_points=5)


def test_the_fake_answers_unknown_runs_with_404(server: FakeServer) -> None:
    client = client_for(server.handler)
    with pytest.raises(NotFoundError):
        client.runs.get("nope")
    assert isinstance(server.requests[0], httpx.Request)
