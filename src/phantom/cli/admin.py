"""``phantom admin``: first tenant, migrations and dead letters.

::

    phantom admin init [--name NAME] [--slug SLUG] [--owner-email EMAIL]
                       [--force-new-tenant] [--json]
    phantom admin migrate
    phantom admin dead-letters list [--context NAME] [--all] [--json]
    phantom admin dead-letters replay ID [--context NAME] [--json]
"""

from __future__ import annotations

import json
import uuid
from typing import TYPE_CHECKING, Annotated

import typer
from alembic.util import CommandError
from rich.console import Console
from rich.table import Table
from sqlalchemy.exc import SQLAlchemyError

from phantom.cli import (
    CliState,
    driver_reason,
    open_container,
    quiet_settings,
    reports_errors,
)
from phantom.cli.tenancy import (
    create_first_tenant,
    created_tenant_json,
    has_tenants,
    print_created_tenant,
    tenancy_of,
)
from phantom.kernel.db.migrate import migrate
from phantom.kernel.errors import (
    ConfigError,
    Conflict,
    InvalidInput,
    NotFound,
    Unavailable,
)
from phantom.kernel.events.dead_letters import (
    DeadLetter,
    DeadLetterNotFound,
    DeadLetterStore,
)

if TYPE_CHECKING:
    from phantom.bootstrap import Container
    from phantom.kernel.events.inbox import Consumer

__all__ = [
    "FIRST_OWNER_EMAIL",
    "FIRST_TENANT_NAME",
    "FIRST_TENANT_SLUG",
    "admin_app",
    "migrate_all",
]

FIRST_TENANT_NAME = "Default"
FIRST_TENANT_SLUG = "default"
FIRST_OWNER_EMAIL = "admin@phantom.local"

admin_app = typer.Typer(
    help="Administration: first tenant, migrations and dead letters.",
    no_args_is_help=True,
)
dead_letters_app = typer.Typer(
    help="Events that consumers gave up on: list and replay them.",
    no_args_is_help=True,
)
admin_app.add_typer(dead_letters_app, name="dead-letters")

