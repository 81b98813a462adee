"""The model registry from the command line, through the SDK.

::

    phantom models list [--json]
    phantom models show NAME [--json]              the model, its versions, its aliases
    phantom models versions NAME [--json]
    phantom models register NAME FILE [--description D] [--signature S.json] [--json]
    phantom models alias NAME ALIAS VERSION        point ALIAS at VERSION
    phantom models unalias NAME ALIAS
    phantom models history NAME ALIAS [--at TIME] [--json]
    phantom models archive NAME VERSION

Every command takes ``--url`` and ``--api-key`` (see :mod:`phantom.cli.remote`);
a problem is one ``error: ...`` line on stderr and exit status 1.
"""

from __future__ import annotations

import json
from collections import defaultdict
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

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
from phantom.sdk.models import AliasAssignment, ModelVersion

__all__ = ["models_app"]

models_app = typer.Typer(
    help="Register models, manage their aliases and versions.", no_args_is_help=True
)


# -- models ---------------------------------------------------------------------


@models_app.command("list")
@talks_to_server
def list_models(
    *, url: UrlOption = None, api_key: ApiKeyOption = None, as_json: JsonOption = False
) -> None:
    """The tenant's models."""
    with Client(url, api_key) as client:
        items = client.models.list()
    print_listing(
        items,
        ("name", "latest", "archived", "updated", "description"),
        lambda item: (
            item.name,
            f"v{item.latest_version}",
            "yes" if item.archived else "",
            when(item.updated_at),
            item.description,
        ),
        as_json=as_json,
    )


@models_app.command("show")
@talks_to_server
def show_model(
    name: str,
    *,
    url: UrlOption = None,
    api_key: ApiKeyOption = None,
    as_json: JsonOption = False,
) -> None:
    """A model with its versions and its current aliases."""
    with Client(url, api_key) as client:
        model = client.models.get(name)
        versions = client.models.versions(name)
        aliases = client.models.aliases(name)
    if as_json:
        print_json(
            {
                "model": model.model_dump(mode="json"),
                "versions": [v.model_dump(mode="json") for v in versions],
                "aliases": [a.model_dump(mode="json") for a in aliases],
            }
        )
        return
    typer.echo(f"{model.name} ({model.model_id}), latest v{model.latest_version}")
    if model.description:
        typer.echo(f"  {model.description}")
    typer.echo(f"  created {when(model.created_at)} by {model.created_by}")
    _versions_table(versions, aliases)
    if aliases:
        table = Table("alias", "version", "since", "set by")
        for assignment in aliases:
            add_row(
                table,
                assignment.alias,
                f"v{assignment.version}",
                when(assignment.valid_from),
                assignment.set_by,
            )
        Console().print(table)


def _versions_table(
    versions: list[ModelVersion], aliases: list[AliasAssignment]
) -> None:
    named: defaultdict[int, list[str]] = defaultdict(list)
    for assignment in aliases:
        named[assignment.version].append(assignment.alias)
    table = Table(
        "version", "format", "status", "aliases", "features", "sha256", "created"
    )
    for version in versions:
        add_row(
            table,
            f"v{version.version}",
            version.format,
            version.status,
            ", ".join(named.get(version.version, [])),
            str(len(version.signature)),
            version.digest[:12],
            when(version.created_at),
        )
    Console().print(table)


@models_app.command("versions")
@talks_to_server
def list_versions(
    name: str,
    *,
    url: UrlOption = None,
    api_key: ApiKeyOption = None,
    as_json: JsonOption = False,
) -> None:
    """Every version of a model, newest first."""
    with Client(url, api_key) as client:
        versions = client.models.versions(name)
        aliases = [] if as_json else client.models.aliases(name)
    if as_json:
        print_json(versions)
        return
    _versions_table(versions, aliases)


def _read_signature(path: Path) -> list[dict[str, Any]]:
    """A signature file: a JSON list of features, or an object with ``signature``."""
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        msg = f"cannot read {path}: {exc.strerror}"
        raise fail(msg) from None
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        msg = f"{path} is not valid JSON: {exc}"
        raise fail(msg) from None
    if isinstance(document, dict) and "signature" in document:
        document = document["signature"]
    if not isinstance(document, list) or not all(
        isinstance(entry, dict) and isinstance(entry.get("name"), str)
        for entry in document
    ):
        msg = (
            f"{path} must hold a JSON list of features such as "
            '[{"name": "age", "type": "integer"}]'
        )
        raise fail(msg)
    return document


