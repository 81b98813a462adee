"""The tenancy store on SQLite or PostgreSQL: repository, transactions, tables.

Writes open a kernel :class:`~phantom.kernel.db.uow.UnitOfWork` whose inline
projector is :func:`project_tenancy`, so events, read model and credential state
commit together. Every transaction but the platform-scope reads is bound to one
tenant, so PostgreSQL row-level security confines it (ADR 0010).
``find_tenant(lock=True)`` is ``SELECT ... FOR UPDATE`` on PostgreSQL; on SQLite
every write transaction already holds the write lock (``BEGIN IMMEDIATE``).
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime, timedelta
from importlib.resources import files
from pathlib import Path
from typing import Any, Final

from sqlalchemy import (
    ColumnElement,
    Connection,
    Row,
    Select,
    and_,
    func,
    or_,
    select,
    update,
)
from sqlalchemy.exc import IntegrityError

from phantom.kernel.db.engine import Database
from phantom.kernel.db.tenant import tenant_transaction
from phantom.kernel.db.uow import UnitOfWork
from phantom.kernel.errors import Conflict, PhantomError
from phantom.kernel.events.envelope import Envelope
from phantom.kernel.events.sql import SqlEventStore, from_us, to_us
from phantom.kernel.events.store import EventStore
from phantom.tenancy.adapters.sql_projection import project_tenancy
from phantom.tenancy.adapters.sql_tables import api_keys, metadata, tenants, users
from phantom.tenancy.domain.errors import EmailTaken, SlugTaken
from phantom.tenancy.domain.keys import TOUCH_INTERVAL, ApiKey
from phantom.tenancy.domain.roles import Role
from phantom.tenancy.domain.tenants import (
    Isolation,
    Quotas,
    Tenant,
    TenantStatus,
)
from phantom.tenancy.domain.users import User
from phantom.tenancy.ports import TenancyRepository

__all__ = [
    "TENANCY_MIGRATIONS",
    "SqlTenancyRepository",
    "SqlTenancyTransaction",
    "SqlTenancyUnitOfWork",
    "api_keys",
    "metadata",
    "project_tenancy",
    "tenants",
    "users",
]

TENANCY_MIGRATIONS: Final = Path(str(files("phantom.tenancy") / "migrations"))
"""The tenancy context's Alembic script folder."""

_UNIQUE: Final = (
    (re.compile(r"slug"), SlugTaken, "the slug is taken"),
    (
        re.compile(r"email"),
        EmailTaken,
        "this tenant already has a user with that email",
    ),
    (re.compile(r"prefix"), Conflict, "an API key prefix collided; try again"),
)


def _tenant(row: Row[Any]) -> Tenant:
    return Tenant(
        id=row.tenant_id,
        name=row.name,
        slug=row.slug,
        isolation=Isolation(row.isolation),
        status=TenantStatus(row.status),
        quotas=Quotas(max_users=row.max_users, max_api_keys=row.max_api_keys),
        version=row.version,
        created_at=from_us(row.created_at_us),
    )


def _user(row: Row[Any]) -> User:
    return User(
        tenant_id=row.tenant_id,
        id=row.user_id,
        email=row.email,
        display_name=row.display_name,
        role=Role(row.role),
        disabled=bool(row.disabled),
        is_platform_admin=bool(row.is_platform_admin),
        created_at=from_us(row.created_at_us),
    )


def _maybe_time(value: int | None) -> datetime | None:
    return None if value is None else from_us(value)


def _key(row: Row[Any]) -> ApiKey:
    return ApiKey(
        tenant_id=row.tenant_id,
        id=row.key_id,
        user_id=row.user_id,
        prefix=row.prefix,
        name=row.name,
        scopes=None if row.scopes is None else frozenset(row.scopes.split()),
        created_at=from_us(row.created_at_us),
        expires_at=_maybe_time(row.expires_at_us),
        revoked_at=_maybe_time(row.revoked_at_us),
        last_used_at=_maybe_time(row.last_used_at_us),
        secret_hash=row.secret_hash,
    )


def _active_keys(tenant_id: str, now: datetime) -> ColumnElement[bool]:
    return and_(
        api_keys.c.tenant_id == tenant_id,
        api_keys.c.revoked_at_us.is_(None),
        or_(api_keys.c.expires_at_us.is_(None), api_keys.c.expires_at_us > to_us(now)),
    )


