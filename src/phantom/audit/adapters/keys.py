"""The checkpoint signing key: an Ed25519 PEM file, generated on first use.

The composition root points :class:`CheckpointKeys` at
``PHANTOM_HOME/keys/audit-ed25519.pem``. The file holds an unencrypted PKCS#8 private
key readable by its owner only (mode 0600); the directory is created when missing.
Keys that signed older checkpoints stay trusted by passing their public halves as
``retired``.
"""

from __future__ import annotations

import os
import stat
import threading
from collections.abc import Sequence
from pathlib import Path

import structlog
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
    load_pem_private_key,
)

from phantom.audit.domain.checkpoints import key_id
from phantom.kernel.errors import ConfigError
from phantom.kernel.ids import uuid7

__all__ = ["KEY_FILE", "CheckpointKeys", "checkpoint_keys"]

log = structlog.get_logger(__name__)

KEY_FILE = "audit-ed25519.pem"
"""The signing key's file name in the keys directory (``PHANTOM_HOME/keys``)."""


class CheckpointKeys:
    """Loads (or creates) the audit signing key from a PEM file, once.

    Args:
        path: the PEM file of the Ed25519 private key.
        retired: public keys of earlier signing keys, still trusted to verify.
    """

    def __init__(self, path: Path, retired: Sequence[Ed25519PublicKey] = ()) -> None:
        self.path = path
        self._retired = tuple(retired)
        self._key: Ed25519PrivateKey | None = None
        self._lock = threading.Lock()

    def private_key(self) -> Ed25519PrivateKey:
        """The signing key, loaded from the file or generated there on first use.

        Raises:
            ConfigError: when the file exists but is not an Ed25519 private key.
        """
        with self._lock:
            if self._key is None:
                self._key = self._load() if self.path.exists() else self._create()
            return self._key

    def public_keys(self) -> list[Ed25519PublicKey]:
        """The keys verification trusts: the current one, then the retired ones."""
        return [self.private_key().public_key(), *self._retired]

    def key_id(self) -> str:
        """The current key's id."""
        return key_id(self.private_key().public_key())

    def _load(self) -> Ed25519PrivateKey:
        mode = stat.S_IMODE(self.path.stat().st_mode)
        if mode & 0o077:
            log.warning("audit.key.permissions", path=str(self.path), mode=oct(mode))
        try:
            key = load_pem_private_key(self.path.read_bytes(), password=None)
        except (ValueError, TypeError) as exc:
            msg = f"{self.path} is not an unencrypted PEM private key"
            raise ConfigError(msg) from exc
        if not isinstance(key, Ed25519PrivateKey):
            msg = f"{self.path} holds a {type(key).__name__}, not an Ed25519 key"
            raise ConfigError(msg)
        return key

    def _create(self) -> Ed25519PrivateKey:
        key = Ed25519PrivateKey.generate()
        pem = key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption())
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        # Written aside, then linked into place: the link either makes the complete
        # file appear at once or fails because another process got there first.
        partial = self.path.with_name(f".{self.path.name}.{uuid7().hex}.partial")
        fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as file:
            file.write(pem)
            file.flush()
            os.fsync(file.fileno())
        try:
            os.link(partial, self.path)
        except FileExistsError:
            return self._load()
        finally:
            partial.unlink()
        log.info(
            "audit.key.created", path=str(self.path), key_id=key_id(key.public_key())
        )
        return key


def checkpoint_keys(keys_dir: Path) -> CheckpointKeys:
    """The key holder of ``keys_dir/audit-ed25519.pem`` (nothing is read yet)."""
    return CheckpointKeys(keys_dir / KEY_FILE)