@models_app.command("register")
@talks_to_server
def register_model(  # noqa: PLR0913 - the upload's options, keyword-only
    name: str,
    file: Annotated[
        Path, typer.Argument(help="A skops, ONNX, XGBoost or LightGBM file.")
    ],
    description: Annotated[str | None, typer.Option("--description")] = None,
    signature: Annotated[
        Path | None,
        typer.Option(
            "--signature",
            help='A JSON file: the input features, e.g. [{"name": "age", '
            '"type": "integer"}, ...] (integer, float, boolean or string).',
        ),
    ] = None,
    *,
    url: UrlOption = None,
    api_key: ApiKeyOption = None,
    as_json: JsonOption = False,
) -> None:
    """Upload FILE as the next version of model NAME (created if new)."""
    features = None if signature is None else _read_signature(signature)
    with Client(url, api_key) as client:
        version = client.models.register(
            name, file, description=description, signature=features
        )
    if as_json:
        print_json(version)
        return
    typer.echo(
        f"{version.name} v{version.version}: {version.format}, "
        f"{version.size_bytes} bytes, {len(version.signature)} features, "
        f"sha256 {version.digest[:12]}"
    )


@models_app.command("alias")
@talks_to_server
def set_alias(
    name: str,
    alias: str,
    version: Annotated[int, typer.Argument(min=1)],
    *,
    url: UrlOption = None,
    api_key: ApiKeyOption = None,
) -> None:
    """Point ALIAS of model NAME at VERSION."""
    with Client(url, api_key) as client:
        assignment = client.models.set_alias(name, alias, version)
    typer.echo(
        f"{name}@{assignment.alias} -> v{assignment.version} "
        f"(since {when(assignment.valid_from)})"
    )


@models_app.command("unalias")
@talks_to_server
def remove_alias(
    name: str, alias: str, *, url: UrlOption = None, api_key: ApiKeyOption = None
) -> None:
    """Remove ALIAS from model NAME (its history stays)."""
    with Client(url, api_key) as client:
        client.models.remove_alias(name, alias)
    typer.echo(f"{name}@{alias} removed")


def _parse_time(text: str) -> datetime:
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        msg = f"--at {text!r} is not an ISO 8601 time such as 2026-05-01T12:00:00Z"
        raise fail(msg) from None


@models_app.command("history")
@talks_to_server
def alias_history(  # noqa: PLR0913 - the query's options, keyword-only
    name: str,
    alias: str,
    at: Annotated[
        str | None,
        typer.Option(
            "--at",
            help="Only the assignment in force at this ISO 8601 time "
            "(without a zone: UTC).",
        ),
    ] = None,
    *,
    url: UrlOption = None,
    api_key: ApiKeyOption = None,
    as_json: JsonOption = False,
) -> None:
    """Every assignment of ALIAS, oldest first; with --at, the one in force then."""
    moment = None if at is None else _parse_time(at)
    with Client(url, api_key) as client:
        if moment is not None:
            found = client.models.alias_at(name, alias, moment)
            if as_json:
                print_json(found)
                return
            typer.echo(
                f"{name}@{alias} at {at}: v{found.version} "
                f"(from {when(found.valid_from)} to "
                f"{when(found.valid_to) or 'now'}, set by {found.set_by})"
            )
            return
        history = client.models.alias_history(name, alias)
    if as_json:
        print_json(history)
        return
    table = Table("version", "from", "to", "set by")
    for span in history:
        add_row(
            table,
            f"v{span.version}",
            when(span.valid_from),
            when(span.valid_to) or "now",
            span.set_by,
        )
    Console().print(table)


@models_app.command("archive")
@talks_to_server
def archive_version(
    name: str,
    version: Annotated[int, typer.Argument(min=1)],
    *,
    url: UrlOption = None,
    api_key: ApiKeyOption = None,
) -> None:
    """Archive VERSION of model NAME (it keeps its file; no alias may use it)."""
    with Client(url, api_key) as client:
        archived = client.models.archive(name, version)
    typer.echo(f"{archived.name} v{archived.version} {archived.status}")
