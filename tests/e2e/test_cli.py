"""The ``phantom`` command line through Typer's ``CliRunner``."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner, Result

from phantom import __version__
from phantom.bootstrap import known_modules
from phantom.cli import CliState
from phantom.cli.main import app
from phantom.kernel.events.dead_letters import DeadLetterStore
from phantom.kernel.events.envelope import new_envelope
from phantom.kernel.settings import Settings
from tests.support import build_notes_container
from tests.support.notes import (
    COUNTER_CONSUMER,
    NOTE_WRITTEN,
    counter_value,
    notes_module,
)

NOTES = CliState(modules=[*known_modules().values(), notes_module()])


@pytest.fixture
def cli_home(home: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("PHANTOM_HOME", str(home))
    return home


def run(*args: str, state: CliState | None = None, **kwargs: Any) -> Result:
    env = {"COLUMNS": "240", **kwargs.pop("env", {})}
    return CliRunner().invoke(app, list(args), obj=state, env=env, **kwargs)


def assert_one_line_error(result: Result) -> str:
    assert result.exit_code != 0, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: ")
    assert "Traceback" not in result.output
    return lines[0]


def add_dead_letter(settings: Settings, consumer: str = COUNTER_CONSUMER) -> str:
    container = build_notes_container(settings)
    try:
        envelope = new_envelope(
            NOTE_WRITTEN,
            tenant_id="t1",
            stream_id="note-1",
            data={"id": "1", "text": "lost"},
        )
        store = DeadLetterStore(container.database("notes"))
        return str(store.add(consumer, envelope, "RuntimeError: boom", attempts=5))
    finally:
        container.close()


def notes_counter(settings: Settings) -> int:
    container = build_notes_container(settings, migrate=False)
    try:
        return counter_value(container.database("notes"))
    finally:
        container.close()


def test_version_prints_the_version() -> None:
    assert run("version").stdout.strip() == f"phantom {__version__}"
    assert json.loads(run("version", "--json").stdout) == {"version": __version__}


def test_admin_migrate_migrates_every_context_and_prints_a_table(
    cli_home: Path,
) -> None:
    result = run("admin", "migrate", state=NOTES)
    assert result.exit_code == 0, result.output
    contexts = (
        "system",
        "tenancy",
        "audit",
        "training",
        "registry",
        "serving",
        "privacy",
        "monitoring",
        "notes",
    )
    for context in contexts:
        assert context in result.stdout
        assert (cli_home / "db" / f"{context}.sqlite").is_file()
    assert result.stdout.count("done") == len(contexts)
    again = run("admin", "migrate", state=NOTES)  # idempotent
    assert again.exit_code == 0, again.output


def test_admin_migrate_of_the_shipped_contexts(cli_home: Path) -> None:
    result = run("admin", "migrate")
    assert result.exit_code == 0, result.output
    assert (cli_home / "db" / "system.sqlite").is_file()


def test_admin_migrate_of_an_unreachable_database_fails_in_one_redacted_line(
    cli_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = "postgresql://phantom:s3cret-pw@127.0.0.1:1/phantom"
    monkeypatch.setenv("PHANTOM_NOTES_DATABASE_URL", url)
    line = assert_one_line_error(run("admin", "migrate", state=NOTES))
    assert "'notes'" in line
    assert "s3cret" not in line


def test_dead_letters_list_shows_none_then_the_added_letter(
    cli_home: Path, settings: Settings
) -> None:
    assert run("admin", "migrate", state=NOTES).exit_code == 0
    empty = run("admin", "dead-letters", "list", "--json", state=NOTES)
    assert empty.exit_code == 0, empty.output
    assert json.loads(empty.stdout) == []

    letter_id = add_dead_letter(settings)
    listed = run("admin", "dead-letters", "list", "--json", state=NOTES)
    [entry] = json.loads(listed.stdout)
    assert entry["id"] == letter_id
    assert entry["context"] == "notes"
    assert entry["consumer"] == COUNTER_CONSUMER
    assert entry["event_type"] == NOTE_WRITTEN
    assert entry["attempts"] == 5
    assert entry["replayed_at"] is None

    table = run("admin", "dead-letters", "list", "--context", "notes", state=NOTES)
    assert table.exit_code == 0, table.output
    assert letter_id in table.stdout
    assert COUNTER_CONSUMER in table.stdout


def test_replay_applies_the_consumer_effect_and_marks_the_letter(
    cli_home: Path, settings: Settings
) -> None:
    letter_id = add_dead_letter(settings)
    result = run(
        "admin", "dead-letters", "replay", letter_id, "--context", "notes", state=NOTES
    )
    assert result.exit_code == 0, result.output
    assert "effect applied" in result.stdout
    assert notes_counter(settings) == 1

    pending = run("admin", "dead-letters", "list", "--json", state=NOTES)
    assert json.loads(pending.stdout) == []
    everything = run("admin", "dead-letters", "list", "--all", "--json", state=NOTES)
    [entry] = json.loads(everything.stdout)
    assert entry["replayed_at"] is not None

    twice = run("admin", "dead-letters", "replay", letter_id, state=NOTES)
    assert "already replayed" in assert_one_line_error(twice)
    assert notes_counter(settings) == 1


def test_replay_of_an_unknown_id_fails_in_one_line(
    cli_home: Path, settings: Settings
) -> None:
    add_dead_letter(settings)
    missing = str(uuid.uuid4())
    line = assert_one_line_error(
        run(
            "admin",
            "dead-letters",
            "replay",
            missing,
            "--context",
            "notes",
            state=NOTES,
        )
    )
    assert missing in line
    bad = assert_one_line_error(run("admin", "dead-letters", "replay", "nope"))
    assert "not a dead-letter id" in bad


def test_replay_fails_clearly_when_the_consumer_is_not_in_this_build(
    cli_home: Path, settings: Settings
) -> None:
    letter_id = add_dead_letter(settings, consumer="retired-consumer")
    line = assert_one_line_error(
        run("admin", "dead-letters", "replay", letter_id, "--json", state=NOTES)
    )
    assert "retired-consumer" in line
    assert "not part of this build" in line


def test_unknown_context_fails_in_one_line(cli_home: Path) -> None:
    line = assert_one_line_error(
        run("admin", "dead-letters", "list", "--context", "nowhere")
    )
    assert "nowhere" in line


def test_listing_an_unmigrated_database_says_to_migrate(cli_home: Path) -> None:
    line = assert_one_line_error(run("admin", "dead-letters", "list", state=NOTES))
    assert "phantom admin migrate" in line


def test_invalid_settings_fail_in_one_line(
    cli_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PHANTOM_MAX_BODY_BYTES", "lots")
    line = assert_one_line_error(run("admin", "migrate"))
    assert "max_body_bytes" in line


def test_serve_with_an_unknown_context_fails_in_one_line(cli_home: Path) -> None:
    line = assert_one_line_error(run("serve", "--only", "system,nowhere"))
    assert "nowhere" in line
    empty = assert_one_line_error(run("serve", "--only", " , "))
    assert "at least one context" in empty
