"""The tenancy store in memory, for unit tests (same port, same rules as SQL).

Writers are serialised by one lock and work on a copy of the state that replaces
the committed one on commit; readers see the last committed state. Unique slugs,
emails and prefixes are enforced as the SQL constraints do.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import datetime

from phantom.kernel.errors import Conflict, PhantomError, VersionConflict
from phantom.kernel.events.envelope import Envelope
from phantom.tenancy.domain.errors import EmailTaken, SlugTaken
from phantom.tenancy.domain.keys import ApiKey, needs_touch
from phantom.tenancy.domain.roles import Role
from phantom.tenancy.domain.tenants import (
    Isolation,
    Quotas,
    Tenant,
    TenantStatus,
)
from phantom.tenancy.domain.users import User
from phantom.tenancy.events import (
    ApiKeyCreated,
    ApiKeyRevoked,
    TenancyEvent,
    TenantCreated,
    TenantUpdated,
    UserCreated,
    UserDeleted,
    UserUpdated,
    parse_event,
)
from phantom.tenancy.ports import TenancyRepository

__all__ = ["InMemoryTenancyUnitOfWork"]


@dataclass(slots=True)
class _State:
    tenants: dict[str, Tenant] = field(default_factory=dict)
    users: dict[tuple[str, str], User] = field(default_factory=dict)
    keys: dict[tuple[str, str], ApiKey] = field(default_factory=dict)
    events: list[Envelope] = field(default_factory=list)

    def copy(self) -> _State:
        return _State(
            dict(self.tenants), dict(self.users), dict(self.keys), list(self.events)
        )


class _Repository(TenancyRepository):
    def __init__(self, state: _State) -> None:
        self._s = state

    def find_tenant(self, tenant_id: str, *, lock: bool = False) -> Tenant | None:
        del lock  # writers are serialised by the unit of work's lock
        return self._s.tenants.get(tenant_id)

    def find_tenant_by_slug(self, slug: str) -> Tenant | None:
        return next((t for t in self._s.tenants.values() if t.slug == slug), None)

    def list_tenants(self, *, after: str | None, limit: int) -> list[Tenant]:
        rows = sorted(self._s.tenants.values(), key=lambda t: t.id)
        return [t for t in rows if after is None or t.id > after][:limit]

    def find_user(self, tenant_id: str, user_id: str) -> User | None:
        return self._s.users.get((tenant_id, user_id))

    def find_user_by_email(self, tenant_id: str, email: str) -> User | None:
        return next(
            (u for u in self._tenant_users(tenant_id) if u.email == email), None
        )

    def _tenant_users(self, tenant_id: str) -> list[User]:
        users = (u for u in self._s.users.values() if u.tenant_id == tenant_id)
        return sorted(users, key=lambda u: u.id)

    def list_users(
        self, tenant_id: str, *, after: str | None, limit: int
    ) -> list[User]:
        rows = self._tenant_users(tenant_id)
        return [u for u in rows if after is None or u.id > after][:limit]

    def count_users(self, tenant_id: str) -> int:
        return len(self._tenant_users(tenant_id))

    def count_active_owners(self, tenant_id: str) -> int:
        return sum(1 for u in self._tenant_users(tenant_id) if u.active_owner)

    def find_key(self, tenant_id: str, key_id: str) -> ApiKey | None:
        return self._s.keys.get((tenant_id, key_id))

    def find_key_tenant(self, prefix: str) -> str | None:
        key = next((k for k in self._s.keys.values() if k.prefix == prefix), None)
        return None if key is None else key.tenant_id

    def find_key_by_prefix(self, tenant_id: str, prefix: str) -> ApiKey | None:
        return next(
            (k for k in self._tenant_keys(tenant_id) if k.prefix == prefix), None
        )

    def _tenant_keys(self, tenant_id: str) -> list[ApiKey]:
        keys = (k for k in self._s.keys.values() if k.tenant_id == tenant_id)
        return sorted(keys, key=lambda k: k.id)

    def list_keys(
        self,
        tenant_id: str,
        *,
        user_id: str | None,
        after: str | None,
        limit: int,
    ) -> list[ApiKey]:
        return [
            k
            for k in self._tenant_keys(tenant_id)
            if (user_id is None or k.user_id == user_id)
            and (after is None or k.id > after)
        ][:limit]

    def active_key_ids(self, tenant_id: str, user_id: str, now: datetime) -> list[str]:
        return [
            k.id
            for k in self._tenant_keys(tenant_id)
            if k.user_id == user_id and k.active(now)
        ]

    def count_active_keys(self, tenant_id: str, now: datetime) -> int:
        return sum(1 for k in self._tenant_keys(tenant_id) if k.active(now))

    def set_key_secret_hash(
        self, tenant_id: str, key_id: str, secret_hash: str
    ) -> None:
        key = self._s.keys.get((tenant_id, key_id))
        if key is not None:
            self._s.keys[tenant_id, key_id] = replace(key, secret_hash=secret_hash)

    def touch_key(self, tenant_id: str, key_id: str, now: datetime) -> bool:
        key = self._s.keys.get((tenant_id, key_id))
        if key is None or not needs_touch(key.last_used_at, now):
            return False
        self._s.keys[tenant_id, key_id] = replace(key, last_used_at=now)
        return True


class _Transaction:
    def __init__(self, state: _State, owner: InMemoryTenancyUnitOfWork | None) -> None:
        self._state = state
        self._owner = owner
        self._repo = _Repository(state)

    @property
    def repo(self) -> TenancyRepository:
        return self._repo

    def append(
        self, events: Sequence[Envelope], *, expected_version: int | None
    ) -> int:
        if self._owner is None:
            msg = "this tenancy transaction is read-only"
            raise PhantomError(msg)
        first = events[0]
        current = sum(
            1
            for e in self._state.events
            if (e.tenant_id, e.stream_id) == (first.tenant_id, first.stream_id)
        )
        if expected_version is not None and expected_version != current:
            msg = f"stream {first.stream_id!r} is at version {current}"
            raise VersionConflict(msg, current_version=current)
        for i, envelope in enumerate(events, 1):
            stored = envelope.with_version(current + i)
            self._state.events.append(stored)
            event = parse_event(stored)
            if event is not None:
                _project(self._state, stored, event)
        return current + len(events)

    def commit(self) -> None:
        if self._owner is not None:
            self._owner._state = self._state  # noqa: SLF001 - the owner's own state


class InMemoryTenancyUnitOfWork:
    """The tenancy unit of work in memory; ``events`` holds what was committed."""

    def __init__(self) -> None:
        self._state = _State()
        self._lock = threading.Lock()

    @property
    def events(self) -> list[Envelope]:
        """Every committed event, in append order."""
        return list(self._state.events)

    @contextmanager
    def transaction(
        self, tenant_id: str | None, *, write: bool = False
    ) -> Iterator[_Transaction]:
        """Open a transaction (writers one at a time; readers never wait)."""
        if write and tenant_id is None:
            msg = "tenancy writes are always scoped to one tenant"
            raise PhantomError(msg)
        if not write:
            yield _Transaction(self._state, None)
            return
        with self._lock:
            yield _Transaction(self._state.copy(), self)


def _project(state: _State, envelope: Envelope, event: TenancyEvent) -> None:
    tenant_id, at = envelope.tenant_id, envelope.occurred_at
    match event:
        case TenantCreated():
            if any(t.slug == event.slug for t in state.tenants.values()):
                raise SlugTaken("the slug is taken")
            state.tenants[tenant_id] = Tenant(
                id=tenant_id,
                name=event.name,
                slug=event.slug,
                isolation=Isolation(event.isolation),
                status=TenantStatus(event.status),
                quotas=Quotas(event.max_users, event.max_api_keys),
                version=envelope.stream_version,
                created_at=at,
            )
        case TenantUpdated():
            state.tenants[tenant_id] = replace(
                state.tenants[tenant_id],
                name=event.name,
                status=TenantStatus(event.status),
                quotas=Quotas(event.max_users, event.max_api_keys),
            )
        case UserCreated() | UserUpdated() | UserDeleted():
            _project_user(state, tenant_id, at, event)
        case ApiKeyCreated() | ApiKeyRevoked():
            _project_key(state, tenant_id, at, event)
        case _:
            pass
    if tenant_id in state.tenants:
        state.tenants[tenant_id] = replace(
            state.tenants[tenant_id], version=envelope.stream_version
        )


def _project_user(
    state: _State,
    tenant_id: str,
    at: datetime,
    event: UserCreated | UserUpdated | UserDeleted,
) -> None:
    match event:
        case UserCreated():
            if any(
                u.tenant_id == tenant_id and u.email == event.email
                for u in state.users.values()
            ):
                raise EmailTaken("this tenant already has a user with that email")
            state.users[tenant_id, event.user_id] = User(
                tenant_id=tenant_id,
                id=event.user_id,
                email=event.email,
                display_name=event.display_name,
                role=Role(event.role),
                disabled=event.disabled,
                is_platform_admin=event.is_platform_admin,
                created_at=at,
            )
        case UserUpdated():
            state.users[tenant_id, event.user_id] = replace(
                state.users[tenant_id, event.user_id],
                role=Role(event.role),
                disabled=event.disabled,
                display_name=event.display_name,
            )
        case UserDeleted():
            owned = [
                k
                for k in state.keys.values()
                if k.tenant_id == tenant_id and k.user_id == event.user_id
            ]
            for key in owned:
                del state.keys[key.tenant_id, key.id]
            del state.users[tenant_id, event.user_id]


def _project_key(
    state: _State,
    tenant_id: str,
    at: datetime,
    event: ApiKeyCreated | ApiKeyRevoked,
) -> None:
    match event:
        case ApiKeyCreated():
            if any(k.prefix == event.prefix for k in state.keys.values()):
                raise Conflict("an API key prefix collided; try again")
            state.keys[tenant_id, event.key_id] = ApiKey(
                tenant_id=tenant_id,
                id=event.key_id,
                user_id=event.user_id,
                prefix=event.prefix,
                name=event.name,
                scopes=None if event.scopes is None else frozenset(event.scopes),
                created_at=at,
                expires_at=event.expires_at,
            )
        case ApiKeyRevoked():
            key = state.keys[tenant_id, event.key_id]
            if key.revoked_at is None:
                state.keys[tenant_id, event.key_id] = replace(key, revoked_at=at)
