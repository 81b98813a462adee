"""The ``phantom`` command (the console-script entry point is :func:`main`).

::

    phantom version [--json]
    phantom up [--host 127.0.0.1] [--port 8000]
    phantom serve [--only ctx1,ctx2] [--host ...] [--port ...]
    phantom worker [--concurrency N] [--executor local|ray|ray://host:port]
    phantom admin ...
    phantom tenants|users|keys ...
    phantom audit ...
    phantom login | datasets ... | runs ... | train ...   (through the SDK)
    phantom models ... | deploy ... | deployments ... | predict ...   (same)

``phantom up`` creates the first tenant on its first run (no tenant yet) and
prints the owner's API key once, below the banner.
"""

from __future__ import annotations

import gc
import json
import signal
from typing import TYPE_CHECKING, Annotated, NoReturn

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
from phantom.cli.deployments import deploy, deployments_app
from phantom.cli.keys import keys_app
from phantom.cli.models import models_app
from phantom.cli.predict import predict
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

HostOption = Annotated[
    str | None,
    typer.Option("--host", help="Interface to listen on [default: 127.0.0.1]."),
]
PortOption = Annotated[
    int | None,
    typer.Option("--port", min=0, max=65535, help="Port to listen on [default: 8000]."),
]


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
def up(ctx: typer.Context, host: HostOption = None, port: PortOption = None) -> None:
    """Start Phantom with every context (migrating the databases first).

    On the first run (no tenant yet) it creates the first tenant and its owner, a
    platform administrator, and prints the owner's API key once.
    """
    _serve(ctx, host, port, only=None, first_run=True)


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


def _serve(
    ctx: typer.Context,
    host: str | None,
    port: int | None,
    only: Sequence[str] | None,
    *,
    first_run: bool,
) -> None:
    overrides: dict[str, object] = {"host": host, "port": port}
    settings = load_settings(**{k: v for k, v in overrides.items() if v is not None})
    configure_logging(settings)
    container = build_for(settings, CliState.of(ctx), only)
    try:
        migrate_all(container)
        created = _first_tenant(container) if first_run else None
        application = create_app(settings, container=container)
        _banner(settings, container, created)
        _freeze_startup_objects()
        _run(application, settings)
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


def _display_host(host: str) -> str:
    if host in ("", "0.0.0.0"):  # noqa: S104 - recognising, not binding
        return "127.0.0.1"
    if host == "::":
        return "[::1]"
    return f"[{host}]" if ":" in host else host


def _banner(
    settings: Settings, container: Container, created: CreatedTenant | None
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


class _TerminatedError(Exception):
    """SIGTERM arrived (re-raised by uvicorn once it has shut down gracefully)."""


def _on_sigterm(_signum: int, _frame: FrameType | None) -> NoReturn:
    raise _TerminatedError


def _run(application: FastAPI, settings: Settings) -> None:
    """Serve until Ctrl-C or SIGTERM; both end the command normally (status 0)."""
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
    if not server.started:
        msg = "the server did not start; see the log above"
        raise Unavailable(msg)


def main() -> None:
    """Run the ``phantom`` command line (the console-script entry point)."""
    app()


if __name__ == "__main__":
    main()
