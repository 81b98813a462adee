"""``phantom admin init`` and ``phantom tenants|users|keys`` through ``CliRunner``."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner, Result

from phantom.cli.main import app
from phantom.gateway import create_app
from phantom.kernel.settings import Settings
from tests.support import call

KEY_RE = re.compile(r"^phk_[a-z2-7]{10}_[A-Za-z0-9_-]{43}$", re.MULTILINE)


@pytest.fixture
def cli_home(home: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("PHANTOM_HOME", str(home))
    return home


def run(*args: str) -> Result:
    return CliRunner().invoke(app, list(args), env={"COLUMNS": "240"})


def ok(*args: str) -> Result:
    result = run(*args)
    assert result.exit_code == 0, result.output
    return result


def ok_json(*args: str) -> Any:
    return json.loads(ok(*args, "--json").stdout)


def one_line_error(result: Result) -> str:
    assert result.exit_code != 0, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.output
    return lines[0]


def test_admin_init_prints_a_key_that_works_against_the_api(cli_home: Path) -> None:
    result = ok("admin", "init")
    keys = KEY_RE.findall(result.stdout)
    assert len(keys) == 1
    assert "platform administrator" in result.stdout
    settings = Settings(home=cli_home)
    application = create_app(settings)
    try:
        tenant = call(application, "GET", "/v1/tenant", headers={"X-API-Key": keys[0]})
        assert tenant.status_code == 200, tenant.text
        assert tenant.json()["slug"] == "default"
        tenants = call(
            application, "GET", "/v1/tenants", headers={"X-API-Key": keys[0]}
        )
        assert tenants.status_code == 200  # the first owner is a platform admin
    finally:
        application.state.container.close()


def test_admin_init_refuses_a_second_time_unless_forced(cli_home: Path) -> None:
    ok("admin", "init")
    line = one_line_error(run("admin", "init"))
    assert "--force-new-tenant" in line
    forced = ok_json("admin", "init", "--force-new-tenant", "--slug", "second")
    assert forced["tenant"]["slug"] == "second"
    assert KEY_RE.fullmatch(forced["api_key"])
    assert forced["owner"]["is_platform_admin"] is True


def test_tenants_users_and_keys_are_administered_from_the_command_line(
    cli_home: Path,
) -> None:
    ok("admin", "init")
    created = ok_json(
        "tenants", "create", "Globex Corp", "--owner-email", "o@globex.example"
    )
    assert created["tenant"]["slug"] == "globex-corp"
    assert KEY_RE.fullmatch(created["api_key"])
    listed = ok_json("tenants", "list")
    assert sorted(t["slug"] for t in listed) == ["default", "globex-corp"]
    table = ok("tenants", "list").stdout
    assert "globex-corp" in table
    assert "Tenants (2)" in table

    user = ok_json("users", "create", "v@globex.example", "--tenant", "globex-corp")
    assert user["role"] == "viewer"
    users = ok_json("users", "list", "--tenant", "globex-corp")
    assert sorted(u["email"] for u in users) == ["o@globex.example", "v@globex.example"]
    assert "v@globex.example" in ok("users", "list", "--tenant", "globex-corp").stdout

    key = ok_json(
        "keys",
        "create",
        "--tenant",
        "globex-corp",
        "--user",
        user["id"],
        "--name",
        "ci",
        "--scope",
        "tenant:read",
    )
    assert KEY_RE.fullmatch(key["api_key"])
    assert key["key"]["scopes"] == ["tenant:read"]
    keys = ok_json("keys", "list", "--tenant", created["tenant"]["id"])
    assert len(keys) == 2
    assert key["api_key"] not in json.dumps(keys)
    text = ok("keys", "list", "--tenant", "globex-corp", "--user", user["id"]).stdout
    assert key["key"]["prefix"] in text

    revoked = ok("keys", "revoke", key["key"]["id"], "--tenant", "globex-corp")
    assert "revoked" in revoked.stdout
    disabled = ok("users", "disable", user["id"], "--tenant", "globex-corp")
    assert "disabled" in disabled.stdout
    assert ok_json("users", "list", "--tenant", "globex-corp")[1]["disabled"] is True

    off = ok("tenants", "disable", "globex-corp")
    assert "disabled" in off.stdout
    assert ok_json("tenants", "list")[1]["status"] == "disabled"
    ok("tenants", "enable", created["tenant"]["id"])


def test_keys_create_prints_the_key_once_on_its_own_line(cli_home: Path) -> None:
    init = ok_json("admin", "init")
    result = ok(
        "keys",
        "create",
        "--tenant",
        "default",
        "--user",
        init["owner"]["id"],
        "--name",
        "laptop",
    )
    assert len(KEY_RE.findall(result.stdout)) == 1


def test_another_tenants_user_is_not_found(cli_home: Path) -> None:
    init = ok_json("admin", "init")
    ok("tenants", "create", "Other", "--owner-email", "o@other.example")
    line = one_line_error(
        run("users", "disable", init["owner"]["id"], "--tenant", "other")
    )
    assert "no such user" in line


def test_an_unknown_tenant_is_one_line_error(cli_home: Path) -> None:
    ok("admin", "migrate")
    line = one_line_error(run("users", "list", "--tenant", "nope"))
    assert "no such tenant" in line


def test_tenants_list_without_tenants_says_how_to_start(cli_home: Path) -> None:
    ok("admin", "migrate")
    assert "phantom admin init" in ok("tenants", "list").stdout
