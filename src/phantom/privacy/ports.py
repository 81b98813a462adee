"""What the privacy service needs from storage, as protocols.

:class:`WrappedKeys` keeps each tenant's data key, wrapped by the master key
(:mod:`phantom.privacy.keys`); :class:`PseudonymVault` keeps the sealed values of
pseudonym tokens so that a caller holding ``privacy:reveal`` can reverse them.
Values reach the vault already encrypted: no adapter ever sees personal data in
the clear. :class:`~phantom.privacy.adapters.sql.SqlPrivacyStore` implements both.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Protocol

__all__ = ["PseudonymVault", "SealedPseudonym", "WrappedKeys"]


@dataclass(frozen=True, slots=True)
class SealedPseudonym:
    """A vault row: the token, its entity type and the sealed value."""

    token: str
    entity: str
    sealed: str


class WrappedKeys(Protocol):
    """Stores each tenant's wrapped data key.

    Contract: ``find_wrapped`` returns what ``add_wrapped`` stored; ``add_wrapped``
    stores its key unless the tenant already has one and returns the one stored,
    so two processes creating a key at once agree on the first. Deleting a
    tenant's row crypto-shreds its vault.
    """

    def find_wrapped(self, tenant_id: str) -> bytes | None:
        """The tenant's wrapped data key, if it has one."""
        ...

    def add_wrapped(self, tenant_id: str, wrapped: bytes) -> bytes:
        """Store ``wrapped`` unless a key exists; the stored one either way."""
        ...


class PseudonymVault(Protocol):
    """Stores sealed pseudonym values per tenant.

    Contract:

    * **Tenant isolation.** A token stored for one tenant is never returned for
      another, even when the token strings are equal.
    * **First writer wins.** ``add_pseudonyms`` inserts the rows whose token is
      new to the tenant and leaves stored ones as they are; it returns every
      stored row of the tokens given, so the caller can tell a repeat (the same
      value) from a collision (another value under the token).
    * **Durable once returned**, visible to every process.
    * **Errors.** Backend failures raise
      :class:`~phantom.kernel.errors.Unavailable`.
    """

    def find_pseudonyms(
        self, tenant_id: str, tokens: Iterable[str]
    ) -> dict[str, SealedPseudonym]:
        """The stored rows of ``tokens`` (unknown tokens are absent)."""
        ...

    def add_pseudonyms(
        self, tenant_id: str, rows: Sequence[SealedPseudonym]
    ) -> dict[str, SealedPseudonym]:
        """Insert the new rows; every stored row of those tokens."""
        ...
