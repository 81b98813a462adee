"""``phantom users``: the users of a tenant, administered on the server.

::

    phantom users list --tenant TENANT [--json]
    phantom users create EMAIL --tenant TENANT [--role viewer] [--name NAME] [--json]
    phantom users disable USER_ID --tenant TENANT
"""

from __future__ import annotations

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
    tenancy_of,
    tenant_id_of,
    when,
)
from phantom.tenancy.api import UserInfo
from phantom.tenancy.commands import CreateUser, UpdateUser

__all__ = ["users_app"]

users_app = typer.Typer(help="Users of a tenant.", no_args_is_help=True)


def _users_table(rows: list[UserInfo]) -> Table:
    table = Table("ID", "Email", "Name", "Role", "Disabled", "Platform admin")
    table.add_column("Created")
    table.title = f"Users ({len(rows)})"
    for u in rows:
        table.add_row(
            u.id,
            u.email,
            u.display_name,
            u.role,
            "yes" if u.disabled else "no",
            "yes" if u.is_platform_admin else "no",
            when(u.created_at),
        )
    return table


@users_app.command("list")
@reports_errors
def list_users(
    ctx: typer.Context, *, tenant: TenantOption, as_json: JsonOption = False
) -> None:
    """List a tenant's users."""
    with open_container(quiet_settings(), CliState.of(ctx)) as container:
        service = tenancy_of(container)
        tenant_id = tenant_id_of(service, tenant)
        fetch = partial(service.list_users, SYSTEM, tenant_id=tenant_id)
        rows = list(all_pages(fetch))
    if as_json:
        print_json([row.model_dump(mode="json") for row in rows])
    else:
        Console().print(_users_table(rows))


@users_app.command("create")
@reports_errors
def create_user(  # noqa: PLR0913 - one option per field
    ctx: typer.Context,
    email: Annotated[str, typer.Argument(show_default=False)],
    *,
    tenant: TenantOption,
    role: Annotated[str, typer.Option("--role", help="The user's role.")] = "viewer",
    name: Annotated[
        str | None, typer.Option("--name", help="Display name [default: from EMAIL].")
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Add a user to a tenant."""
    with open_container(quiet_settings(), CliState.of(ctx)) as container:
        service = tenancy_of(container)
        command = CreateUser(
            email=email,
            display_name=name,
            role=role,
            tenant_id=tenant_id_of(service, tenant),
        )
        user = service.create_user(command, SYSTEM)
    if as_json:
        print_json(user.model_dump(mode="json"))
    else:
        typer.echo(f"user {user.email} ({user.id}) created with role {user.role}")


@users_app.command("disable")
@reports_errors
def disable_user(
    ctx: typer.Context,
    user_id: Annotated[str, typer.Argument(metavar="USER_ID")],
    *,
    tenant: TenantOption,
) -> None:
    """Disable a user: their keys and tokens stop working."""
    with open_container(quiet_settings(), CliState.of(ctx)) as container:
        service = tenancy_of(container)
        command = UpdateUser(
            user_id=user_id, disabled=True, tenant_id=tenant_id_of(service, tenant)
        )
        user = service.update_user(command, SYSTEM)
    typer.echo(f"user {user.email} ({user.id}) is disabled")
