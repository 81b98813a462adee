"""``phantom audit``: verify the chains, search a trail, sign checkpoints now.

::

    phantom audit verify [--tenant ID] [--json]
    phantom audit search --tenant ID [--action PREFIX] [--since T] [--until T]
                         [--actor ID] [--result R] [--text S] [--after SEQ]
                         [--limit N] [--json]
    phantom audit checkpoint [--tenant ID] [--json]

``verify`` exits 0 only when every chain it verified is intact, and
:data:`EXIT_NOT_INTACT` (3) when one is not; any error is one line on stderr and
exit status 1. The CLI's root adds this sub-app with
``app.add_typer(audit_app, name="audit")``.

The commands read the same settings as the server (``PHANTOM_*``, ``phantom.toml``)
and open only the audit database, with the configured PostgreSQL roles: the
composition root and ``phantom.cli`` sit above the contexts, so a context's
commands build what they need from the kernel rather than import them.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Annotated, Final, ParamSpec, TypeVar

import structlog
import typer
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from pydantic import ValidationError
from rich.console import Console
from rich.table import Table
from sqlalchemy.exc import SQLAlchemyError

from phantom.audit.adapters.keys import checkpoint_keys
from phantom.audit.api import AuditSearch, AuditVerification
from phantom.audit.consumer import AUDIT_CONTEXT
from phantom.audit.recorder import SqlAuditRecorder
from phantom.audit.views import SqlAuditQueries
from phantom.kernel.db.engine import open_database
from phantom.kernel.db.roles import DatabaseRoles
from phantom.kernel.errors import InvalidInput, PhantomError
from phantom.kernel.logging import configure_logging
from phantom.kernel.settings import load_settings

__all__ = ["EXIT_ERROR", "EXIT_INTERRUPTED", "EXIT_NOT_INTACT", "audit_app"]

log = structlog.get_logger(__name__)

EXIT_ERROR: Final = 1
"""Exit status of a command that failed (one line on stderr)."""

EXIT_NOT_INTACT: Final = 3
"""Exit status of ``verify`` when a chain is not intact."""

EXIT_INTERRUPTED: Final = 130
"""Exit status after Ctrl-C."""

P = ParamSpec("P")
R = TypeVar("R")

audit_app = typer.Typer(
    help="The audit trail: verify the chains, search entries, sign checkpoints.",
    no_args_is_help=True,
)

TenantOption = Annotated[
    str | None,
    typer.Option("--tenant", help="Only this tenant's chain.", show_default=False),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON.")]


def _reports_errors(command: Callable[P, R]) -> Callable[P, R]:
    """Turn a failure into one line on stderr and exit status :data:`EXIT_ERROR`."""

    @functools.wraps(command)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return command(*args, **kwargs)
        except (typer.Exit, typer.Abort):
            raise
        except PhantomError as exc:
            message = exc.detail
        except ValidationError as exc:
            error = exc.errors()[0]
            where = ".".join(str(part) for part in error["loc"]) or "input"
            message = f"invalid {where}: {error['msg']}"
        except SQLAlchemyError as exc:
            message = f"database error: {_first_line(exc)}"
            if "no such table" in message or "does not exist" in message:
                message += "; has `phantom admin migrate` run?"
        except KeyboardInterrupt:
            typer.echo("error: interrupted", err=True)
            raise typer.Exit(EXIT_INTERRUPTED) from None
        except Exception as exc:
            log.debug("audit.cli.failed", exc_info=exc)
            message = f"unexpected {type(exc).__name__}: {_first_line(exc)}"
        typer.echo(f"error: {message}", err=True)
        raise typer.Exit(EXIT_ERROR)

    return wrapper


def _first_line(exc: BaseException) -> str:
    original = getattr(exc, "orig", None) or exc
    lines = str(original).strip().splitlines()
    return lines[0][:200] if lines else type(original).__name__


@contextmanager
def _recorder() -> Iterator[SqlAuditRecorder]:
    """The audit database and key of the configured deployment, closed afterwards."""
    settings = load_settings()
    if "log_level" not in settings.model_fields_set:
        settings = settings.model_copy(update={"log_level": "WARNING"})
    configure_logging(settings)
    roles = DatabaseRoles(settings.database_app_role, settings.database_system_role)
    url = settings.database_url_for(AUDIT_CONTEXT)
    db = open_database(AUDIT_CONTEXT, url, roles=roles)
    try:
        yield SqlAuditRecorder(db, checkpoint_keys(settings.home / "keys"))
    finally:
        db.dispose()


def _queries(recorder: SqlAuditRecorder) -> SqlAuditQueries:
    """Reads that trust the key file's public key, without creating a key."""
    keys = recorder.keys

    def trusted() -> list[Ed25519PublicKey]:
        return keys.public_keys() if keys.path.exists() else []

    return SqlAuditQueries(recorder.db, recorder.log, trusted)


def _problem_text(result: AuditVerification) -> str:
    problem = result.problem
    if problem is None:
        return ""
    return f"{problem.kind} at seq {problem.seq}: {problem.detail}"


