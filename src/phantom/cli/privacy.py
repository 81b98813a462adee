"""``phantom privacy``: find and anonymize personal data, policies, reveals.

::

    phantom privacy status [--json]                  detectors, operators, NER
    phantom privacy analyze [TEXT] [--file F] [--record] [--json]
    phantom privacy anonymize [TEXT] [--file F] [--record] [--json]
    phantom privacy reveal TOKEN... --reason WHY [--json]   (privacy:reveal)
    phantom privacy policy show [--json]
    phantom privacy policy set FILE [--json]         a JSON policy document

Input is TEXT, a file (``--file``, ``-`` for stdin), and with ``--record`` it is
a JSON record whose strings are scanned with their paths.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from phantom.cli.remote import (
    ApiKeyOption,
    JsonOption,
    UrlOption,
    fail,
    print_json,
    print_listing,
    talks_to_server,
    when,
)
from phantom.sdk import Client
from phantom.sdk.privacy import Finding

__all__ = ["privacy_app"]

privacy_app = typer.Typer(
    help="Find and anonymize personal data; policies and reveals.",
    no_args_is_help=True,
)
policy_app = typer.Typer(help="Show or set the tenant's privacy policy.")
privacy_app.add_typer(policy_app, name="policy", no_args_is_help=True)

TextArgument = Annotated[str | None, typer.Argument(help="The text (or use --file).")]
FileOption = Annotated[
    Path | None, typer.Option("--file", help="Read the input from a file (- : stdin).")
]
RecordOption = Annotated[
    bool, typer.Option("--record", help="The input is a JSON record, not free text.")
]
_MAX_INPUT = 1_000_000


def _input(text: str | None, file: Path | None, *, record: bool) -> Any:  # noqa: ANN401 - text or JSON
    if (text is None) == (file is None):
        raise fail("give the input as TEXT or with --file, not both")
    if file is not None:
        try:
            raw = sys.stdin.read() if str(file) == "-" else file.read_text("utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            msg = f"cannot read {file}: {exc}"
            raise fail(msg) from None
    else:
        raw = text or ""
    if len(raw) > _MAX_INPUT:
        msg = f"the input is over {_MAX_INPUT:,} characters"
        raise fail(msg)
    if not record:
        return raw
    try:
        return json.loads(raw)
    except json.JSONDecodeError as exc:
        msg = f"--record needs JSON: {exc}"
        raise fail(msg) from None


def _row(finding: Finding) -> tuple[str, ...]:
    return (
        finding.entity,
        finding.path or "",
        f"{finding.start}-{finding.end}",
        f"{finding.score:.2f}",
        finding.detector,
    )


_HEADERS = ("entity", "path", "span", "score", "detector")


@privacy_app.command("status")
@talks_to_server
def status(
    *, url: UrlOption = None, api_key: ApiKeyOption = None, as_json: JsonOption = False
) -> None:
    """What is detected here, and whether named-entity detection runs."""
    with Client(url, api_key) as client:
        found = client.privacy.status()
    if as_json:
        print_json(found)
        return
    typer.echo(f"entities: {', '.join(found['entities'])}")
    typer.echo(f"operators: {', '.join(found['operators'])}")
    typer.echo(f"named entities (person, location): {found['ner']['reason']}")


@privacy_app.command("analyze")
@talks_to_server
def analyze(  # noqa: PLR0913 - the input's three forms and the connection
    text: TextArgument = None,
    file: FileOption = None,
    *,
    record: RecordOption = False,
    url: UrlOption = None,
    api_key: ApiKeyOption = None,
    as_json: JsonOption = False,
) -> None:
    """Where personal data is (never the values themselves)."""
    value = _input(text, file, record=record)
    with Client(url, api_key) as client:
        findings = client.privacy.analyze(value)
    print_listing(findings, _HEADERS, _row, as_json=as_json)


@privacy_app.command("anonymize")
@talks_to_server
def anonymize(  # noqa: PLR0913 - the input's three forms and the connection
    text: TextArgument = None,
    file: FileOption = None,
    *,
    record: RecordOption = False,
    url: UrlOption = None,
    api_key: ApiKeyOption = None,
    as_json: JsonOption = False,
) -> None:
    """The input anonymized by the tenant's policy."""
    value = _input(text, file, record=record)
    with Client(url, api_key) as client:
        done = client.privacy.anonymize(value)
    if as_json:
        print_json(done)
    elif isinstance(done.value, str):
        typer.echo(done.value)
    else:
        typer.echo(json.dumps(done.value, indent=2))


@privacy_app.command("reveal")
@talks_to_server
def reveal(
    tokens: Annotated[list[str], typer.Argument(help="Pseudonym tokens.")],
    reason: Annotated[str, typer.Option("--reason", help="Why (audited).")],
    *,
    url: UrlOption = None,
    api_key: ApiKeyOption = None,
    as_json: JsonOption = False,
) -> None:
    """The values behind pseudonym tokens (needs privacy:reveal; audited)."""
    with Client(url, api_key) as client:
        values = client.privacy.reveal(tokens, reason=reason)
    if as_json:
        print_json(values)
        return
    print_listing(
        list(values.items()),
        ("token", "value"),
        lambda pair: (pair[0], "(unknown)" if pair[1] is None else pair[1]),
        as_json=False,
    )


@policy_app.command("show")
@talks_to_server
def show_policy(
    *, url: UrlOption = None, api_key: ApiKeyOption = None, as_json: JsonOption = False
) -> None:
    """The tenant's policy document (revision 0: the default)."""
    with Client(url, api_key) as client:
        policy = client.privacy.policy()
    if as_json:
        print_json(policy)
        return
    origin = "default" if policy.is_default else f"set by {policy.updated_by}"
    typer.echo(f"revision {policy.revision} ({origin}) {when(policy.updated_at)}")
    typer.echo(json.dumps(policy.document, indent=2))


@policy_app.command("set")
@talks_to_server
def set_policy(
    path: Annotated[Path, typer.Argument(help="A JSON policy document.")],
    *,
    url: UrlOption = None,
    api_key: ApiKeyOption = None,
    as_json: JsonOption = False,
) -> None:
    """Replace the tenant's policy (needs privacy:write)."""
    try:
        document = json.loads(path.read_text("utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        msg = f"cannot read a JSON policy from {path}: {exc}"
        raise fail(msg) from None
    if not isinstance(document, dict):
        raise fail("a policy document is a JSON object")
    with Client(url, api_key) as client:
        policy = client.privacy.set_policy(document)
    if as_json:
        print_json(policy)
        return
    typer.echo(f"policy set: revision {policy.revision}")
