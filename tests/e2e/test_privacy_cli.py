"""``phantom privacy ...`` against a real ``phantom up``, through the SDK.

The server and helpers are those of ``test_models_cli.py``: one ``phantom up`` for
the module, commands run in-process through Typer's ``CliRunner``.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from tests.e2e.test_models_cli import (
    Server,
    as_json,
    cli,
    ok,
    one_error_line,
    running_server,
)

pytestmark = pytest.mark.slow

EMAIL = "ada.lovelace@example.com"
TEXT = f"write to {EMAIL}, card 4111-1111-1111-1111"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    with running_server(tmp_path_factory.mktemp("privacy-cli")) as running:
        yield running


def test_status_names_the_detectors_and_why_ner_is_off(server: Server) -> None:
    shown = ok(server, "privacy", "status").stdout
    assert "EMAIL" in shown
    assert "CREDIT_CARD" in shown
    assert "named entities (person, location): off:" in shown
    assert as_json(server, "privacy", "status")["ner"]["enabled"] is False


def test_analyze_lists_where_without_the_values(server: Server) -> None:
    table = ok(server, "privacy", "analyze", TEXT).stdout
    assert "EMAIL" in table
    assert "CREDIT_CARD" in table
    assert EMAIL not in table
    found = as_json(server, "privacy", "analyze", TEXT)
    assert [f["entity"] for f in found] == ["EMAIL", "CREDIT_CARD"]


def test_anonymize_text_and_a_record_from_a_file(server: Server) -> None:
    assert ok(server, "privacy", "anonymize", TEXT).stdout.strip() == (
        "write to <EMAIL>, card ***************1111"
    )
    record = server.files / "record.json"
    record.write_text(json.dumps({"user": {"email": EMAIL, "id": 7}}))
    done = as_json(server, "privacy", "anonymize", "--file", str(record), "--record")
    assert done["record"] == {"user": {"email": "<EMAIL>", "id": 7}}
    assert done["findings"][0]["path"] == "user.email"


def test_a_policy_set_from_a_file_pseudonymizes_and_reveal_reverses(
    server: Server,
) -> None:
    policy = server.files / "policy.json"
    policy.write_text(json.dumps({"operators": {"EMAIL": {"type": "pseudonymize"}}}))
    assert "revision 1" in ok(server, "privacy", "policy", "set", str(policy)).stdout
    shown = ok(server, "privacy", "policy", "show").stdout
    assert "pseudonymize" in shown
    token = ok(server, "privacy", "anonymize", EMAIL).stdout.strip()
    assert token.startswith("<EMAIL_")
    values = as_json(server, "privacy", "reveal", token, "--reason", "support case 9")
    assert values == {token: EMAIL}


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["privacy", "analyze"], "give the input as TEXT or with --file"),
        (["privacy", "analyze", "x", "--file", "f.txt"], "not both"),
        (["privacy", "analyze", "{no", "--record"], "--record needs JSON"),
        (["privacy", "policy", "set", "/no/such/policy.json"], "cannot read"),
        (
            ["privacy", "analyze", "x", "--record"],
            "--record needs JSON",
        ),
    ],
)
def test_bad_input_is_one_error_line(
    server: Server, args: list[str], words: str
) -> None:
    assert words in one_error_line(cli(server, *args))


def test_a_refused_policy_names_the_field(server: Server) -> None:
    bad = server.files / "bad.json"
    bad.write_text(json.dumps({"entities": ["NOT_A_TYPE"]}))
    line = one_error_line(cli(server, "privacy", "policy", "set", str(bad)))
    assert "NOT_A_TYPE" in line or "entities" in line