class SqlTenancyRepository(TenancyRepository):
    """:class:`~phantom.tenancy.ports.TenancyRepository` on one SQL connection."""

    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    def _one(self, statement: Select[Any]) -> Row[Any] | None:
        return self._conn.execute(statement).first()

    def _count(self, condition: ColumnElement[bool], table: Any) -> int:  # noqa: ANN401
        statement = select(func.count()).select_from(table).where(condition)
        return int(self._conn.execute(statement).scalar_one())

    def find_tenant(self, tenant_id: str, *, lock: bool = False) -> Tenant | None:
        """See the port."""
        statement = select(tenants).where(tenants.c.tenant_id == tenant_id)
        row = self._one(statement.with_for_update() if lock else statement)
        return None if row is None else _tenant(row)

    def find_tenant_by_slug(self, slug: str) -> Tenant | None:
        """See the port."""
        row = self._one(select(tenants).where(tenants.c.slug == slug))
        return None if row is None else _tenant(row)

    def list_tenants(self, *, after: str | None, limit: int) -> list[Tenant]:
        """See the port."""
        statement = select(tenants).order_by(tenants.c.tenant_id).limit(limit)
        if after is not None:
            statement = statement.where(tenants.c.tenant_id > after)
        return [_tenant(row) for row in self._conn.execute(statement)]

    def find_user(self, tenant_id: str, user_id: str) -> User | None:
        """See the port."""
        row = self._one(
            select(users).where(
                and_(users.c.tenant_id == tenant_id, users.c.user_id == user_id)
            )
        )
        return None if row is None else _user(row)

    def find_user_by_email(self, tenant_id: str, email: str) -> User | None:
        """See the port."""
        row = self._one(
            select(users).where(
                and_(users.c.tenant_id == tenant_id, users.c.email == email)
            )
        )
        return None if row is None else _user(row)

    def list_users(
        self, tenant_id: str, *, after: str | None, limit: int
    ) -> list[User]:
        """See the port."""
        statement = (
            select(users)
            .where(users.c.tenant_id == tenant_id)
            .order_by(users.c.user_id)
            .limit(limit)
        )
        if after is not None:
            statement = statement.where(users.c.user_id > after)
        return [_user(row) for row in self._conn.execute(statement)]

    def count_users(self, tenant_id: str) -> int:
        """See the port."""
        return self._count(users.c.tenant_id == tenant_id, users)

    def count_active_owners(self, tenant_id: str) -> int:
        """See the port."""
        return self._count(
            and_(
                users.c.tenant_id == tenant_id,
                users.c.role == Role.OWNER.value,
                users.c.disabled.is_(False),
            ),
            users,
        )

    def find_key(self, tenant_id: str, key_id: str) -> ApiKey | None:
        """See the port."""
        row = self._one(
            select(api_keys).where(
                and_(api_keys.c.tenant_id == tenant_id, api_keys.c.key_id == key_id)
            )
        )
        return None if row is None else _key(row)

    def find_key_tenant(self, prefix: str) -> str | None:
        """See the port."""
        row = self._one(select(api_keys.c.tenant_id).where(api_keys.c.prefix == prefix))
        return None if row is None else str(row.tenant_id)

    def find_key_by_prefix(self, tenant_id: str, prefix: str) -> ApiKey | None:
        """See the port."""
        row = self._one(
            select(api_keys).where(
                and_(api_keys.c.tenant_id == tenant_id, api_keys.c.prefix == prefix)
            )
        )
        return None if row is None else _key(row)

    def list_keys(
        self,
        tenant_id: str,
        *,
        user_id: str | None,
        after: str | None,
        limit: int,
    ) -> list[ApiKey]:
        """See the port."""
        statement = (
            select(api_keys)
            .where(api_keys.c.tenant_id == tenant_id)
            .order_by(api_keys.c.key_id)
            .limit(limit)
        )
        if user_id is not None:
            statement = statement.where(api_keys.c.user_id == user_id)
        if after is not None:
            statement = statement.where(api_keys.c.key_id > after)
        return [_key(row) for row in self._conn.execute(statement)]

    def active_key_ids(self, tenant_id: str, user_id: str, now: datetime) -> list[str]:
        """See the port."""
        statement = (
            select(api_keys.c.key_id)
            .where(and_(_active_keys(tenant_id, now), api_keys.c.user_id == user_id))
            .order_by(api_keys.c.key_id)
        )
        return [str(key_id) for key_id in self._conn.execute(statement).scalars()]

    def count_active_keys(self, tenant_id: str, now: datetime) -> int:
        """See the port."""
        return self._count(_active_keys(tenant_id, now), api_keys)

    def set_key_secret_hash(
        self, tenant_id: str, key_id: str, secret_hash: str
    ) -> None:
        """See the port."""
        self._conn.execute(
            update(api_keys)
            .where(and_(api_keys.c.tenant_id == tenant_id, api_keys.c.key_id == key_id))
            .values(secret_hash=secret_hash)
        )

    def touch_key(self, tenant_id: str, key_id: str, now: datetime) -> bool:
        """See the port."""
        at = to_us(now)
        since = to_us(now - TOUCH_INTERVAL + timedelta(microseconds=1))
        result = self._conn.execute(
            update(api_keys)
            .where(
                and_(
                    api_keys.c.tenant_id == tenant_id,
                    api_keys.c.key_id == key_id,
                    or_(
                        api_keys.c.last_used_at_us.is_(None),
                        api_keys.c.last_used_at_us < since,
                    ),
                )
            )
            .values(last_used_at_us=at)
        )
        return bool(result.rowcount)


