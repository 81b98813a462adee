"""Operators: mask, redact, replace, hash, pseudonymize or generalize a value.

Each operator is a frozen value object with ``apply(value, entity, context)``.
The keyed ones (:class:`Hash`, :class:`Pseudonymize`) use the tenant's key from
the :class:`OperatorContext`; tenants with different keys get unrelated outputs
for the same value, and without the key an output cannot be tested against a
guess.

* :class:`Mask` ``4111 1111 1111 1111`` -> ``***************1111`` (``keep_last=4``);
  a value no longer than ``keep_last`` is masked whole, never shown.
* :class:`Redact` removes the value.
* :class:`Replace` writes ``<ENTITY>`` or a fixed string.
* :class:`Hash` writes ``HMAC-SHA256(key, value)`` in hex, optionally truncated.
* :class:`Pseudonymize` writes ``<ENTITY_7f3a9c1b>``: a truncated HMAC of the
  entity type and value, the same for the same value within a tenant. The
  ``token -> value`` pair is recorded in the context for the caller to store in
  a :class:`phantom.privacy.ports.PseudonymVault`; reversal is the application
  layer's job.
* :class:`Generalize` coarsens: an ISO date (``1987-04-12``, or a datetime) to its
  month ``1987-04`` (or year), a number to its bucket ``30-39``; any other value
  is replaced by ``<ENTITY>``.
"""

from __future__ import annotations

import hmac
import math
import re
from dataclasses import dataclass, field
from typing import Final, Literal, TypeAlias

from phantom.privacy.domain.errors import InvalidKey, InvalidPolicy, PseudonymCollision

__all__ = [
    "MIN_KEY_BYTES",
    "Generalize",
    "Hash",
    "Mask",
    "Operator",
    "OperatorContext",
    "Pseudonym",
    "Pseudonymize",
    "Redact",
    "Replace",
]

MIN_KEY_BYTES: Final = 16
"""The shortest tenant key the keyed operators accept."""
_PSEUDONYM_DOMAIN: Final = b"phantom.privacy.pseudonym\x00"
_DATE: Final = re.compile(r"([0-9]{4})-(0[1-9]|1[0-2])(?:-[0-9]{2}(?:[T ].*)?)?")
_NUMBER: Final = re.compile(r"-?[0-9]+(?:\.[0-9]+)?")


@dataclass(frozen=True, slots=True)
class Pseudonym:
    """A pseudonym for the caller to put in the vault: ``token`` means ``value``."""

    token: str
    value: str
    entity: str


@dataclass(slots=True)
class OperatorContext:
    """The tenant key, and the pseudonyms issued during one anonymization call.

    Raises:
        InvalidKey: ``key`` is shorter than :data:`MIN_KEY_BYTES`.
    """

    key: bytes
    pseudonyms: dict[str, Pseudonym] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not isinstance(self.key, bytes) or len(self.key) < MIN_KEY_BYTES:
            msg = f"the tenant key must be at least {MIN_KEY_BYTES} bytes"
            raise InvalidKey(msg)

    def mac(self, message: bytes) -> str:
        """HMAC-SHA256 of ``message`` under the tenant key, in hex."""
        return hmac.digest(self.key, message, "sha256").hex()

    def issue(self, token: str, value: str, entity: str) -> None:
        """Record that ``token`` stands for ``value``.

        Raises:
            PseudonymCollision: ``token`` already stands for another value.
        """
        known = self.pseudonyms.get(token)
        if known is None:
            self.pseudonyms[token] = Pseudonym(token, value, entity)
        elif known.value != value:
            msg = f"{token} stands for two values; use longer pseudonym tokens"
            raise PseudonymCollision(msg)


def _check_length(name: str, length: int | None, low: int) -> None:
    if length is not None and not low <= length <= 64:
        msg = f"must be between {low} and 64 hex characters"
        raise InvalidPolicy(name, msg)


