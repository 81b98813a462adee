"""Server secrets kept in files: read, or created once, readable by the owner only.

Contexts that hold key material (tenancy's API key pepper and token secret,
privacy's master key) keep it as URL-safe base64 text, given in settings or in a
file under ``PHANTOM_HOME/keys``. :func:`load_or_create_secret` reads such a file,
creating it with random bytes on first use (``0600``, written to a temporary file
and hard-linked into place, so two processes starting together agree on one
value), and refuses a file others can read.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import os
import secrets
import stat
from pathlib import Path
from typing import Final

from phantom.kernel.errors import ConfigError

__all__ = [
    "SECRET_BYTES",
    "decode_secret",
    "encode_secret",
    "load_or_create_secret",
]

SECRET_BYTES: Final = 32
"""The size of a generated secret, in bytes."""


def encode_secret(value: bytes) -> str:
    """The text form of a secret (URL-safe base64, no padding), as in settings."""
    return base64.urlsafe_b64encode(value).rstrip(b"=").decode("ascii")


def decode_secret(name: str, text: str, minimum: int) -> bytes:
    """Decode a secret's text form and check its length.

    Raises:
        ConfigError: not URL-safe base64, or shorter than ``minimum`` bytes.
    """
    raw = text.strip()
    try:
        value = base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4))
    except (binascii.Error, ValueError):
        msg = f"the {name} is not URL-safe base64"
        raise ConfigError(msg) from None
    if len(value) < minimum:
        msg = f"the {name} must be at least {minimum} bytes"
        raise ConfigError(msg)
    return value


def load_or_create_secret(path: Path, name: str, minimum: int = SECRET_BYTES) -> bytes:
    """The secret in ``path``, created with :data:`SECRET_BYTES` random bytes if absent.

    The parent directory is created ``0700`` when missing.

    Raises:
        ConfigError: the file is readable by others than its owner, malformed or
            shorter than ``minimum`` bytes.
    """
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    if not path.exists():
        _create(path)
    if os.name == "posix":
        mode = stat.S_IMODE(path.stat().st_mode)
        if mode & 0o077:
            msg = f"{path} holds the {name} and must be readable by its owner only"
            raise ConfigError(msg, hint=f"chmod 600 {path}")
    return decode_secret(name, path.read_text(encoding="ascii"), minimum)


def _create(path: Path) -> None:
    """Write a new secret to ``path`` unless another process already has."""
    temporary = path.with_name(f".{path.name}.{secrets.token_hex(8)}.tmp")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(descriptor, "w", encoding="ascii") as handle:
            handle.write(encode_secret(secrets.token_bytes(SECRET_BYTES)) + "\n")
            handle.flush()
            os.fsync(handle.fileno())
        with contextlib.suppress(FileExistsError):  # another process won: use theirs
            os.link(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)
