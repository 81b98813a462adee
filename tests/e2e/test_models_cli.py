"""``phantom models ...`` against a real ``phantom up``, through the SDK.

One server for the module (``phantom up`` on a free port, its first tenant's key
read from the banner, as ``test_up.py`` does). Commands run in-process through
Typer's ``CliRunner`` with ``PHANTOM_URL``/``PHANTOM_API_KEY`` set, which keeps
each call fast; one runs as a real ``python -m phantom`` process to show that a
problem is one line and exit status 1 there too. ``test_deploy_cli.py`` reuses
the server and the helpers for deployments and predictions.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import skops.io as sio
from sklearn.linear_model import LogisticRegression
from typer.testing import CliRunner, Result

from phantom.cli.main import app
from phantom.cli.predict import cell_value, csv_records
from tests.e2e.test_training_cli import Deployment, environment
from tests.e2e.test_up import KEY_LINE, phantom_up, wait_for

pytestmark = pytest.mark.slow


@dataclass(frozen=True)
class Server:
    """A running ``phantom up``: its URL, an owner's key, a scratch folder."""

    url: str
    key: str
    home: Path
    files: Path

    def env(self, **extra: str) -> dict[str, str]:
        return {
            "PHANTOM_URL": self.url,
            "PHANTOM_API_KEY": self.key,
            "PHANTOM_CONFIG_DIR": str(self.files / "sdk-config"),
            "COLUMNS": "240",
            **extra,
        }


@contextmanager
def running_server(root: Path) -> Iterator[Server]:
    """``phantom up`` in ``root`` until the block ends."""
    home = root / "home"
    with phantom_up(home, root, PHANTOM_LOG_LEVEL="WARNING") as (base, process, log):
        wait_for(f"{base}/readyz", process, log)
        keys = KEY_LINE.findall(log.read_text())
        assert len(keys) == 1, log.read_text()
        files = root / "files"
        files.mkdir()
        yield Server(base, keys[0], home, files)


def cli(server: Server, *args: str, env: dict[str, str] | None = None) -> Result:
    """``phantom ARGS`` in-process against ``server``."""
    return CliRunner().invoke(app, list(args), env=env or server.env())


def ok(server: Server, *args: str) -> Result:
    result = cli(server, *args)
    assert result.exit_code == 0, result.output + str(result.exception)
    return result


def as_json(server: Server, *args: str) -> Any:
    return json.loads(ok(server, *args, "--json").stdout)


def one_error_line(result: Result) -> str:
    """The ``error: ...`` line of a refused command (exit 1, no traceback)."""
    assert result.exit_code == 1, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: ")
    assert "Traceback" not in result.output
    return lines[0]


def skops_model(path: Path, seed: int = 0, features: int = 3) -> Path:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(60, features))
    y = (x[:, 0] + 0.3 * x[:, 1] > 0).astype(int)
    path.write_bytes(sio.dumps(LogisticRegression().fit(x, y)))
    return path


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    with running_server(tmp_path_factory.mktemp("models-cli")) as running:
        yield running


def test_registered_versions_are_listed_and_shown(server: Server) -> None:
    model = skops_model(server.files / "a.skops")
    first = as_json(
        server, "models", "register", "listed", str(model), "--description", "v [/one]"
    )
    assert (first["name"], first["version"], first["format"]) == ("listed", 1, "skops")
    assert first["description"] == "v [/one]"
    second = ok(server, "models", "register", "listed", str(skops_model(model, seed=1)))
    assert second.stdout.startswith("listed v2: skops, ")

    listed = as_json(server, "models", "list")
    (entry,) = [m for m in listed if m["name"] == "listed"]
    assert entry["latest_version"] == 2
    table = ok(server, "models", "list").stdout
    assert "listed" in table
    assert "v2" in table
    assert "v [/one]" in table  # shown as given, never read as rich markup

    versions = as_json(server, "models", "versions", "listed")
    assert [v["version"] for v in versions] == [2, 1]
    assert versions[1]["digest"] == first["digest"]
    assert "v2" in ok(server, "models", "versions", "listed").stdout

    ok(server, "models", "alias", "listed", "staging", "1")
    shown = as_json(server, "models", "show", "listed")
    assert shown["model"]["name"] == "listed"
    assert [v["version"] for v in shown["versions"]] == [2, 1]
    assert [(a["alias"], a["version"]) for a in shown["aliases"]] == [("staging", 1)]
    text = ok(server, "models", "show", "listed").stdout
    assert "latest v2" in text
    assert "staging" in text


