import os
import stat
import sys
import threading
from pathlib import Path

import pytest

from phantom.kernel.errors import ConfigError
from phantom.tenancy.key_material import (
    PEPPER_FILE,
    SIGNING_SECRET_FILE,
    TenancySecrets,
    encode_secret,
)

posix_only = pytest.mark.skipif(sys.platform == "win32", reason="POSIX file modes")


@posix_only
def test_secrets_are_generated_once_owner_readable_only(tmp_path: Path) -> None:
    directory = tmp_path / "home" / "keys"
    first = TenancySecrets.load(directory)
    assert stat.S_IMODE(directory.stat().st_mode) == 0o700
    for name in (PEPPER_FILE, SIGNING_SECRET_FILE):
        assert stat.S_IMODE((directory / name).stat().st_mode) == 0o600
    assert len(first.pepper) == len(first.signing_secret) == 32
    assert first.pepper != first.signing_secret
    assert TenancySecrets.load(directory) == first
    assert [p.name for p in directory.iterdir() if p.name.startswith(".")] == []


def test_two_directories_get_different_secrets(tmp_path: Path) -> None:
    assert TenancySecrets.load(tmp_path / "a") != TenancySecrets.load(tmp_path / "b")


def test_servers_starting_together_agree(tmp_path: Path) -> None:
    results: list[TenancySecrets] = []
    threads = [
        threading.Thread(target=lambda: results.append(TenancySecrets.load(tmp_path)))
        for _ in range(8)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(set(results)) == 1


@posix_only
def test_a_secret_readable_by_others_is_refused(tmp_path: Path) -> None:
    TenancySecrets.load(tmp_path)
    (tmp_path / PEPPER_FILE).chmod(0o644)
    with pytest.raises(ConfigError, match="owner only"):
        TenancySecrets.load(tmp_path)


def test_a_short_or_malformed_secret_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / PEPPER_FILE
    fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o600)
    os.write(fd, encode_secret(b"short").encode())
    os.close(fd)
    with pytest.raises(ConfigError, match="at least 32 bytes"):
        TenancySecrets.load(tmp_path)
    path.write_text("not base64 !!!")
    with pytest.raises(ConfigError, match="base64"):
        TenancySecrets.load(tmp_path)


def test_secrets_can_come_from_settings() -> None:
    secrets = TenancySecrets.from_values(
        pepper=encode_secret(b"p" * 32), signing_secret=encode_secret(b"s" * 40)
    )
    assert secrets.pepper == b"p" * 32
    assert secrets.platform_token_key().kid == "platform"
    assert secrets.hasher().hash("x") != ""
    with pytest.raises(ConfigError, match="pepper"):
        TenancySecrets.from_values(pepper="", signing_secret=encode_secret(b"s" * 32))


def test_secrets_never_show_in_a_repr(tmp_path: Path) -> None:
    secrets = TenancySecrets.load(tmp_path)
    text = repr(secrets)
    assert encode_secret(secrets.pepper) not in text
    assert repr(secrets.pepper) not in text
    assert repr(secrets.signing_secret) not in text
