"""The tenancy context's storage ports: a unit of work and the repository it opens.

Adapters: :mod:`phantom.tenancy.adapters.sql` (SQLite, PostgreSQL) and
:mod:`phantom.tenancy.adapters.memory` (unit tests). Both pass the same handler
tests; the SQL one also the integration tests.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractContextManager
from datetime import datetime
from typing import Protocol

from phantom.kernel.events.envelope import Envelope
from phantom.tenancy.domain.keys import ApiKey
from phantom.tenancy.domain.tenants import Tenant
from phantom.tenancy.domain.users import User

__all__ = ["TenancyRepository", "TenancyTransaction", "TenancyUnitOfWork"]


class TenancyRepository(Protocol):
    """Reads of the tenancy read model, and the two writes that are not events.

    Contract:
        * Every method that takes a ``tenant_id`` filters by it: another tenant's
          user or key id is simply not found (``None``), never an error that
          would reveal it exists.
        * ``find_*`` return ``None`` when absent; ``list_*`` page by id
          (ascending, ids after ``after``, at most ``limit``).
        * Keys are "active" while neither revoked nor expired at ``now``.
        * The platform-scope methods (``find_tenant_by_slug``, ``list_tenants``,
          ``find_key_tenant``) read across tenants; under PostgreSQL row-level
          security they need the adapter's platform access (ADR 0009).
    """

    def find_tenant(self, tenant_id: str, *, lock: bool = False) -> Tenant | None:
        """The tenant; with ``lock``, held until the transaction ends (writers)."""
        ...

    def find_tenant_by_slug(self, slug: str) -> Tenant | None:
        """The tenant with ``slug`` (platform scope)."""
        ...

    def list_tenants(self, *, after: str | None, limit: int) -> list[Tenant]:
        """A page of tenants (platform scope)."""
        ...

    def find_user(self, tenant_id: str, user_id: str) -> User | None:
        """The user ``user_id`` of ``tenant_id``."""
        ...

    def find_user_by_email(self, tenant_id: str, email: str) -> User | None:
        """The user of ``tenant_id`` with the (lower-case) ``email``."""
        ...

    def list_users(
        self, tenant_id: str, *, after: str | None, limit: int
    ) -> list[User]:
        """A page of the tenant's users."""
        ...

    def count_users(self, tenant_id: str) -> int:
        """How many users the tenant has (disabled ones included)."""
        ...

    def count_active_owners(self, tenant_id: str) -> int:
        """How many owners of the tenant are not disabled."""
        ...

    def find_key(self, tenant_id: str, key_id: str) -> ApiKey | None:
        """The key ``key_id`` of ``tenant_id`` (with its secret hash)."""
        ...

    def find_key_tenant(self, prefix: str) -> str | None:
        """The tenant owning the key with ``prefix`` (platform scope).

        The one cross-tenant credential read: it reveals a tenant id, nothing else.
        """
        ...

    def find_key_by_prefix(self, tenant_id: str, prefix: str) -> ApiKey | None:
        """The key of ``tenant_id`` with ``prefix`` (with its secret hash)."""
        ...

    def list_keys(
        self,
        tenant_id: str,
        *,
        user_id: str | None,
        after: str | None,
        limit: int,
    ) -> list[ApiKey]:
        """A page of the tenant's keys, optionally of one user."""
        ...

    def active_key_ids(self, tenant_id: str, user_id: str, now: datetime) -> list[str]:
        """The ids of the user's active keys."""
        ...

    def count_active_keys(self, tenant_id: str, now: datetime) -> int:
        """How many of the tenant's keys are active at ``now``."""
        ...

    def set_key_secret_hash(
        self, tenant_id: str, key_id: str, secret_hash: str
    ) -> None:
        """Store a new key's secret hash (credential state, never in an event)."""
        ...

    def touch_key(self, tenant_id: str, key_id: str, now: datetime) -> bool:
        """Set ``last_used_at`` to ``now`` unless it was set less than a minute ago.

        Returns whether a row changed. Not an event: a usage hint (ADR 0009).
        """
        ...


class TenancyTransaction(Protocol):
    """One open transaction: reads, event appends, commit."""

    @property
    def repo(self) -> TenancyRepository:
        """The repository bound to this transaction."""
        ...

    def append(
        self, events: Sequence[Envelope], *, expected_version: int | None
    ) -> int:
        """Append events to their stream and project them; return the new version.

        Raises:
            VersionConflict: the stream is not at ``expected_version``.
            Conflict: a unique slug, email or prefix is already taken.
            PhantomError: the transaction is read-only.
        """
        ...

    def commit(self) -> None:
        """Commit; without it, everything is rolled back when the block ends."""
        ...


class TenancyUnitOfWork(Protocol):
    """Opens transactions on the tenancy store.

    Contract:
        * ``transaction(tenant_id, write=True)`` serialises with other writers of
          the same store enough that a tenant row read with ``lock=True`` stays
          current until commit (SQLite: ``BEGIN IMMEDIATE``; PostgreSQL:
          ``SELECT ... FOR UPDATE``); it rolls back unless committed.
        * ``write=False`` gives a read-only snapshot that never blocks writers.
        * ``tenant_id`` is the tenant the transaction acts for (``None``: platform
          scope); row-level security binds it to the transaction.
    """

    def transaction(
        self, tenant_id: str | None, *, write: bool = False
    ) -> AbstractContextManager[TenancyTransaction]:
        """Open a transaction for ``tenant_id``."""
        ...