class SqlTenancyTransaction:
    """One open tenancy transaction (see the port)."""

    def __init__(self, conn: Connection, uow: UnitOfWork | None) -> None:
        self._repo = SqlTenancyRepository(conn)
        self._uow = uow

    @property
    def repo(self) -> SqlTenancyRepository:
        """The repository on this transaction's connection."""
        return self._repo

    def append(
        self, events: Sequence[Envelope], *, expected_version: int | None
    ) -> int:
        """See the port; unique violations become the matching ``Conflict``."""
        if self._uow is None:
            msg = "this tenancy transaction is read-only"
            raise PhantomError(msg)
        try:
            return self._uow.append(events, expected_version=expected_version).version
        except IntegrityError as exc:
            raise _conflict(exc) from exc

    def commit(self) -> None:
        """Commit (a read-only transaction has nothing to commit)."""
        if self._uow is not None:
            self._uow.commit()


def _conflict(exc: IntegrityError) -> PhantomError:
    diag = getattr(exc.orig, "diag", None)
    where = getattr(diag, "constraint_name", None) or str(exc.orig)
    for pattern, error, message in _UNIQUE:
        if pattern.search(where):
            return error(message)
    return Conflict("the change conflicts with stored tenancy data")


class SqlTenancyUnitOfWork:
    """:class:`~phantom.tenancy.ports.TenancyUnitOfWork` on a context database.

    * Tenant-scoped writes are kernel units of work built for the tenant, with
      :func:`project_tenancy` as their inline projector.
    * Tenant-scoped reads are :func:`~phantom.kernel.db.tenant.tenant_transaction`
      (deferred on SQLite, so they never wait for writers).
    * Platform-scope reads (``tenant_id=None``) run on the system engine; on
      PostgreSQL its role sees tenant rows and the key ``prefix``/``tenant_id``
      columns only (migration tenancy0001, ADR 0009), and may not write.

    Args:
        db: the tenancy context's database, migrated with
            :data:`TENANCY_MIGRATIONS`.
        store: its event store (a :class:`SqlEventStore` by default).
    """

    def __init__(self, db: Database, store: EventStore | None = None) -> None:
        self.db = db
        self.store: EventStore = store or SqlEventStore(db.dialect, db.schema)

    @contextmanager
    def transaction(
        self, tenant_id: str | None, *, write: bool = False
    ) -> Iterator[SqlTenancyTransaction]:
        """Open a transaction for ``tenant_id`` (``None``: platform scope, read-only).

        Raises:
            PhantomError: a write was asked for without a tenant.
        """
        if tenant_id is None:
            if write:
                msg = "tenancy writes are always scoped to one tenant"
                raise PhantomError(msg)
            system = self.db.system_engine.connect()
            with (
                system.execution_options(sqlite_begin="DEFERRED") as conn,
                conn.begin(),
            ):
                yield SqlTenancyTransaction(conn, None)
            return
        if not write:
            with tenant_transaction(self.db, tenant_id) as conn:
                yield SqlTenancyTransaction(conn, None)
            return
        uow = UnitOfWork(self.db, self.store, (project_tenancy,), tenant_id=tenant_id)
        with uow:
            yield SqlTenancyTransaction(uow.connection, uow)
