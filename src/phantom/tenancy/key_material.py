"""Key material of the tenancy context: the API key pepper and the JWT secret.

The pepper keys the hashes of API key secrets; the platform's HS256 secret signs
and verifies the tokens Phantom issues itself. Nothing has a default:
:meth:`TenancySecrets.load` reads them from files in a directory (the composition
root passes ``PHANTOM_HOME/keys``), creating each one with 32 random bytes on
first use, readable by the owner only (``0600``, in a ``0700`` directory);
:meth:`TenancySecrets.from_values` takes them from settings. Files are written
once, atomically (a hard link that fails if another process got there first), so
two servers starting together agree on the same secrets.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import os
import secrets
import stat
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

from phantom.kernel.errors import ConfigError
from phantom.tenancy.domain.keys import MIN_PEPPER_BYTES, KeyHasher
from phantom.tenancy.domain.tokens import MIN_HS256_SECRET_BYTES, TokenKey

__all__ = [
    "PEPPER_FILE",
    "PLATFORM_KID",
    "SECRET_BYTES",
    "SIGNING_SECRET_FILE",
    "TenancySecrets",
    "decode_secret",
    "encode_secret",
]

PEPPER_FILE: Final = "tenancy-api-key-pepper"
SIGNING_SECRET_FILE: Final = "tenancy-jwt-hs256-platform"  # noqa: S105 - a file name
PLATFORM_KID: Final = "platform"
SECRET_BYTES: Final = 32


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


@dataclass(frozen=True, slots=True)
class TenancySecrets:
    """The tenancy context's secrets (never printed: ``repr`` hides them).

    Attributes:
        pepper: the server-side key for hashing API key secrets.
        signing_secret: the platform's HS256 token secret.
    """

    pepper: bytes = field(repr=False)
    signing_secret: bytes = field(repr=False)

    @classmethod
    def from_values(cls, *, pepper: str, signing_secret: str) -> TenancySecrets:
        """Secrets given in settings (URL-safe base64 text).

        Raises:
            ConfigError: a value is malformed or shorter than 32 bytes.
        """
        return cls(
            pepper=decode_secret("API key pepper", pepper, MIN_PEPPER_BYTES),
            signing_secret=decode_secret(
                "token signing secret", signing_secret, MIN_HS256_SECRET_BYTES
            ),
        )

    @classmethod
    def load(cls, directory: Path) -> TenancySecrets:
        """Read the secrets under ``directory``, generating missing ones.

        Raises:
            ConfigError: a file is readable by others than its owner, malformed or
                too short.
        """
        directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        return cls(
            pepper=_load_or_create(directory / PEPPER_FILE, "API key pepper"),
            signing_secret=_load_or_create(
                directory / SIGNING_SECRET_FILE, "token signing secret"
            ),
        )

    def hasher(self) -> KeyHasher:
        """The API key hasher peppered with :attr:`pepper`."""
        return KeyHasher(self.pepper)

    def platform_token_key(self) -> TokenKey:
        """The platform's HS256 token key (``kid`` ``platform``)."""
        return TokenKey.hs256(PLATFORM_KID, self.signing_secret)


def _load_or_create(path: Path, name: str) -> bytes:
    if not path.exists():
        _create(path)
    if os.name == "posix":
        mode = stat.S_IMODE(path.stat().st_mode)
        if mode & 0o077:
            msg = f"{path} holds the {name} and must be readable by its owner only"
            raise ConfigError(msg, hint=f"chmod 600 {path}")
    return decode_secret(name, path.read_text(encoding="ascii"), SECRET_BYTES)


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
