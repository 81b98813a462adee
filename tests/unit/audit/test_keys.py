"""The checkpoint key file: generated once with owner-only permissions, then reused."""

from __future__ import annotations

import stat
import threading
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from phantom.audit.adapters.keys import CheckpointKeys
from phantom.audit.domain import key_id
from phantom.kernel.errors import ConfigError


def test_a_missing_key_is_generated_private_to_its_owner(tmp_path: Path) -> None:
    path = tmp_path / "home" / "keys" / "audit-ed25519.pem"
    keys = CheckpointKeys(path)
    key = keys.private_key()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert path.read_bytes().startswith(b"-----BEGIN PRIVATE KEY-----")
    assert keys.private_key() is key
    assert list(path.parent.iterdir()) == [path]  # no partial file left behind


def test_the_same_file_gives_the_same_key_later(tmp_path: Path) -> None:
    path = tmp_path / "audit.pem"
    first = CheckpointKeys(path)
    again = CheckpointKeys(path)
    assert again.key_id() == first.key_id() == key_id(first.public_keys()[0])
    assert len(first.key_id()) == 16


def test_retired_keys_stay_trusted(tmp_path: Path) -> None:
    old = Ed25519PrivateKey.generate().public_key()
    keys = CheckpointKeys(tmp_path / "audit.pem", retired=[old])
    assert keys.public_keys()[1:] == [old]


def test_concurrent_first_uses_agree_on_one_key(tmp_path: Path) -> None:
    path = tmp_path / "keys" / "audit.pem"
    ids: list[str] = []
    threads = [
        threading.Thread(target=lambda: ids.append(CheckpointKeys(path).key_id()))
        for _ in range(8)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(set(ids)) == 1
    assert len(ids) == 8


def test_a_file_that_is_not_an_ed25519_key_is_a_config_error(tmp_path: Path) -> None:
    path = tmp_path / "audit.pem"
    path.write_text("not a key")
    with pytest.raises(ConfigError, match="not an unencrypted PEM"):
        CheckpointKeys(path).private_key()