ContextOption = Annotated[
    str | None,
    typer.Option("--context", help="Only this context's database.", show_default=False),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON.")]


def migrate_all(container: Container) -> list[tuple[str, str]]:
    """Migrate every context database; return ``(context, redacted URL)`` pairs.

    Raises:
        Unavailable: a database cannot be reached or refused a migration.
        ConfigError: a context's migration scripts are broken.
    """
    done: list[tuple[str, str]] = []
    for name, db in container.databases.items():
        where = db.redacted_url()
        try:
            migrate(db, container.modules[name].migrations)
        except SQLAlchemyError as exc:
            msg = f"could not migrate context {name!r} at {where}: {driver_reason(exc)}"
            raise Unavailable(msg) from exc
        except CommandError as exc:
            msg = f"the migrations of context {name!r} are broken: {exc}"
            raise ConfigError(msg) from exc
        done.append((name, where))
    return done


@admin_app.command("init")
@reports_errors
def init_command(  # noqa: PLR0913 - one option per field
    ctx: typer.Context,
    *,
    name: Annotated[str, typer.Option("--name", help="The tenant's name.")] = (
        FIRST_TENANT_NAME
    ),
    slug: Annotated[str, typer.Option("--slug", help="The tenant's URL handle.")] = (
        FIRST_TENANT_SLUG
    ),
    owner_email: Annotated[
        str, typer.Option("--owner-email", help="The owner's email.")
    ] = FIRST_OWNER_EMAIL,
    force_new_tenant: Annotated[
        bool,
        typer.Option(
            "--force-new-tenant", help="Create a tenant even if some already exist."
        ),
    ] = False,
    as_json: JsonOption = False,
) -> None:
    """Create the first tenant and its owner, a platform administrator.

    Migrates the databases first. The owner's API key is printed once.
    """
    settings = quiet_settings()
    with open_container(settings, CliState.of(ctx)) as container:
        migrate_all(container)
        service = tenancy_of(container)
        if has_tenants(service) and not force_new_tenant:
            msg = (
                "Phantom already has tenants; use `phantom tenants create`, or "
                "--force-new-tenant to create another platform administrator's tenant"
            )
            raise Conflict(msg)
        created = create_first_tenant(
            service, name=name, slug=slug, owner_email=owner_email
        )
    if as_json:
        typer.echo(json.dumps(created_tenant_json(created)))
    else:
        print_created_tenant(created)


@admin_app.command("migrate")
@reports_errors
def migrate_command(ctx: typer.Context) -> None:
    """Bring every context database to the newest schema."""
    settings = quiet_settings()
    with open_container(settings, CliState.of(ctx)) as container:
        done = migrate_all(container)
    table = Table("Context", "Database", "Status", title="Migrations")
    for name, where in done:
        table.add_row(name, where, "[green]done[/green]")
    Console().print(table)


def _letters(
    container: Container, context: str | None, *, include_replayed: bool
) -> list[tuple[str, DeadLetter]]:
    names = [context] if context is not None else list(container.databases)
    found: list[tuple[str, DeadLetter]] = []
    for name in names:
        store = DeadLetterStore(container.database(name))
        try:
            letters = store.list(include_replayed=include_replayed)
        except SQLAlchemyError as exc:
            msg = (
                f"cannot read the dead letters of context {name!r} "
                f"({driver_reason(exc)}); has `phantom admin migrate` run?"
            )
            raise Unavailable(msg) from exc
        found.extend((name, letter) for letter in letters)
    return found


def _as_dict(context: str, letter: DeadLetter) -> dict[str, object]:
    replayed = letter.replayed_at
    return {
        "id": str(letter.id),
        "context": context,
        "consumer": letter.consumer,
        "event_id": str(letter.envelope.id),
        "event_type": letter.envelope.type,
        "tenant_id": letter.envelope.tenant_id,
        "attempts": letter.attempts,
        "failed_at": letter.failed_at.isoformat(),
        "replayed_at": None if replayed is None else replayed.isoformat(),
        "error": letter.error,
    }


def _letters_table(rows: list[tuple[str, DeadLetter]], *, replayed: bool) -> Table:
    columns = ["ID", "Context", "Consumer", "Event type", "Tenant", "Attempts"]
    columns += ["Failed at", *(["Replayed at"] if replayed else []), "Error"]
    table = Table(*columns, title=f"Dead letters ({len(rows)})")
    for context, letter in rows:
        cells = [str(letter.id), context, letter.consumer, letter.envelope.type]
        cells += [letter.envelope.tenant_id, str(letter.attempts)]
        cells.append(letter.failed_at.strftime("%Y-%m-%d %H:%M:%S"))
        if replayed:
            at = letter.replayed_at
            cells.append("-" if at is None else at.strftime("%Y-%m-%d %H:%M:%S"))
        cells.append(letter.error.splitlines()[0][:80] if letter.error else "")
        table.add_row(*cells)
    return table


@dead_letters_app.command("list")
@reports_errors
def list_command(
    ctx: typer.Context,
    *,
    context: ContextOption = None,
    include_replayed: Annotated[
        bool, typer.Option("--all", help="Include letters already replayed.")
    ] = False,
    as_json: JsonOption = False,
) -> None:
    """List dead letters, oldest first (not yet replayed ones unless --all)."""
    settings = quiet_settings()
    with open_container(settings, CliState.of(ctx)) as container:
        rows = _letters(container, context, include_replayed=include_replayed)
    if as_json:
        typer.echo(json.dumps([_as_dict(name, letter) for name, letter in rows]))
        return
    if not rows:
        typer.echo("no dead letters" if include_replayed else "no pending dead letters")
        return
    Console().print(_letters_table(rows, replayed=include_replayed))


def _parse_id(text: str) -> uuid.UUID:
    try:
        return uuid.UUID(text)
    except ValueError:
        msg = f"{text!r} is not a dead-letter id (a UUID)"
        raise InvalidInput(msg) from None


def _find(
    container: Container, letter_id: uuid.UUID, context: str | None
) -> tuple[str, DeadLetter]:
    names = [context] if context is not None else list(container.databases)
    for name in names:
        try:
            return name, DeadLetterStore(container.database(name)).get(letter_id)
        except DeadLetterNotFound:
            continue
    where = f"context {context!r}" if context else "any context"
    msg = f"no dead letter {letter_id} in {where}"
    raise DeadLetterNotFound(msg)


def _consumer_of(container: Container, context: str, letter: DeadLetter) -> Consumer:
    consumer = container.consumers.get(letter.consumer)
    if consumer is None or consumer.db.context != context:
        known = ", ".join(sorted(container.consumers)) or "none"
        msg = (
            f"dead letter {letter.id} belongs to consumer {letter.consumer!r}, which "
            f"is not part of this build (known consumers: {known})"
        )
        raise NotFound(msg)
    return consumer


@dead_letters_app.command("replay")
@reports_errors
def replay_command(
    ctx: typer.Context,
    letter_id: Annotated[str, typer.Argument(metavar="ID", show_default=False)],
    *,
    context: ContextOption = None,
    as_json: JsonOption = False,
) -> None:
    """Run a dead letter's event through its consumer again and mark it replayed."""
    parsed = _parse_id(letter_id)
    settings = quiet_settings()
    with open_container(settings, CliState.of(ctx)) as container:
        name, letter = _find(container, parsed, context)
        consumer = _consumer_of(container, name, letter)
        applied = consumer.replay(parsed)
    if as_json:
        result = {"id": str(parsed), "context": name, "consumer": consumer.name}
        typer.echo(json.dumps({**result, "applied": applied}))
        return
    outcome = "effect applied" if applied else "already handled, nothing applied"
    typer.echo(f"replayed dead letter {parsed} through {consumer.name}: {outcome}")