def test_an_alias_moves_keeps_its_history_and_answers_for_a_past_time(
    server: Server,
) -> None:
    model = skops_model(server.files / "h.skops")
    for seed in (0, 1):
        ok(server, "models", "register", "timed", str(skops_model(model, seed=seed)))
    moved = ok(server, "models", "alias", "timed", "production", "1").stdout
    assert moved.startswith("timed@production -> v1")
    ok(server, "models", "alias", "timed", "production", "2")

    history = as_json(server, "models", "history", "timed", "production")
    assert [h["version"] for h in history] == [1, 2]
    assert history[0]["valid_to"] == history[1]["valid_from"]
    assert history[1]["valid_to"] is None
    assert "now" in ok(server, "models", "history", "timed", "production").stdout

    start = datetime.fromisoformat(history[0]["valid_from"])
    end = datetime.fromisoformat(history[0]["valid_to"])
    between = (start + (end - start) / 2).isoformat()
    then = as_json(server, "models", "history", "timed", "production", "--at", between)
    assert then["version"] == 1
    said = ok(server, "models", "history", "timed", "production", "--at", between)
    assert said.stdout.startswith(f"timed@production at {between}: v1 ")
    now = as_json(
        server, "models", "history", "timed", "production", "--at", "2999-01-01"
    )
    assert now["version"] == 2
    before = cli(
        server, "models", "history", "timed", "production", "--at", "2000-01-01T00:00Z"
    )
    assert "was not set at" in one_error_line(before)

    assert "removed" in ok(server, "models", "unalias", "timed", "production").stdout
    again = cli(server, "models", "unalias", "timed", "production")
    assert "no alias" in one_error_line(again)
    assert len(as_json(server, "models", "history", "timed", "production")) == 2


def test_a_version_behind_an_alias_is_archived_only_once_freed(
    server: Server,
) -> None:
    model = skops_model(server.files / "r.skops")
    for seed in (0, 1):
        ok(server, "models", "register", "retired", str(skops_model(model, seed=seed)))
    ok(server, "models", "alias", "retired", "production", "1")
    refused = cli(server, "models", "archive", "retired", "1")
    assert "production" in one_error_line(refused)
    ok(server, "models", "alias", "retired", "production", "2")
    assert ok(server, "models", "archive", "retired", "1").stdout.strip() == (
        "retired v1 archived"
    )
    versions = as_json(server, "models", "versions", "retired")
    assert [v["status"] for v in versions] == ["ready", "archived"]
    back = cli(server, "models", "alias", "retired", "production", "1")
    assert "archived" in one_error_line(back)


@pytest.mark.parametrize(
    "args",
    [
        ("models", "show", "nope"),
        ("models", "versions", "nope"),
        ("models", "history", "nope", "production"),
        ("models", "history", "nope", "production", "--at", "2026-01-01T00:00Z"),
        ("models", "alias", "nope", "production", "1"),
        ("models", "unalias", "nope", "production"),
        ("models", "archive", "nope", "1"),
    ],
)
def test_a_missing_model_is_one_clear_error(server: Server, args: tuple[str]) -> None:
    line = one_error_line(cli(server, *args))
    assert "no model 'nope' in this tenant" in line