def _verify_table(results: list[tuple[str, AuditVerification]]) -> Table:
    table = Table("Tenant", "Checked", "Last seq", "Signed seq", "Status", "Problem")
    table.title = f"Audit chains ({len(results)})"
    for tenant, result in results:
        status = "[green]intact[/green]" if result.intact else "[red]BROKEN[/red]"
        table.add_row(
            tenant,
            str(result.checked),
            str(result.last_seq),
            str(result.checkpoint_seq),
            status,
            _problem_text(result),
        )
    return table


@audit_app.command("verify")
@_reports_errors
def verify_command(*, tenant: TenantOption = None, as_json: JsonOption = False) -> None:
    """Verify every tenant's chain (or one) against its signed checkpoints."""
    with _recorder() as recorder:
        tenants = (
            [tenant]
            if tenant is not None
            else [state.tenant_id for state in recorder.chain_states(key_id="")]
        )
        queries = _queries(recorder)
        results = [(name, queries.verify(name)) for name in tenants]
    intact = all(result.intact for _, result in results)
    if as_json:
        chains = [
            {"tenant_id": name, **result.model_dump(mode="json")}
            for name, result in results
        ]
        typer.echo(json.dumps({"intact": intact, "chains": chains}))
    elif not results:
        typer.echo("no audit chains yet")
    else:
        Console().print(_verify_table(results))
    if not intact:
        raise typer.Exit(EXIT_NOT_INTACT)


def _parse_time(name: str, value: str | None) -> datetime | None:
    """An ISO 8601 time; one without an offset is taken as UTC."""
    if value is None:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        msg = f"--{name} {value!r} is not an ISO 8601 time (2026-04-01T09:00:00Z)"
        raise InvalidInput(msg) from None
    return parsed if parsed.utcoffset() is not None else parsed.replace(tzinfo=UTC)


@audit_app.command("search")
@_reports_errors
def search_command(  # noqa: PLR0913 - one keyword per filter
    *,
    tenant: Annotated[
        str, typer.Option("--tenant", help="The tenant whose trail to search.")
    ],
    action: Annotated[
        str | None, typer.Option("--action", help="Action prefix (auth. finds auth.*).")
    ] = None,
    since: Annotated[
        str | None, typer.Option("--since", help="From this time (ISO 8601, UTC).")
    ] = None,
    until: Annotated[
        str | None, typer.Option("--until", help="Before this time (ISO 8601, UTC).")
    ] = None,
    actor: Annotated[
        str | None, typer.Option("--actor", help="Only this actor id.")
    ] = None,
    result: Annotated[
        str | None,
        typer.Option("--result", help="success, denied, error or allowed."),
    ] = None,
    text: Annotated[
        str | None, typer.Option("--text", help="Substring of the details.")
    ] = None,
    after: Annotated[
        int | None, typer.Option("--after", min=0, help="Entries after this seq.")
    ] = None,
    limit: Annotated[int, typer.Option("--limit", min=1, max=500)] = 50,
    as_json: JsonOption = False,
) -> None:
    """List a tenant's audit entries matching the filters, oldest first."""
    query = AuditSearch.model_validate(
        {
            "since": _parse_time("since", since),
            "until": _parse_time("until", until),
            "actor_id": actor,
            "action": action,
            "result": result,
            "text": text,
            "after_seq": after,
            "limit": limit,
        }
    )
    with _recorder() as recorder:
        page = _queries(recorder).search(tenant, query)
    if as_json:
        typer.echo(page.model_dump_json())
        return
    table = Table("Seq", "Occurred at", "Actor", "Action", "Resource", "Result")
    table.add_column("Details")
    table.title = f"Audit entries of {tenant} ({len(page.entries)})"
    for entry in page.entries:
        resource = entry.resource
        table.add_row(
            str(entry.seq),
            entry.occurred_at.strftime("%Y-%m-%d %H:%M:%S"),
            f"{entry.actor.kind}:{entry.actor.id} ({entry.actor.via})",
            entry.action,
            "-" if resource is None else f"{resource.type}:{resource.id or ''}",
            entry.result,
            json.dumps(entry.details, sort_keys=True)[:80],
        )
    Console().print(table)
    if page.next_cursor is not None:
        typer.echo(f"more: --after {page.next_cursor}")


@audit_app.command("checkpoint")
@_reports_errors
def checkpoint_command(
    *, tenant: TenantOption = None, as_json: JsonOption = False
) -> None:
    """Sign the head of every chain that grew since its last checkpoint (or one)."""
    with _recorder() as recorder:
        if tenant is None:
            signed = recorder.checkpoint_all()
        else:
            made = recorder.checkpoint(tenant)
            signed = [] if made is None else [made]
    if as_json:
        rows = [
            {
                "tenant_id": cp.tenant_id,
                "seq": cp.seq,
                "hash": cp.hash,
                "key_id": cp.key_id,
                "signed_at": cp.signed_at.isoformat(),
            }
            for cp in signed
        ]
        typer.echo(json.dumps({"signed": rows}))
        return
    if not signed:
        typer.echo("nothing to sign: every chain's head is signed already")
        return
    table = Table("Tenant", "Seq", "Key id", "Signed at", title="Checkpoints signed")
    for cp in signed:
        at = cp.signed_at.strftime("%Y-%m-%d %H:%M:%S")
        table.add_row(cp.tenant_id, str(cp.seq), cp.key_id, at)
    Console().print(table)
