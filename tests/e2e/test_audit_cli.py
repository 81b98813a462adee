"""``phantom audit verify|search|checkpoint`` through Typer's ``CliRunner``.

The sub-app is mounted the way the CLI's root mounts it
(``app.add_typer(audit_app, name="audit")``); the commands read the deployment
from the environment (``PHANTOM_HOME``, ``PHANTOM_DATABASE_URL``).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import typer
from sqlalchemy import text
from typer.testing import CliRunner, Result

from phantom.audit.api import AuditActor, AuditDecision
from phantom.audit.cli import EXIT_NOT_INTACT, audit_app
from phantom.audit.module import audit_components
from phantom.cli import CliState
from phantom.kernel.settings import Settings
from tests.unit.audit.harness import (
    as_owner,
    audit_modules,
    audit_settings,
    build_audit_container,
)

A, B = "acme", "globex"

root = typer.Typer(no_args_is_help=True)
root.add_typer(audit_app, name="audit")


@root.callback()
def _root() -> None:
    """The CLI root, as ``phantom.cli.main`` mounts the sub-app."""


@pytest.fixture(
    params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]
)
def deployment(request: pytest.FixtureRequest, home: Path) -> Iterator[Settings]:
    with audit_settings(request.param, home) as settings:
        yield settings


def env_of(settings: Settings) -> dict[str, str]:
    env = {"COLUMNS": "240", "PHANTOM_HOME": str(settings.home)}
    if settings.database_url:
        env["PHANTOM_DATABASE_URL"] = settings.database_url
    return env


def run(settings: Settings, *args: str) -> Result:
    state = CliState(modules=audit_modules(settings))  # as the root passes it
    return CliRunner().invoke(root, ["audit", *args], obj=state, env=env_of(settings))


def decision(action: str = "auth.denied") -> AuditDecision:
    return AuditDecision(
        action=action,
        actor=AuditActor(kind="user", id="u-1", via="api_key"),
        result="denied",
        details={"reason": "bad scope"},
    )


@pytest.fixture
def trail(deployment: Settings) -> Settings:
    """Three entries for A, one for B, all signed."""
    container = build_audit_container(deployment)
    try:
        recorder = audit_components(container).recorder
        for action in ("auth.denied", "users.create", "auth.denied"):
            recorder.record(A, decision(action))
        recorder.record(B, decision())
        recorder.checkpoint_all()
    finally:
        container.close()
    return deployment


def tamper(settings: Settings, statement: str) -> None:
    container = build_audit_container(settings)
    try:
        with as_owner(container.database("audit")) as conn:
            conn.execute(text(statement), {"tenant": A})
    finally:
        container.close()


def assert_one_line_error(result: Result) -> str:
    assert result.exit_code == 1, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: ")
    assert "Traceback" not in result.output
    return lines[0]


def test_verify_exits_0_and_prints_every_chain_when_intact(trail) -> None:
    result = run(trail, "verify")
    assert result.exit_code == 0, result.output
    for word in (A, B, "intact", "Checked"):
        assert word in result.stdout
    assert "BROKEN" not in result.stdout


def test_verify_json_lists_each_chain(trail) -> None:
    result = run(trail, "verify", "--json")
    assert result.exit_code == 0, result.output
    body: dict[str, Any] = json.loads(result.stdout)
    assert body["intact"] is True
    assert [
        (c["tenant_id"], c["checked"], c["checkpoint_seq"]) for c in body["chains"]
    ] == [
        (A, 3, 3),
        (B, 1, 1),
    ]
    one = json.loads(run(trail, "verify", "--tenant", B, "--json").stdout)
    assert [c["tenant_id"] for c in one["chains"]] == [B]


def test_verify_fails_and_names_a_modified_entry(trail) -> None:
    tamper(
        trail,
        "UPDATE audit_entries SET action = 'auth.allowed'"
        " WHERE tenant_id = :tenant AND seq = 2",
    )
    result = run(trail, "verify")
    assert result.exit_code == EXIT_NOT_INTACT, result.output
    assert "BROKEN" in result.stdout
    assert "modified at seq 2" in result.stdout
    body = json.loads(run(trail, "verify", "--json").stdout)
    assert body["intact"] is False
    (broken,) = [c for c in body["chains"] if not c["intact"]]
    assert broken["tenant_id"] == A
    assert (broken["problem"]["kind"], broken["problem"]["seq"]) == ("modified", 2)
    assert run(trail, "verify", "--tenant", B).exit_code == 0


def test_verify_detects_a_truncated_tail(trail) -> None:
    tamper(trail, "DELETE FROM audit_entries WHERE tenant_id = :tenant AND seq = 3")
    result = run(trail, "verify", "--tenant", A, "--json")
    assert result.exit_code == EXIT_NOT_INTACT, result.output
    (chain,) = json.loads(result.stdout)["chains"]
    assert (chain["problem"]["kind"], chain["problem"]["seq"]) == ("truncated", 3)


def test_verify_reports_a_chain_whose_entries_were_all_deleted(trail) -> None:
    tamper(trail, "DELETE FROM audit_entries WHERE tenant_id = :tenant")
    body = json.loads(run(trail, "verify", "--json").stdout)
    assert body["intact"] is False
    assert [c["tenant_id"] for c in body["chains"]] == [A, B]


def test_search_lists_filtered_entries(trail) -> None:
    result = run(trail, "search", "--tenant", A, "--action", "auth.", "--json")
    assert result.exit_code == 0, result.output
    page = json.loads(result.stdout)
    assert [e["seq"] for e in page["entries"]] == [1, 3]
    table = run(trail, "search", "--tenant", A, "--limit", "2")
    assert table.exit_code == 0, table.output
    assert "users.create" in table.stdout
    assert "more: --after 2" in table.stdout
    rest = json.loads(
        run(trail, "search", "--tenant", A, "--after", "2", "--json").stdout
    )
    assert [e["seq"] for e in rest["entries"]] == [3]
    future = run(trail, "search", "--tenant", A, "--since", "2999-01-01", "--json")
    assert json.loads(future.stdout)["entries"] == []


def test_checkpoint_signs_only_what_changed(trail) -> None:
    first = run(trail, "checkpoint", "--json")
    assert first.exit_code == 0, first.output
    assert json.loads(first.stdout) == {"signed": []}
    container = build_audit_container(trail)
    try:
        audit_components(container).recorder.record(B, decision())
    finally:
        container.close()
    signed = json.loads(run(trail, "checkpoint", "--json").stdout)["signed"]
    assert [(c["tenant_id"], c["seq"]) for c in signed] == [(B, 2)]
    again = run(trail, "checkpoint")
    assert again.exit_code == 0
    assert "nothing to sign" in again.stdout


def test_errors_are_one_line_with_a_non_zero_status(deployment) -> None:
    line = assert_one_line_error(run(deployment, "verify"))  # never migrated
    assert "database error" in line
    build_audit_container(deployment).close()
    bad_time = run(deployment, "search", "--tenant", A, "--since", "yesterday")
    assert "not an ISO 8601 time" in assert_one_line_error(bad_time)
    bad_result = run(deployment, "search", "--tenant", A, "--result", "maybe")
    assert "result" in assert_one_line_error(bad_result)


def test_verify_never_creates_a_signing_key(trail) -> None:
    key = trail.home / "keys" / "audit-ed25519.pem"
    key.rename(key.with_suffix(".moved"))
    result = run(trail, "verify", "--json")
    assert result.exit_code == EXIT_NOT_INTACT, result.output
    kinds = {c["problem"]["kind"] for c in json.loads(result.stdout)["chains"]}
    assert kinds == {"unknown_key"}  # the checkpoints' key is not at hand
    assert not key.exists()