def test_a_missing_model_is_one_line_from_the_real_command(server: Server) -> None:
    deployment = Deployment(server.home, server.url, server.key)
    done = subprocess.run(
        [sys.executable, "-m", "phantom", "models", "show", "nope"],
        env=environment(deployment, server.home),
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert done.returncode == 1, done.stdout + done.stderr
    assert done.stdout == ""
    assert done.stderr.startswith("error: no model 'nope' in this tenant")
    assert done.stderr.count("\n") == 1
    assert "Traceback" not in done.stderr


def test_bad_input_is_refused_with_a_clear_error(server: Server) -> None:
    files = server.files
    missing = cli(server, "models", "register", "bad", str(files / "none.skops"))
    assert "cannot read" in one_error_line(missing)
    not_a_model = files / "notes.txt"
    not_a_model.write_text("hello", encoding="utf-8")
    refused = cli(server, "models", "register", "bad", str(not_a_model))
    assert "model file" in one_error_line(refused)
    broken = files / "broken.json"
    broken.write_text("[{", encoding="utf-8")
    model = str(skops_model(files / "b.skops"))
    bad_signature = cli(server, "models", "register", "bad", model, "--signature")
    assert bad_signature.exit_code == 2  # a usage error: the option needs a value
    not_json = cli(
        server, "models", "register", "bad", model, "--signature", str(broken)
    )
    assert "not valid JSON" in one_error_line(not_json)
    shapeless = files / "shapeless.json"
    shapeless.write_text('{"a": 1}', encoding="utf-8")
    wrong = cli(
        server, "models", "register", "bad", model, "--signature", str(shapeless)
    )
    assert "list of features" in one_error_line(wrong)
    assert one_error_line(cli(server, "models", "show", "bad"))  # nothing registered
    when = cli(server, "models", "history", "x", "production", "--at", "yesterday")
    assert "ISO 8601" in one_error_line(when)
    alias = cli(server, "models", "alias", "timed", "Not_An_Alias", "1")
    assert "alias" in one_error_line(alias)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--data", "[[1, 2"), "--data is not valid JSON"),
        (("--data", '{"rows": []}'), 'no "instances"'),
        (("--data", "[]"), "at least one instance"),
        (("--data", "[1, 2]"), "instances[0] must be an array or an object"),
        (("--data", '"x"'), "must be a JSON list"),
        ((), "--data or with --file"),
        (("--data", "[[1]]", "--file", "x.json"), "--data or with --file"),
        (("--data", "[[1]]", "--version", "1", "--alias", "a"), "not both"),
        (("--file", "instances.txt"), "a .json or a .csv file"),
        (("--file", "missing.json"), "cannot read"),
    ],
)
def test_bad_instances_are_refused_before_any_call(
    server: Server, args: tuple[str, ...], message: str
) -> None:
    unreachable = server.env(PHANTOM_URL="http://127.0.0.1:9")  # never called
    result = cli(server, "predict", "churn", *args, env=unreachable)
    assert message in one_error_line(result)


def test_the_server_and_key_come_from_options_or_say_what_is_missing(
    server: Server, tmp_path: Path
) -> None:
    bare = {"PHANTOM_CONFIG_DIR": str(tmp_path / "no-profile"), "COLUMNS": "240"}
    flags = ("--url", server.url, "--api-key", server.key)
    listed = cli(server, "models", "list", *flags, "--json", env=bare)
    assert listed.exit_code == 0, listed.output
    assert isinstance(json.loads(listed.stdout), list)
    unset = cli(server, "models", "list", env=bare)
    assert "PHANTOM_URL" in one_error_line(unset)
    wrong_key = cli(server, "models", "list", "--api-key", "phk_nope_nope")
    assert one_error_line(wrong_key)
    down = cli(server, "models", "list", "--url", "http://127.0.0.1:9")
    assert "unreachable" in one_error_line(down)


def test_csv_cells_are_typed_by_the_signature() -> None:
    types = {"age": "integer", "zip": "string", "member": "boolean", "score": "float"}
    text = "age,zip,member,score,other\n34,02139,true,0.5,7\n,,no,1e3,x\n"
    assert csv_records(text, types, "rows.csv") == [
        {"age": 34, "zip": "02139", "member": True, "score": 0.5, "other": 7},
        {"age": None, "zip": None, "member": False, "score": 1000.0, "other": "x"},
    ]
    assert cell_value("maybe", "boolean") == "maybe"  # the server names it
    assert cell_value("1.5", "integer") == 1.5  # the server says: a whole number