@dataclass(frozen=True, slots=True)
class Mask:
    """Replace every character with ``char``, except the last ``keep_last``."""

    char: str = "*"
    keep_last: int = 0

    def __post_init__(self) -> None:
        if len(self.char) != 1:
            raise InvalidPolicy("mask.char", "must be exactly one character")
        if self.keep_last < 0:
            raise InvalidPolicy("mask.keep_last", "must not be negative")

    def apply(self, value: str, entity: str, context: OperatorContext) -> str:  # noqa: ARG002
        """The masked value."""
        keep = self.keep_last if self.keep_last < len(value) else 0
        return self.char * (len(value) - keep) + (value[-keep:] if keep else "")


@dataclass(frozen=True, slots=True)
class Redact:
    """Remove the value entirely."""

    def apply(self, value: str, entity: str, context: OperatorContext) -> str:  # noqa: ARG002
        """The empty string."""
        return ""


@dataclass(frozen=True, slots=True)
class Replace:
    """Write ``value`` instead, or ``<ENTITY>`` when it is ``None``."""

    value: str | None = None

    def apply(self, value: str, entity: str, context: OperatorContext) -> str:  # noqa: ARG002
        """The replacement."""
        return f"<{entity}>" if self.value is None else self.value


@dataclass(frozen=True, slots=True)
class Hash:
    """Write the hex HMAC-SHA256 of the value under the tenant key.

    Attributes:
        length: keep only this many leading hex characters (1 to 64), or all 64.
    """

    length: int | None = None

    def __post_init__(self) -> None:
        _check_length("hash.length", self.length, 1)

    def apply(self, value: str, entity: str, context: OperatorContext) -> str:  # noqa: ARG002
        """The (truncated) hex digest."""
        return context.mac(value.encode())[: self.length]


@dataclass(frozen=True, slots=True)
class Pseudonymize:
    """Write a consistent token ``<ENTITY_xxxxxxxx>`` and record it for the vault.

    Attributes:
        length: hex characters of HMAC in the token (8 to 64); longer tokens make
            collisions rarer (8 gives a 1 in 2**32 chance per pair of values).
    """

    length: int = 8

    def __post_init__(self) -> None:
        _check_length("pseudonymize.length", self.length, 8)

    def apply(self, value: str, entity: str, context: OperatorContext) -> str:
        """The token; the pair is added to ``context.pseudonyms``."""
        message = _PSEUDONYM_DOMAIN + entity.encode() + b"\x00" + value.encode()
        token = f"<{entity}_{context.mac(message)[: self.length]}>"
        context.issue(token, value, entity)
        return token


@dataclass(frozen=True, slots=True)
class Generalize:
    """Coarsen dates to a month or year and numbers to a range.

    Attributes:
        bucket: the width of a number range: 10 turns 34 into ``30-39``.
        dates: ``month`` turns ``1987-04-12`` into ``1987-04``; ``year`` into ``1987``.
    """

    bucket: int = 10
    dates: Literal["month", "year"] = "month"

    def __post_init__(self) -> None:
        if isinstance(self.bucket, bool) or self.bucket < 1:
            raise InvalidPolicy("generalize.bucket", "must be a positive integer")
        if self.dates not in {"month", "year"}:
            raise InvalidPolicy("generalize.dates", "must be 'month' or 'year'")

    def number(self, value: float) -> str:
        """The range holding ``value``, or ``value`` itself when not finite.

        The range ``30-39`` (bucket 10) holds every value from 30 up to, not
        including, 40.
        """
        if isinstance(value, float) and not math.isfinite(value):
            return str(value)
        low = math.floor(value) // self.bucket * self.bucket
        return f"{low}-{low + self.bucket - 1}"

    def coarsen(self, value: str) -> str | None:
        """The month, year or range of ``value``; ``None`` when it is neither."""
        text = value.strip()
        date = _DATE.fullmatch(text)
        if date is not None:
            year, month = date.groups()
            return year if self.dates == "year" else f"{year}-{month}"
        if _NUMBER.fullmatch(text):
            return self.number(float(text) if "." in text else int(text))
        return None

    def apply(self, value: str, entity: str, context: OperatorContext) -> str:  # noqa: ARG002
        """The month, year or range of ``value``, or ``<ENTITY>``."""
        coarse = self.coarsen(value)
        return f"<{entity}>" if coarse is None else coarse


Operator: TypeAlias = Mask | Redact | Replace | Hash | Pseudonymize | Generalize
"""Every operator a policy may name."""
