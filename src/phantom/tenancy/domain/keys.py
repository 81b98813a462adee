"""API keys: ``phk_<prefix>_<secret>``, their generation, parsing and hashing.

* ``prefix``: 10 random characters of lower-case base32 (50 bits), globally unique;
  the lookup handle, safe to show and log.
* ``secret``: 32 random bytes, URL-safe base64 without padding (43 characters).

Only ``HMAC-SHA256(pepper, secret)`` is stored (ADR 0009): a key has 256 bits of
entropy, so a slow password KDF buys nothing, while a server-side pepper makes a
stolen table useless on its own. Comparison is constant-time.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Final

from phantom.tenancy.domain.errors import AuthenticationFailed, InvalidField
from phantom.tenancy.domain.text import clean_label

__all__ = [
    "KEY_LENGTH",
    "KEY_SCHEME",
    "MAX_KEY_NAME_LENGTH",
    "MIN_PEPPER_BYTES",
    "PREFIX_ALPHABET",
    "PREFIX_LENGTH",
    "SECRET_BYTES",
    "SECRET_LENGTH",
    "TOUCH_INTERVAL",
    "ApiKey",
    "GeneratedKey",
    "KeyHasher",
    "ParsedKey",
    "generate_key",
    "needs_touch",
    "parse_key",
    "validate_expiry",
    "validate_key_name",
]

KEY_SCHEME: Final = "phk"
PREFIX_ALPHABET: Final = "abcdefghijklmnopqrstuvwxyz234567"
PREFIX_LENGTH: Final = 10
SECRET_BYTES: Final = 32
SECRET_LENGTH: Final = 43
KEY_LENGTH: Final = len(KEY_SCHEME) + 1 + PREFIX_LENGTH + 1 + SECRET_LENGTH
MIN_PEPPER_BYTES: Final = 32
MAX_KEY_NAME_LENGTH: Final = 100
TOUCH_INTERVAL: Final = timedelta(minutes=1)
_SHAPE: Final = re.compile(
    rf"{KEY_SCHEME}_([a-z2-7]{{{PREFIX_LENGTH}}})_([A-Za-z0-9_-]{{{SECRET_LENGTH}}})"
)


@dataclass(frozen=True, slots=True)
class ParsedKey:
    """A well-formed presented key, split into its handle and its secret."""

    prefix: str
    secret: str = field(repr=False)


@dataclass(frozen=True, slots=True)
class GeneratedKey:
    """A new key: show ``plaintext`` once, store only the hash of ``secret``."""

    prefix: str
    secret: str = field(repr=False)

    @property
    def plaintext(self) -> str:
        """The full key, ``phk_<prefix>_<secret>``."""
        return f"{KEY_SCHEME}_{self.prefix}_{self.secret}"


@dataclass(frozen=True, slots=True)
class ApiKey:
    """An API key as stored (never its secret).

    Attributes:
        tenant_id: the tenant the key belongs to.
        id: the key id (a UUIDv7 string), used in URLs.
        user_id: the user the key acts as.
        prefix: the public lookup handle.
        name: a label chosen by its creator.
        scopes: the permissions the key is narrowed to (``None``: the user's).
        created_at: when it was created.
        expires_at: when it stops working, if ever.
        revoked_at: when it was revoked, if it was.
        last_used_at: when it last authenticated (updated at most once a minute).
        secret_hash: hex ``HMAC-SHA256(pepper, secret)``; ``None`` never verifies.
    """

    tenant_id: str
    id: str
    user_id: str
    prefix: str
    name: str
    scopes: frozenset[str] | None
    created_at: datetime
    expires_at: datetime | None = None
    revoked_at: datetime | None = None
    last_used_at: datetime | None = None
    secret_hash: str | None = field(default=None, repr=False)

    def refusal(self, now: datetime) -> str | None:
        """Why the key cannot authenticate at ``now`` (``None`` when it can)."""
        if self.revoked_at is not None:
            return "revoked"
        if self.expires_at is not None and self.expires_at <= now:
            return "expired"
        return None

    def active(self, now: datetime) -> bool:
        """Whether the key counts against the tenant's key quota at ``now``."""
        return self.refusal(now) is None


def generate_key(
    random_bytes: Callable[[int], bytes] = secrets.token_bytes,
) -> GeneratedKey:
    """Make a new random key.

    Args:
        random_bytes: the randomness source (tests pass a deterministic one).
    """
    raw = random_bytes(PREFIX_LENGTH + SECRET_BYTES)
    prefix = "".join(PREFIX_ALPHABET[b & 31] for b in raw[:PREFIX_LENGTH])
    secret = _urlsafe(raw[PREFIX_LENGTH:])
    return GeneratedKey(prefix=prefix, secret=secret)


def _urlsafe(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def parse_key(presented: object) -> ParsedKey:
    """Split a presented key, refusing anything malformed without a lookup.

    Raises:
        AuthenticationFailed: not a string, wrong length, not ASCII, wrong scheme
            or alphabet (``reason`` says which; the caller sees a generic 401).
    """
    if not isinstance(presented, str):
        raise AuthenticationFailed("malformed-key")
    if len(presented) != KEY_LENGTH or not presented.isascii():
        raise AuthenticationFailed("malformed-key")
    match = _SHAPE.fullmatch(presented)
    if match is None:
        raise AuthenticationFailed("malformed-key")
    return ParsedKey(prefix=match.group(1), secret=match.group(2))


class KeyHasher:
    """Hashes and verifies key secrets with ``HMAC-SHA256`` under a server pepper."""

    __slots__ = ("_pepper",)

    def __init__(self, pepper: bytes) -> None:
        if len(pepper) < MIN_PEPPER_BYTES:
            msg = f"the API key pepper must be at least {MIN_PEPPER_BYTES} bytes"
            raise ValueError(msg)
        self._pepper = bytes(pepper)

    def __repr__(self) -> str:
        return "KeyHasher(pepper=<hidden>)"

    def hash(self, secret: str) -> str:
        """Return the hex HMAC of ``secret``."""
        return hmac.new(self._pepper, secret.encode(), hashlib.sha256).hexdigest()

    def verify(self, secret: str, stored: str | None) -> bool:
        """Whether ``secret`` hashes to ``stored``, compared in constant time.

        A missing ``stored`` hash still costs one HMAC, and never matches.
        """
        computed = self.hash(secret).encode()
        expected = stored.encode() if stored is not None else b"!" * len(computed)
        return hmac.compare_digest(computed, expected)


def validate_key_name(value: object) -> str:
    """Return the cleaned key name (see :func:`clean_label`)."""
    return clean_label("name", value, max_length=MAX_KEY_NAME_LENGTH)


def validate_expiry(expires_at: datetime | None, now: datetime) -> datetime | None:
    """Check that a new key's expiry is a timezone-aware time after ``now``.

    Raises:
        InvalidField: naming ``expires_at``.
    """
    if expires_at is None:
        return None
    if expires_at.tzinfo is None or expires_at.utcoffset() is None:
        raise InvalidField("expires_at", "must include a timezone")
    if expires_at <= now:
        raise InvalidField("expires_at", "must be in the future")
    return expires_at


def needs_touch(last_used_at: datetime | None, now: datetime) -> bool:
    """Whether a key's ``last_used_at`` is due an update (at most once a minute)."""
    return last_used_at is None or now - last_used_at >= TOUCH_INTERVAL
