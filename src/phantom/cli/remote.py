"""What the commands that call a server through the SDK share.

Options: ``--url`` and ``--api-key`` (else ``PHANTOM_URL`` and
``PHANTOM_API_KEY``, else the profile ``phantom login`` wrote) and ``--json``.
Errors: :func:`talks_to_server` turns an SDK error into one ``error: ...`` line
on stderr and exit status 1, with the problem's field errors and request id.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Annotated, Any, Final, ParamSpec, TypeVar

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from phantom.sdk.errors import ApiError, PhantomSdkError

__all__ = [
    "ApiKeyOption",
    "JsonOption",
    "UrlOption",
    "add_row",
    "fail",
    "print_json",
    "print_listing",
    "talks_to_server",
    "when",
]

P = ParamSpec("P")
R = TypeVar("R")
_Item = TypeVar("_Item")

JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON.")]
UrlOption = Annotated[
    str | None,
    typer.Option("--url", help="The server (else PHANTOM_URL, else your profile)."),
]
ApiKeyOption = Annotated[
    str | None,
    typer.Option(
        "--api-key", help="Your API key (else PHANTOM_API_KEY, else your profile)."
    ),
]
_EXIT_FAILED: Final = 1
_MAX_FIELD_ERRORS: Final = 3


def fail(message: str) -> typer.Exit:
    """Print ``error: message`` on stderr; the exit to raise (status 1)."""
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(_EXIT_FAILED)


def _explain(exc: ApiError) -> str:
    """The problem's detail, its first field errors and its request id, one line."""
    parts = [exc.detail]
    for error in exc.errors[:_MAX_FIELD_ERRORS]:
        loc, message = error.get("loc"), str(error.get("msg", ""))
        if message in exc.detail:
            continue  # the detail says it already
        where = ".".join(str(p) for p in loc) if isinstance(loc, list | tuple) else ""
        parts.append(f"{where or '-'}: {message}")
    text = "; ".join(parts).replace("\n", " ")
    return f"{text} ({exc.request_id})" if exc.request_id else text


def talks_to_server(command: Callable[P, R]) -> Callable[P, R]:
    """Turn SDK errors into one ``error:`` line and exit status 1."""

    @functools.wraps(command)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return command(*args, **kwargs)
        except ApiError as exc:
            raise fail(_explain(exc)) from None
        except PhantomSdkError as exc:
            raise fail(str(exc).replace("\n", " ")) from None

    return wrapper


def print_json(value: Any) -> None:  # noqa: ANN401 - any JSON document
    """``value`` as indented JSON on stdout (SDK models dumped first)."""
    dump = getattr(value, "model_dump", None)
    document = dump(mode="json") if callable(dump) else value
    if isinstance(document, list):
        document = [
            item.model_dump(mode="json") if hasattr(item, "model_dump") else item
            for item in document
        ]
    typer.echo(json.dumps(document, indent=2, default=str))


def when(moment: datetime | None) -> str:
    """A time as ``YYYY-MM-DD HH:MM:SS+zzzz`` (``""`` for none)."""
    return "" if moment is None else moment.strftime("%Y-%m-%d %H:%M:%S%z")


def add_row(table: Table, *cells: str) -> None:
    """Add a row shown as given: names, labels and details are never rich markup."""
    table.add_row(*(Text(cell) for cell in cells))


def print_listing(
    items: Sequence[_Item],
    headers: Sequence[str],
    row: Callable[[_Item], Sequence[str]],
    *,
    as_json: bool,
) -> None:
    """``items`` as JSON (``--json``), else as a table of ``row(item)`` per item."""
    if as_json:
        print_json(list(items))
        return
    table = Table(*headers)
    for item in items:
        add_row(table, *row(item))
    Console().print(table)
