"""``phantom keys``: the API keys of a tenant, administered on the server.

::

    phantom keys list --tenant TENANT [--user USER_ID] [--json]
    phantom keys create --tenant TENANT --user USER_ID --name NAME [--scope S]...
                        [--expires-in-days N] [--json]
    phantom keys revoke KEY_ID --tenant TENANT

A created key is printed once; lists never show a secret.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from phantom.cli import CliState, open_container, quiet_settings, reports_errors
from phantom.cli.tenancy import (
    SYSTEM,
    JsonOption,
    TenantOption,
    all_pages,
    print_json,
    print_key,
    tenancy_of,
    tenant_id_of,
    when,
)
from phantom.tenancy.api import ApiKeyInfo
from phantom.tenancy.commands import CreateApiKey, RevokeApiKey

__all__ = ["keys_app"]

keys_app = typer.Typer(help="API keys of a tenant.", no_args_is_help=True)


def _keys_table(rows: list[ApiKeyInfo]) -> Table:
    table = Table("ID", "Prefix", "Name", "User", "Scopes", "Expires", "Revoked")
    table.add_column("Last used")
    table.title = f"API keys ({len(rows)})"
    for k in rows:
        scopes = "all" if k.scopes is None else " ".join(k.scopes)
        table.add_row(
            k.id,
            k.prefix,
            k.name,
            k.user_id,
            scopes,
            when(k.expires_at),
            when(k.revoked_at),
            when(k.last_used_at),
        )
    return table


@keys_app.command("list")
@reports_errors
def list_keys(
    ctx: typer.Context,
    *,
    tenant: TenantOption,
    user: Annotated[
        str | None, typer.Option("--user", help="Only this user's keys.")
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """List a tenant's API keys (never their secrets)."""
    with open_container(quiet_settings(), CliState.of(ctx)) as container:
        service = tenancy_of(container)
        tenant_id = tenant_id_of(service, tenant)
        fetch = partial(service.list_keys, SYSTEM, user_id=user, tenant_id=tenant_id)
        rows = list(all_pages(fetch))
    if as_json:
        print_json([row.model_dump(mode="json") for row in rows])
    else:
        Console().print(_keys_table(rows))


@keys_app.command("create")
@reports_errors
def create_key(  # noqa: PLR0913 - one option per field
    ctx: typer.Context,
    *,
    tenant: TenantOption,
    user: Annotated[
        str,
        typer.Option("--user", help="The user the key acts as.", show_default=False),
    ],
    name: Annotated[str, typer.Option("--name", help="What the key is for.")],
    scope: Annotated[
        list[str] | None,
        typer.Option("--scope", help="Narrow the key to this permission (repeat)."),
    ] = None,
    expires_in_days: Annotated[
        int | None, typer.Option("--expires-in-days", min=1, max=3650)
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Create an API key for a user; print it once."""
    expires = (
        None
        if expires_in_days is None
        else datetime.now(UTC) + timedelta(days=expires_in_days)
    )
    with open_container(quiet_settings(), CliState.of(ctx)) as container:
        service = tenancy_of(container)
        command = CreateApiKey(
            name=name,
            user_id=user,
            scopes=scope or None,
            expires_at=expires,
            tenant_id=tenant_id_of(service, tenant),
        )
        created = service.create_key(command, SYSTEM)
    if as_json:
        key = created.key.model_dump(mode="json")
        print_json({"key": key, "api_key": created.plaintext.get_secret_value()})
        return
    typer.echo(f"key {created.key.prefix} ({created.key.id}) created")
    print_key(created)


@keys_app.command("revoke")
@reports_errors
def revoke_key(
    ctx: typer.Context,
    key_id: Annotated[str, typer.Argument(metavar="KEY_ID")],
    *,
    tenant: TenantOption,
) -> None:
    """Revoke an API key: it stops working within a second."""
    with open_container(quiet_settings(), CliState.of(ctx)) as container:
        service = tenancy_of(container)
        command = RevokeApiKey(key_id=key_id, tenant_id=tenant_id_of(service, tenant))
        key = service.revoke_key(command, SYSTEM)
    typer.echo(f"key {key.prefix} ({key.id}) is revoked")
