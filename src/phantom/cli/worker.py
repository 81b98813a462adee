"""``phantom worker``: run training jobs from the queue, outside the API server.

::

    phantom worker [--concurrency 2] [--executor local|ray|ray://host:port]

Each of ``--concurrency`` threads leases one job at a time and runs it in a
subprocess (a pool of that many runners). The worker is not the analytics
store's writer: its trials' metric points go to the server through the training
database (the metric spool), so the server must be running for them to appear.
Ctrl-C or SIGTERM stops it; jobs it was running go back to the queue at once.
"""

from __future__ import annotations

import signal
import threading
from typing import TYPE_CHECKING, Annotated

import structlog
import typer

from phantom.bootstrap import training_worker
from phantom.cli import CliState, build_for, reports_errors
from phantom.cli.admin import migrate_all
from phantom.kernel.errors import ConfigError
from phantom.kernel.logging import configure_logging
from phantom.kernel.settings import load_settings

if TYPE_CHECKING:
    from types import FrameType

__all__ = ["worker"]

log = structlog.get_logger(__name__)


@reports_errors
def worker(
    ctx: typer.Context,
    concurrency: Annotated[
        int,
        typer.Option("--concurrency", min=1, max=64, help="Jobs run at once."),
    ] = 1,
    executor: Annotated[
        str | None,
        typer.Option(
            "--executor", help="Where trials run: local, ray or ray://host:port."
        ),
    ] = None,
) -> None:
    """Run training jobs from the queue until Ctrl-C."""
    overrides: dict[str, object] = {"analytics_writer": False}
    if executor is not None:
        overrides["executor"] = executor
    settings = load_settings(**overrides)
    configure_logging(settings)
    container = build_for(settings, CliState.of(ctx))
    stop = threading.Event()

    def on_signal(_signum: int, _frame: FrameType | None) -> None:
        stop.set()

    previous = signal.signal(signal.SIGTERM, on_signal)
    try:
        migrate_all(container)
        threads = []
        for number in range(concurrency):
            made = training_worker(container)
            if made is None:
                msg = "this deployment has no training context to work for"
                raise ConfigError(msg)
            thread = threading.Thread(
                target=made.run, args=(stop,), name=f"worker-{number}", daemon=True
            )
            thread.start()
            threads.append(thread)
        typer.echo(
            f"phantom worker: {concurrency} runner(s), executor {settings.executor}; "
            "Ctrl-C to stop",
            err=True,
        )
        try:
            while not stop.wait(0.5):
                pass
        except KeyboardInterrupt:
            stop.set()
        for thread in threads:
            thread.join(timeout=30)
    finally:
        signal.signal(signal.SIGTERM, previous)
        container.close()
