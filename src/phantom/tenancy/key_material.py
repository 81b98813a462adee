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

from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

from phantom.kernel.secrets import (
    SECRET_BYTES,
    decode_secret,
    encode_secret,
    load_or_create_secret,
)
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
            pepper=load_or_create_secret(directory / PEPPER_FILE, "API key pepper"),
            signing_secret=load_or_create_secret(
                directory / SIGNING_SECRET_FILE, "token signing secret"
            ),
        )

    def hasher(self) -> KeyHasher:
        """The API key hasher peppered with :attr:`pepper`."""
        return KeyHasher(self.pepper)

    def platform_token_key(self) -> TokenKey:
        """The platform's HS256 token key (``kid`` ``platform``)."""
        return TokenKey.hs256(PLATFORM_KID, self.signing_secret)
