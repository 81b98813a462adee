"""The ``phantom`` command (the console-script entry point is :func:`main`).

::

    phantom version [--json]
    phantom up [--host 127.0.0.1] [--port 8000]
    phantom serve [--only ctx1,ctx2] [--host ...] [--port ...]
    phantom admin ...
"""

from __future__ import annotations

import json
import signal
from typing import TYPE_CHECKING, Annotated, NoReturn

import typer
import uvicorn
from rich.console import Console
from rich.panel import Panel
from rich.table import Table

from phantom import __version__
from phantom.cli import CliState, build_for, reports_errors
from phantom.cli.admin import admin_app, migrate_all
from phantom.gateway import create_app
from phantom.kernel.errors import InvalidInput, Unavailable
from phantom.kernel.logging import configure_logging
from phantom.kernel.settings import Settings, load_settings

if TYPE_CHECKING:
    from collections.abc import Sequence
    from types import FrameType

    from fastapi import FastAPI

    from phantom.bootstrap import Container

__all__ = ["app", "main"]

app = typer.Typer(
    name="phantom",
    help="Phantom ML: train, register, serve, monitor and audit models.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
app.add_typer(admin_app, name="admin")

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
    """Start Phantom with every context (migrating the databases first)."""
    _serve(ctx, host, port, only=None)


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
    _serve(ctx, host, port, only=_parse_only(only))


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
) -> None:
    overrides: dict[str, object] = {"host": host, "port": port}
    settings = load_settings(**{k: v for k, v in overrides.items() if v is not None})
    configure_logging(settings)
    container = build_for(settings, CliState.of(ctx), only)
    try:
        migrate_all(container)
        application = create_app(settings, container=container)
        _banner(settings, container)
        _run(application, settings)
    finally:
        container.close()


def _display_host(host: str) -> str:
    if host in ("", "0.0.0.0"):  # noqa: S104 - recognising, not binding
        return "127.0.0.1"
    if host == "::":
        return "[::1]"
    return f"[{host}]" if ":" in host else host


def _banner(settings: Settings, container: Container) -> None:
    base = f"http://{_display_host(settings.host)}:{settings.port}"
    grid = Table.grid(padding=(0, 2))
    grid.add_row("API docs", f"{base}/docs")
    grid.add_row("Readiness", f"{base}/readyz")
    grid.add_row("Data", str(settings.home.resolve()))
    for name, db in container.databases.items():
        grid.add_row(f"  {name}", db.redacted_url())
    grid.add_row("Stop", "Ctrl-C")
    title = f"Phantom ML {__version__}"
    Console().print(Panel(grid, title=title, expand=False))


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
