"""Deployments from the command line, through the SDK.

::

    phantom deploy MODEL VERSION [--alias A] [--canary N | --shadow] [--json]
    phantom deploy MODEL --rollback [--alias A] [--json]
    phantom deployments list [--model M] [--json]
    phantom deployments show ID [--json]

``phantom deploy`` prints the deploy saga's steps and final state, and exits 1
unless it succeeded. Every command takes ``--url`` and ``--api-key`` (see
:mod:`phantom.cli.remote`).
"""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from phantom.cli.remote import (
    ApiKeyOption,
    JsonOption,
    UrlOption,
    add_row,
    fail,
    print_json,
    print_listing,
    talks_to_server,
    when,
)
from phantom.sdk import Client
from phantom.sdk.deployments import DEFAULT_ALIAS
from phantom.sdk.models import Deployment

__all__ = ["deploy", "deployments_app"]

deployments_app = typer.Typer(
    help="Inspect deployments (make one with `phantom deploy`).", no_args_is_help=True
)


def _show_deployment(found: Deployment) -> None:
    target = f"{found.model} v{found.version} -> {found.alias}"
    if found.canary_percent is not None:
        target += f" ({found.canary_percent}% canary)"
    typer.echo(f"deployment {found.deployment_id}: {found.kind} {target}")
    table = Table("step", "state", "detail")
    for step in found.steps:
        add_row(table, step.name, step.state, step.detail)
    Console().print(table)
    if found.previous_version is not None:
        typer.echo(f"previous version: v{found.previous_version}")
    typer.echo(f"state: {found.state}")


def _settle(found: Deployment, *, as_json: bool) -> None:
    """Show a deploy's outcome; exit 1 unless it succeeded."""
    if as_json:
        print_json(found)
    else:
        _show_deployment(found)
    if found.state != "succeeded":
        reason = f": {found.error}" if found.error else ""
        msg = f"deployment {found.deployment_id} {found.state}{reason}"
        raise fail(msg)


@talks_to_server
def deploy(  # noqa: PLR0913 - the deploy's options, keyword-only
    model: Annotated[str, typer.Argument(help="The registered model.")],
    version: Annotated[
        int | None,
        typer.Argument(min=1, help="The version to deploy (not with --rollback)."),
    ] = None,
    *,
    alias: Annotated[
        str, typer.Option("--alias", help="The alias to deploy behind.")
    ] = DEFAULT_ALIAS,
    canary: Annotated[
        int | None,
        typer.Option(
            "--canary", min=1, max=99, help="Send N% of the alias's traffic to it."
        ),
    ] = None,
    shadow: Annotated[
        bool,
        typer.Option("--shadow", help="Score every request with it, answer none."),
    ] = False,
    rollback: Annotated[
        bool,
        typer.Option(
            "--rollback", help="Put the alias back as before the last deploy."
        ),
    ] = False,
    url: UrlOption = None,
    api_key: ApiKeyOption = None,
    as_json: JsonOption = False,
) -> None:
    """Deploy VERSION of MODEL behind an alias, as a canary or a shadow; or roll back.

    Prints the deploy's steps and final state; exits 1 unless it succeeded.
    """
    if rollback and (version is not None or canary is not None or shadow):
        msg = "--rollback takes neither a VERSION, --canary nor --shadow"
        raise fail(msg)
    if not rollback and version is None:
        msg = "give the VERSION to deploy (or --rollback)"
        raise fail(msg)
    with Client(url, api_key) as client:
        found = (
            client.deployments.rollback(model, alias=alias)
            if version is None  # --rollback, as checked above
            else client.deployments.deploy(
                model, version, alias=alias, canary_percent=canary, shadow=shadow
            )
        )
    _settle(found, as_json=as_json)


@deployments_app.command("list")
@talks_to_server
def list_deployments(
    model: Annotated[str | None, typer.Option("--model")] = None,
    *,
    url: UrlOption = None,
    api_key: ApiKeyOption = None,
    as_json: JsonOption = False,
) -> None:
    """The tenant's deployments (of one model with --model)."""
    with Client(url, api_key) as client:
        items = client.deployments.list(model)
    print_listing(
        items,
        ("deployment", "model", "version", "alias", "kind", "state", "created"),
        lambda item: (
            item.deployment_id,
            item.model,
            f"v{item.version}",
            item.alias,
            str(item.kind)
            + ("" if item.canary_percent is None else f" {item.canary_percent}%"),
            item.state,
            when(item.created_at),
        ),
        as_json=as_json,
    )


@deployments_app.command("show")
@talks_to_server
def show_deployment(
    deployment_id: str,
    *,
    url: UrlOption = None,
    api_key: ApiKeyOption = None,
    as_json: JsonOption = False,
) -> None:
    """One deployment: its steps and state."""
    with Client(url, api_key) as client:
        found = client.deployments.get(deployment_id)
    if as_json:
        print_json(found)
    else:
        _show_deployment(found)
