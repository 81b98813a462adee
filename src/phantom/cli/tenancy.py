"""``phantom tenants``, and what the tenancy commands share.

::

    phantom tenants list [--json]
    phantom tenants create NAME --owner-email EMAIL [--slug SLUG] [--platform-admin]
    phantom tenants disable TENANT | enable TENANT

``phantom users`` (:mod:`phantom.cli.users`) and ``phantom keys``
(:mod:`phantom.cli.keys`) build on the helpers here. They all run on the server,
against its databases, as Phantom's own system principal (every permission;
commands name the tenant they act on, by id or slug). A created key is printed
once, on its own line, and never again.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from datetime import datetime
from functools import partial
from typing import TYPE_CHECKING, Annotated, TypeVar

import typer
from rich.console import Console
from rich.table import Table

from phantom.cli import CliState, open_container, quiet_settings, reports_errors
from phantom.kernel.errors import ConfigError
from phantom.tenancy.api import (
    CreatedApiKey,
    CreatedTenant,
    Page,
    TenantInfo,
    system_principal,
)
from phantom.tenancy.commands import CreateTenant, UpdateTenant

if TYPE_CHECKING:
    from phantom.bootstrap import Container
    from phantom.tenancy.service import TenancyService

__all__ = [
    "SYSTEM",
    "JsonOption",
    "TenantOption",
    "all_pages",
    "create_first_tenant",
    "created_tenant_json",
    "has_tenants",
    "print_created_tenant",
    "print_json",
    "print_key",
    "tenancy_of",
    "tenant_id_of",
    "tenants_app",
    "when",
]

T = TypeVar("T")

tenants_app = typer.Typer(
    help="Tenants (platform administration).", no_args_is_help=True
)

JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON.")]
TenantOption = Annotated[
    str, typer.Option("--tenant", help="The tenant's id or slug.", show_default=False)
]
SYSTEM = system_principal()
"""The principal the server-side commands act as."""
_TIME = "%Y-%m-%d %H:%M"


def tenancy_of(container: Container) -> TenancyService:
    """The container's tenancy service.

    Raises:
        ConfigError: the tenancy context is not part of this deployment.
    """
    if container.tenancy is None:
        msg = "the tenancy context is not part of this deployment (PHANTOM_CONTEXTS)"
        raise ConfigError(msg)
    return container.tenancy


def has_tenants(service: TenancyService) -> bool:
    """Whether any tenant exists."""
    return bool(service.list_tenants(SYSTEM, limit=1).items)


def create_first_tenant(
    service: TenancyService, *, name: str, slug: str, owner_email: str
) -> CreatedTenant:
    """Create a tenant whose owner is a platform administrator."""
    command = CreateTenant(
        name=name, slug=slug, owner_email=owner_email, owner_is_platform_admin=True
    )
    return service.create_tenant(command, SYSTEM)


def created_tenant_json(created: CreatedTenant) -> dict[str, object]:
    """The JSON form of a created tenant, with the owner's key in the clear."""
    return {
        "tenant": created.tenant.model_dump(mode="json"),
        "owner": created.owner.model_dump(mode="json"),
        "key": created.owner_key.key.model_dump(mode="json"),
        "api_key": created.owner_key.plaintext.get_secret_value(),
    }


def print_created_tenant(created: CreatedTenant) -> None:
    """Print a created tenant, its owner, and the owner's key (once)."""
    tenant, owner = created.tenant, created.owner
    grid = Table.grid(padding=(0, 2))
    grid.add_row("Tenant", f"{tenant.name} ({tenant.slug})  {tenant.id}")
    admin = " (platform administrator)" if owner.is_platform_admin else ""
    grid.add_row("Owner", f"{owner.email}{admin}  {owner.id}")
    Console().print(grid)
    print_key(created.owner_key)


def print_key(created: CreatedApiKey) -> None:
    """Print a new key's secret, once, on a line of its own."""
    typer.echo("API key (shown once, store it now):")
    typer.echo(created.plaintext.get_secret_value())


