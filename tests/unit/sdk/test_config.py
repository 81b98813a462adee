"""Where the client finds its URL and key, and the profile's safety."""

from __future__ import annotations

import os
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from phantom.sdk import Client, ConfigurationError, save_profile
from phantom.sdk.config import profile_path, read_profile, resolve_config


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    for name in ("PHANTOM_URL", "PHANTOM_API_KEY"):
        monkeypatch.delenv(name, raising=False)
    folder = tmp_path / "config"
    monkeypatch.setenv("PHANTOM_CONFIG_DIR", str(folder))
    return folder


def test_arguments_win_over_the_environment_and_the_profile(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    save_profile("http://profile:1", "profile-key")
    monkeypatch.setenv("PHANTOM_URL", "http://env:2")
    monkeypatch.setenv("PHANTOM_API_KEY", "env-key")
    config = resolve_config("http://arg:3/", "arg-key")
    assert (config.url, config.api_key) == ("http://arg:3", "arg-key")


def test_the_environment_wins_over_the_profile(monkeypatch: pytest.MonkeyPatch) -> None:
    save_profile("http://profile:1", "profile-key")
    monkeypatch.setenv("PHANTOM_URL", "http://env:2")
    config = resolve_config()
    assert (config.url, config.api_key) == ("http://env:2", "profile-key")


def test_the_profile_is_the_last_resort() -> None:
    path = save_profile("https://phantom.example/", "secret")
    assert path == profile_path()
    config = resolve_config()
    assert (config.url, config.api_key) == ("https://phantom.example", "secret")
    assert "secret" not in repr(config)


def test_missing_settings_say_exactly_how_to_set_them() -> None:
    with pytest.raises(ConfigurationError) as caught:
        Client()
    message = str(caught.value)
    assert "server URL and API key" in message
    assert "PHANTOM_URL and PHANTOM_API_KEY" in message
    assert "phantom login" in message
    assert str(profile_path()) in message
    assert caught.value.__cause__ is None
    assert caught.value.__context__ is None


def test_only_the_missing_setting_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PHANTOM_URL", "http://env:2")
    with pytest.raises(ConfigurationError, match="No Phantom API key configured"):
        resolve_config()


def test_a_profile_readable_by_others_is_refused(clean_env: Path) -> None:
    path = save_profile("http://profile:1", "profile-key")
    path.chmod(0o644)
    with pytest.raises(ConfigurationError) as caught:
        resolve_config()
    assert "chmod 600" in str(caught.value)
    assert "0644" in str(caught.value)
    path.chmod(0o600)
    assert read_profile(path) == {"url": "http://profile:1", "api_key": "profile-key"}


def test_save_profile_writes_0600_in_a_0700_folder_and_round_trips(
    clean_env: Path,
) -> None:
    old = os.umask(0o022)
    try:
        path = save_profile("http://h:1", 'k"ey\\with\nodd ✓ chars')
    finally:
        os.umask(old)
    assert path.stat().st_mode & 0o777 == 0o600
    assert clean_env.stat().st_mode & 0o777 == 0o700
    document = tomllib.loads(path.read_text())
    assert document == {"url": "http://h:1", "api_key": 'k"ey\\with\nodd ✓ chars'}
    assert list(clean_env.iterdir()) == [path]  # no temporary file left


def test_save_profile_tightens_an_existing_loose_file(clean_env: Path) -> None:
    clean_env.mkdir()
    loose = clean_env / "profile.toml"
    loose.write_text('url = "http://old:1"\n')
    loose.chmod(0o666)
    save_profile("http://new:2", "k")
    assert loose.stat().st_mode & 0o777 == 0o600
    assert resolve_config().url == "http://new:2"


def test_a_url_without_a_scheme_is_refused() -> None:
    with pytest.raises(ConfigurationError, match="http:// or https://"):
        resolve_config("phantom.example:8000", "k")


def test_a_broken_profile_is_a_clear_error(clean_env: Path) -> None:
    clean_env.mkdir()
    path = clean_env / "profile.toml"
    path.write_text("url = \n")
    path.chmod(0o600)
    with pytest.raises(ConfigurationError, match="not valid TOML"):
        resolve_config()


def test_import_phantom_is_cheap_and_the_sdk_names_load_on_use() -> None:
    code = (
        "import sys, phantom\n"
        "assert 'httpx' not in sys.modules and 'phantom.sdk' not in sys.modules\n"
        "from phantom.sdk import Client, active_run, start_run\n"
        "assert phantom.Client is Client and phantom.start_run is start_run\n"
        "assert phantom.active_run is active_run and phantom.active_run() is None\n"
        "assert {'Client', 'start_run', 'active_run'} <= set(dir(phantom))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
