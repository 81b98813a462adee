"""The ``phantom`` command (the console-script entry point is :func:`main`).

::

    phantom version [--json]
    phantom up [--host 127.0.0.1] [--port 8000] [--no-demo]
    phantom quickstart [--keep]
    phantom serve [--only ctx1,ctx2] [--host ...] [--port ...]
    phantom worker [--concurrency N] [--executor local|ray|ray://host:port]
    phantom admin ...
    phantom tenants|users|keys ...
    phantom audit ...
    phantom login | datasets ... | runs ... | train ...   (through the SDK)
    phantom models ... | deploy ... | deployments ... | predict ...   (same)
    phantom batch submit|list|show|download ...   (same)

``phantom up`` creates the first tenant on its first run (no tenant yet) and
prints the owner's API key once, below the banner. Unless ``--no-demo`` (or
``PHANTOM_DEMO=0``), that first run also creates a ``demo`` tenant whose model is
trained and deployed once the server answers; a ready-to-paste ``curl`` for its
first prediction follows (:mod:`phantom.cli.demo`).
"""

from __future__ import annotations

import gc
import json
import signal
import sys
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Annotated, Final, NoReturn

import typer
import uvicorn
from rich.console import Console
from rich.panel import Panel
from rich.table import Table

from phantom import __version__
from phantom.audit.cli import audit_app
from phantom.cli import CliState, build_for, reports_errors
from phantom.cli.admin import (
    FIRST_OWNER_EMAIL,
    FIRST_TENANT_NAME,
    FIRST_TENANT_SLUG,
    admin_app,
    migrate_all,
)
from phantom.cli.batch import batch_app
from phantom.cli.demo import create_demo_tenant, run_demo
from phantom.cli.deployments import deploy, deployments_app
from phantom.cli.keys import keys_app
from phantom.cli.models import models_app
from phantom.cli.monitor import monitor_app
from phantom.cli.predict import predict
from phantom.cli.privacy import privacy_app
from phantom.cli.quickstart import quickstart
from phantom.cli.tenancy import create_first_tenant, has_tenants, tenants_app
from phantom.cli.training import datasets_app, login, runs_app, train_app
from phantom.cli.users import users_app
from phantom.cli.worker import worker
from phantom.gateway import create_app
from phantom.kernel.errors import InvalidInput, Unavailable
from phantom.kernel.logging import configure_logging
from phantom.kernel.settings import Settings, load_settings

if TYPE_CHECKING:
    from collections.abc import Sequence
    from types import FrameType

    from fastapi import FastAPI

    from phantom.bootstrap import Container
    from phantom.tenancy.api import CreatedTenant

__all__ = ["app", "main"]