def all_pages(fetch: Callable[..., Page[T]]) -> Iterator[T]:
    """Every item of a paged list; ``fetch(after=...)`` returns one page."""
    after: str | None = None
    while True:
        page = fetch(after=after, limit=200)
        yield from page.items
        if page.next_after is None:
            return
        after = page.next_after


def tenant_id_of(service: TenancyService, wanted: str) -> str:
    """The id of the tenant whose id or slug is ``wanted``."""
    for tenant in all_pages(partial(service.list_tenants, SYSTEM)):
        if wanted in (tenant.id, tenant.slug):
            return tenant.id
    return wanted  # unknown: the service answers "no such tenant"


def _slug_of(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")[:40].strip("-")


def when(value: datetime | None) -> str:
    """A time as a table shows it."""
    return "-" if value is None else value.strftime(_TIME)


def print_json(value: object) -> None:
    """Print ``value`` as one line of JSON."""
    typer.echo(json.dumps(value))


# --- tenants ------------------------------------------------------------------


def _tenants_table(rows: list[TenantInfo]) -> Table:
    table = Table("ID", "Slug", "Name", "Status", "Users", "Keys", "Created")
    table.title = f"Tenants ({len(rows)})"
    for t in rows:
        users = f"{t.usage.users}/{t.quotas.max_users}"
        keys = f"{t.usage.api_keys}/{t.quotas.max_api_keys}"
        table.add_row(t.id, t.slug, t.name, t.status, users, keys, when(t.created_at))
    return table


@tenants_app.command("list")
@reports_errors
def list_tenants(ctx: typer.Context, *, as_json: JsonOption = False) -> None:
    """List every tenant with its usage and quotas."""
    with open_container(quiet_settings(), CliState.of(ctx)) as container:
        service = tenancy_of(container)
        rows = list(all_pages(partial(service.list_tenants, SYSTEM)))
    if as_json:
        print_json([row.model_dump(mode="json") for row in rows])
    elif not rows:
        typer.echo("no tenants; create the first one with `phantom admin init`")
    else:
        Console().print(_tenants_table(rows))


@tenants_app.command("create")
@reports_errors
def create_tenant(  # noqa: PLR0913 - one option per field
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(show_default=False)],
    *,
    owner_email: Annotated[
        str,
        typer.Option("--owner-email", help="The owner's email.", show_default=False),
    ],
    slug: Annotated[
        str | None, typer.Option("--slug", help="URL handle [default: from NAME].")
    ] = None,
    platform_admin: Annotated[
        bool,
        typer.Option("--platform-admin", help="Make the owner a platform admin."),
    ] = False,
    as_json: JsonOption = False,
) -> None:
    """Create a tenant and its owner; print the owner's API key once."""
    command = CreateTenant(
        name=name,
        slug=slug or _slug_of(name),
        owner_email=owner_email,
        owner_is_platform_admin=platform_admin,
    )
    with open_container(quiet_settings(), CliState.of(ctx)) as container:
        created = tenancy_of(container).create_tenant(command, SYSTEM)
    if as_json:
        print_json(created_tenant_json(created))
    else:
        print_created_tenant(created)


def _set_status(ctx: typer.Context, tenant: str, status: str) -> TenantInfo:
    with open_container(quiet_settings(), CliState.of(ctx)) as container:
        service = tenancy_of(container)
        command = UpdateTenant(tenant_id=tenant_id_of(service, tenant), status=status)
        return service.update_tenant(command, SYSTEM)


@tenants_app.command("disable")
@reports_errors
def disable_tenant(
    ctx: typer.Context, tenant: Annotated[str, typer.Argument(metavar="TENANT")]
) -> None:
    """Disable a tenant: every key and token of it stops working."""
    info = _set_status(ctx, tenant, "disabled")
    typer.echo(f"tenant {info.slug} ({info.id}) is disabled")


@tenants_app.command("enable")
@reports_errors
def enable_tenant(
    ctx: typer.Context, tenant: Annotated[str, typer.Argument(metavar="TENANT")]
) -> None:
    """Enable a disabled tenant again."""
    info = _set_status(ctx, tenant, "active")
    typer.echo(f"tenant {info.slug} ({info.id}) is active")
