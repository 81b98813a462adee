"""What the privacy context needs from outside its domain, as protocols.

:class:`PseudonymVault` keeps the ``token -> value`` pairs that
:class:`phantom.privacy.domain.Pseudonymize` hands back, so that a caller with
the right permission can reverse a pseudonym later. The domain never stores or
looks up anything itself.
"""

from __future__ import annotations

from typing import Protocol

from phantom.kernel.context import TenantId

__all__ = ["PseudonymVault"]


class PseudonymVault(Protocol):
    """Stores pseudonym tokens and the values they stand for, per tenant.

    Contract, which every adapter's contract tests check:

    * **Encrypted at rest.** Values are personal data: an adapter encrypts them
      (with a key per tenant, so erasing the key crypto-shreds the tenant's
      pseudonyms) and never logs them.
    * **Tenant isolation.** A token put for one tenant is never returned for
      another, even when the token strings are equal.
    * **Idempotent put.** Putting the same ``(tenant, token, value)`` again is a
      no-op. Putting a *different* value under an existing token raises
      :class:`phantom.kernel.errors.Conflict` and leaves the stored value as it
      was (a token collision: the policy should use longer tokens).
    * **Durable once returned.** When ``put`` returns, a later ``get`` from any
      process sees the pair.
    * **Concurrency.** Concurrent puts of the same pair all succeed; of
      different values under one token, exactly one wins and the others raise
      ``Conflict``.
    * **Errors.** Backend failures surface as
      :class:`phantom.kernel.errors.Unavailable`; nothing else escapes.
    """

    def put(self, tenant: TenantId, token: str, value: str) -> None:
        """Remember that ``token`` stands for ``value`` in ``tenant``.

        Raises:
            Conflict: ``token`` already stands for another value in ``tenant``.
            Unavailable: the backing store cannot be reached.
        """

    def get(self, tenant: TenantId, token: str) -> str | None:
        """The value ``token`` stands for in ``tenant``, or ``None`` if unknown.

        Permission to reverse pseudonyms is checked by the caller, before this
        is called; the vault itself does not check permissions.

        Raises:
            Unavailable: the backing store cannot be reached.
        """