app = typer.Typer(
    name="phantom",
    help="Phantom ML: train, register, serve, monitor and audit models.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
app.add_typer(admin_app, name="admin")
app.add_typer(tenants_app, name="tenants")
app.add_typer(users_app, name="users")
app.add_typer(keys_app, name="keys")
app.add_typer(audit_app, name="audit")  # AUDIT WIRING: the audit context's commands
app.command()(worker)
app.command()(login)
app.add_typer(datasets_app, name="datasets")
app.add_typer(runs_app, name="runs")
app.add_typer(train_app, name="train")
app.add_typer(models_app, name="models")
app.command()(deploy)
app.add_typer(deployments_app, name="deployments")
app.command()(predict)
app.add_typer(batch_app, name="batch")
app.add_typer(privacy_app, name="privacy")
app.add_typer(monitor_app, name="monitor")
app.command()(quickstart)

HostOption = Annotated[
    str | None,
    typer.Option("--host", help="Interface to listen on [default: 127.0.0.1]."),
]
PortOption = Annotated[
    int | None,
    typer.Option("--port", min=0, max=65535, help="Port to listen on [default: 8000]."),
]
DemoOption = Annotated[
    bool,
    typer.Option(
        "--demo/--no-demo",
        envvar="PHANTOM_DEMO",
        help="On the first run, also create the demo tenant and deploy its model.",
    ),
]
AfterStart = Callable[[str, threading.Event], None]
"""Run in a thread once the server answers: its base URL, and an event set when
it stops."""
_HELPER_JOIN_S: Final = 10.0
_SWITCH_INTERVAL_S: Final = 0.0005


@app.command()
@reports_errors
def version(
    *,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Print Phantom's version."""
    if as_json:
        typer.echo(json.dumps({"version": __version__}))
    else:
        typer.echo(f"phantom {__version__}")


@app.command()
@reports_errors
def up(
    ctx: typer.Context,
    host: HostOption = None,
    port: PortOption = None,
    *,
    demo: DemoOption = True,
) -> None:
    """Start Phantom with every context (migrating the databases first).

    On the first run (no tenant yet) it creates the first tenant and its owner, a
    platform administrator, and prints the owner's API key once. Unless
    --no-demo, it also creates a demo tenant with a trained, deployed model, and
    prints a curl that sends it a prediction.
    """
    _serve(ctx, host, port, only=None, first_run=True, demo=demo)


@app.command()
@reports_errors
def serve(
    ctx: typer.Context,
    only: Annotated[
        str | None,
        typer.Option(
            "--only", help="Comma-separated contexts to serve (default: all)."
        ),
    ] = None,
    host: HostOption = None,
    port: PortOption = None,
) -> None:
    """Serve some or all contexts (one deployable service per context set)."""
    _serve(ctx, host, port, only=_parse_only(only), first_run=False)


def _parse_only(only: str | None) -> list[str] | None:
    if only is None:
        return None
    names = list(dict.fromkeys(n.strip() for n in only.split(",") if n.strip()))
    if not names:
        msg = "--only needs at least one context name"
        raise InvalidInput(msg)
    return names


def _serve(  # noqa: PLR0913 - up and serve share it
    ctx: typer.Context,
    host: str | None,
    port: int | None,
    only: Sequence[str] | None,
    *,
    first_run: bool,
    demo: bool = False,
) -> None:
    overrides: dict[str, object] = {"host": host, "port": port}
    settings = load_settings(**{k: v for k, v in overrides.items() if v is not None})
    configure_logging(settings)
    container = build_for(settings, CliState.of(ctx), only)
    try:
        migrate_all(container)
        created = _first_tenant(container) if first_run else None
        demo_key = _demo_tenant(container) if created and demo else None
        application = create_app(settings, container=container)
        _banner(settings, container, created, demo=demo_key is not None)
        _freeze_startup_objects()
        after_start = None
        if demo_key is not None:

            def after_start(url: str, stop: threading.Event) -> None:
                run_demo(url, demo_key, stop)

        _run(application, settings, after_start)
    finally:
        container.close()


def _first_tenant(container: Container) -> CreatedTenant | None:
    """Create the first tenant when there is none (``phantom up``'s first run)."""
    service = container.tenancy
    if service is None or has_tenants(service):
        return None
    return create_first_tenant(
        service,
        name=FIRST_TENANT_NAME,
        slug=FIRST_TENANT_SLUG,
        owner_email=FIRST_OWNER_EMAIL,
    )


def _demo_tenant(container: Container) -> str | None:
    """Create the demo tenant; its owner's key (``None`` without serving)."""
    service = container.tenancy
    if service is None or container.training is None or container.deployments is None:
        return None  # a deployment without the contexts the demo goes through
    created = create_demo_tenant(service)
    return created.owner_key.plaintext.get_secret_value()


def _display_host(host: str) -> str:
    if host in ("", "0.0.0.0"):  # noqa: S104 - recognising, not binding
        return "127.0.0.1"
    if host == "::":
        return "[::1]"
    return f"[{host}]" if ":" in host else host


def _banner(
    settings: Settings,
    container: Container,
    created: CreatedTenant | None,
    *,
    demo: bool = False,
) -> None:
    base = f"http://{_display_host(settings.host)}:{settings.port}"
    grid = Table.grid(padding=(0, 2))
    grid.add_row("API docs", f"{base}/docs")
    grid.add_row("Readiness", f"{base}/readyz")
    grid.add_row("Data", str(settings.home.resolve()))
    for name, db in container.databases.items():
        grid.add_row(f"  {name}", db.redacted_url())
    if created is not None:
        owner = created.owner.email
        grid.add_row("First tenant", f"{created.tenant.slug}, owner {owner}")
        grid.add_row("Owner API key", "below, shown once: store it now")
    if demo:
        grid.add_row("Demo tenant", "demo: its model is being trained and deployed;")
        grid.add_row("", "a curl to try it follows once it is ready")
    grid.add_row("Stop", "Ctrl-C")
    title = f"Phantom ML {__version__}"
    Console().print(Panel(grid, title=title, expand=False))
    if created is not None:  # on a line of its own: never wrapped or cut
        typer.echo(f"PHANTOM_API_KEY={created.owner_key.plaintext.get_secret_value()}")


def _freeze_startup_objects() -> None:
    """Move everything built so far out of the cyclic collector's sight.

    The app, its routes, schemas and modules live as long as the process; without
    this, every full collection under load walks them all (~140k objects): the
    tracking benchmark measured 0.9 s of collections per 100k metric points, and
    +80% ingest with ``gc.freeze()`` (bench/README.md). Done here, once per server
    process — never in ``create_app``, which tests call many times per process.
    """
    gc.collect()
    gc.freeze()
    # Background threads (the prediction log, relays, workers) take the GIL
    # whenever a request releases it (ONNX Runtime does, for each call); with
    # the default 5 ms switch interval the request then waits that long for it
    # back. 0.5 ms keeps that wait below a fast model's own time.
    sys.setswitchinterval(_SWITCH_INTERVAL_S)


class _TerminatedError(Exception):
    """SIGTERM arrived (re-raised by uvicorn once it has shut down gracefully)."""


def _on_sigterm(_signum: int, _frame: FrameType | None) -> NoReturn:
    raise _TerminatedError


def _listening_url(server: uvicorn.Server, settings: Settings) -> str:
    """The base URL a client on this machine reaches the started server at."""
    port = settings.port
    for listening in server.servers:
        for sock in listening.sockets or ():
            port = sock.getsockname()[1]  # the one chosen when asked for port 0
    return f"http://{_display_host(settings.host)}:{port}"


def _after_start(
    server: uvicorn.Server,
    settings: Settings,
    stop: threading.Event,
    action: AfterStart,
) -> None:
    """Wait until ``server`` answers (or stops), then run ``action``."""
    while not server.started:
        if stop.wait(0.05):
            return
    action(_listening_url(server, settings), stop)


def _run(
    application: FastAPI, settings: Settings, after_start: AfterStart | None = None
) -> None:
    """Serve until Ctrl-C or SIGTERM; both end the command normally (status 0).

    ``after_start`` runs in a thread once the server answers; the server's
    stopping sets the event it gets, and waits (a little) for it to end.
    """
    config = uvicorn.Config(
        application,
        host=settings.host,
        port=settings.port,
        log_config=None,
        access_log=False,
        server_header=False,
        lifespan="on",
    )
    server = uvicorn.Server(config)
    stop = threading.Event()
    helper = None
    if after_start is not None:
        helper = threading.Thread(
            target=_after_start,
            args=(server, settings, stop, after_start),
            name="after-start",
            daemon=True,
        )
        helper.start()
    previous = signal.signal(signal.SIGTERM, _on_sigterm)
    try:
        server.run()
    except (KeyboardInterrupt, _TerminatedError):
        return  # uvicorn stopped gracefully, then re-raised the signal for us
    except SystemExit as exc:
        if exc.code not in (0, None):
            msg = f"the server could not start on {settings.host}:{settings.port}"
            raise Unavailable(msg) from None
        return
    finally:
        signal.signal(signal.SIGTERM, previous)
        stop.set()
        if helper is not None:
            helper.join(_HELPER_JOIN_S)
    if not server.started:
        msg = "the server did not start; see the log above"
        raise Unavailable(msg)


def main() -> None:
    """Run the ``phantom`` command line (the console-script entry point)."""
    app()


if __name__ == "__main__":
    main()
