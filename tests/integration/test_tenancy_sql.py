"""The tenancy context on SQLite and PostgreSQL: handlers, projector, constraints."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import timedelta

import pytest
from sqlalchemy import func, inspect, select, text
from sqlalchemy.exc import ProgrammingError

from phantom.kernel.clock import FixedClock
from phantom.kernel.db.engine import Database
from phantom.kernel.db.metadata import events as kernel_events
from phantom.kernel.db.migrate import migrate
from phantom.kernel.db.tenant import tenant_transaction
from phantom.kernel.events.envelope import Envelope
from phantom.kernel.events.sql import SqlEventStore
from phantom.tenancy.adapters.sql import (
    TENANCY_MIGRATIONS,
    SqlTenancyUnitOfWork,
    api_keys,
    tenants,
    users,
)
from phantom.tenancy.api import CreatedTenant, Principal, system_principal
from phantom.tenancy.commands import (
    CreateApiKey,
    CreateUser,
    DeleteUser,
    RevokeApiKey,
    UpdateTenant,
    UpdateUser,
)
from phantom.tenancy.domain.errors import (
    ApiKeyNotFound,
    AuthenticationFailed,
    EmailTaken,
    QuotaReached,
    SlugTaken,
    TenantNotFound,
    UserNotFound,
)
from phantom.tenancy.domain.keys import KeyHasher
from phantom.tenancy.service import TenancyService
from phantom.testing.rls import rls_catalog_problems, tenant_tables
from tests.unit.tenancy.factories import (
    PEPPER,
    add_user,
    claims,
    hs256,
    make_service,
    new_tenant,
    owner_of,
)


@pytest.fixture
def db(databases: Callable[[], Database]) -> Database:
    database = databases()
    migrate(database, TENANCY_MIGRATIONS)
    return database


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock()


@pytest.fixture
def service(db: Database, clock: FixedClock) -> TenancyService:
    return make_service(SqlTenancyUnitOfWork(db), clock)


@pytest.fixture
def acme(service: TenancyService) -> CreatedTenant:
    return new_tenant(service, "acme")


@pytest.fixture
def owner(service: TenancyService, acme: CreatedTenant) -> Principal:
    return owner_of(service, acme)


def _events(db: Database) -> list[Envelope]:
    with db.owner_engine.connect() as conn:  # the owner sees every tenant's rows
        return SqlEventStore(db.dialect, db.schema).read_all(conn, limit=10_000)


def _count(db: Database, table: object) -> int:
    with db.owner_engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(table)).scalar_one())  # type: ignore[arg-type]


def test_every_tenancy_table_carries_tenant_id(db: Database) -> None:
    inspector = inspect(db.owner_engine)
    for table in ("tenancy_tenants", "tenancy_users", "tenancy_api_keys"):
        columns = {c["name"] for c in inspector.get_columns(table, schema=db.schema)}
        assert "tenant_id" in columns
    for fk in inspector.get_foreign_keys("tenancy_api_keys", schema=db.schema):
        assert "tenant_id" in fk["constrained_columns"]
    uniques = inspector.get_unique_constraints("tenancy_users", schema=db.schema)
    assert any(u["column_names"] == ["tenant_id", "email"] for u in uniques)


def test_a_new_tenants_owner_key_authenticates(
    service: TenancyService, acme: CreatedTenant
) -> None:
    principal = service.authenticate_key(acme.owner_key.plaintext.get_secret_value())
    assert (principal.tenant_id, principal.user_id, principal.role) == (
        acme.tenant.id,
        acme.owner.id,
        "owner",
    )
    assert service.get_tenant(principal).usage.api_keys == 1


def test_keys_are_stored_as_peppered_hashes_only(
    db: Database, acme: CreatedTenant
) -> None:
    plaintext = acme.owner_key.plaintext.get_secret_value()
    secret = plaintext.split("_", 2)[2]
    with db.owner_engine.connect() as conn:
        row = conn.execute(select(api_keys)).one()
    assert row.secret_hash == KeyHasher(PEPPER).hash(secret)
    assert secret not in repr(tuple(row))
    assert row.prefix == acme.owner_key.key.prefix


def test_created_keys_authenticate_and_revoked_ones_fail(
    service: TenancyService, owner: Principal
) -> None:
    created = service.create_key(CreateApiKey(name="ci", scopes=["models:read"]), owner)
    plaintext = created.plaintext.get_secret_value()
    assert service.authenticate_key(plaintext).permissions == {"models:read"}
    service.revoke_key(RevokeApiKey(key_id=created.key.id), owner)
    with pytest.raises(AuthenticationFailed) as caught:
        service.authenticate_key(plaintext)
    assert caught.value.reason == "revoked"
    listed = {k.id: k for k in service.list_keys(owner).items}
    assert listed[created.key.id].revoked_at is not None


def test_an_expired_key_fails(
    service: TenancyService, owner: Principal, clock: FixedClock
) -> None:
    created = service.create_key(
        CreateApiKey(name="temp", expires_at=clock.now() + timedelta(minutes=10)), owner
    )
    plaintext = created.plaintext.get_secret_value()
    service.authenticate_key(plaintext)
    clock.advance(timedelta(minutes=10))
    with pytest.raises(AuthenticationFailed) as caught:
        service.authenticate_key(plaintext)
    assert caught.value.reason == "expired"


def test_disabled_users_and_tenants_fail(
    service: TenancyService, owner: Principal, acme: CreatedTenant, clock: FixedClock
) -> None:
    user_id = add_user(service, owner, "e@acme.example", "ml-engineer")
    key = service.create_key(CreateApiKey(name="k", user_id=user_id), owner)
    service.update_user(UpdateUser(user_id=user_id, disabled=True), owner)
    with pytest.raises(AuthenticationFailed):
        service.authenticate_key(key.plaintext.get_secret_value())
    token = hs256(
        claims(sub=acme.owner.id, tenant_id=acme.tenant.id, now=clock.now().timestamp())
    )
    assert service.authenticate_token(token).user_id == acme.owner.id
    service.update_tenant(
        UpdateTenant(tenant_id=acme.tenant.id, status="disabled"), system_principal()
    )
    with pytest.raises(AuthenticationFailed):
        service.authenticate_token(token)
    with pytest.raises(AuthenticationFailed):
        service.authenticate_key(acme.owner_key.plaintext.get_secret_value())


def test_last_used_at_is_written_at_most_once_a_minute(
    service: TenancyService, owner: Principal, clock: FixedClock
) -> None:
    created = service.create_key(CreateApiKey(name="ci"), owner)
    plaintext = created.plaintext.get_secret_value()

    def last_used() -> object:
        keys = {k.id: k for k in service.list_keys(owner).items}
        return keys[created.key.id].last_used_at

    assert last_used() is None
    first = clock.now()
    service.authenticate_key(plaintext)
    assert last_used() == first
    clock.advance(timedelta(seconds=59))
    service.authenticate_key(plaintext)
    assert last_used() == first
    clock.advance(timedelta(seconds=1))
    service.authenticate_key(plaintext)
    assert last_used() == clock.now()


def test_a_quota_refusal_leaves_nothing_written_but_the_refusal(
    db: Database, service: TenancyService
) -> None:
    owner = owner_of(service, new_tenant(service, "acme", max_users=2, max_api_keys=2))
    add_user(service, owner, "second@acme.example")
    service.create_key(CreateApiKey(name="second"), owner)
    users_before, keys_before = _count(db, users), _count(db, api_keys)
    events_before = len(_events(db))
    with pytest.raises(QuotaReached) as caught:
        add_user(service, owner, "third@acme.example")
    assert (caught.value.quota, caught.value.limit, caught.value.status) == (
        "max_users",
        2,
        403,
    )
    with pytest.raises(QuotaReached, match="max_api_keys"):
        service.create_key(CreateApiKey(name="third"), owner)
    assert (_count(db, users), _count(db, api_keys)) == (users_before, keys_before)
    new = _events(db)[events_before:]
    assert [e.type for e in new] == ["tenancy.QuotaRefused", "tenancy.QuotaRefused"]
    assert [e.data["quota"] for e in new] == ["max_users", "max_api_keys"]
    with db.owner_engine.connect() as conn:
        version = conn.execute(select(tenants.c.version)).scalar_one()
    assert version == new[-1].stream_version


def test_another_tenants_ids_are_not_found(
    service: TenancyService, owner: Principal
) -> None:
    globex = new_tenant(service, "globex", email="boss@globex.example")
    with pytest.raises(UserNotFound):
        service.get_user(owner, globex.owner.id)
    with pytest.raises(UserNotFound):
        service.update_user(UpdateUser(user_id=globex.owner.id, disabled=True), owner)
    with pytest.raises(UserNotFound):
        service.delete_user(DeleteUser(user_id=globex.owner.id), owner)
    with pytest.raises(ApiKeyNotFound):
        service.revoke_key(RevokeApiKey(key_id=globex.owner_key.key.id), owner)
    with pytest.raises(TenantNotFound):
        service.get_tenant(owner, globex.tenant.id)
    with pytest.raises(TenantNotFound):
        service.list_users(owner, tenant_id=globex.tenant.id)
    assert {u.tenant_id for u in service.list_users(owner).items} == {owner.tenant_id}
    assert {k.tenant_id for k in service.list_keys(owner).items} == {owner.tenant_id}
    assert service.authenticate_key(globex.owner_key.plaintext.get_secret_value())


def test_unique_slugs_and_emails_hold_in_the_database(
    service: TenancyService, owner: Principal
) -> None:
    with pytest.raises(SlugTaken):
        new_tenant(service, "acme", email="x@acme.example")
    add_user(service, owner, "dup@acme.example")
    with pytest.raises(EmailTaken):
        add_user(service, owner, "DUP@acme.example")


def test_deleting_a_user_removes_them_and_their_keys(
    db: Database, service: TenancyService, owner: Principal
) -> None:
    user_id = add_user(service, owner, "e@acme.example", "ml-engineer")
    key = service.create_key(CreateApiKey(name="k", user_id=user_id), owner)
    service.delete_user(DeleteUser(user_id=user_id), owner)
    with pytest.raises(AuthenticationFailed):
        service.authenticate_key(key.plaintext.get_secret_value())
    assert (_count(db, users), _count(db, api_keys)) == (1, 1)


def test_concurrent_user_creation_never_exceeds_the_quota(
    db: Database, service: TenancyService
) -> None:
    owner = owner_of(service, new_tenant(service, "acme", max_users=5))
    outcomes: list[str] = []
    lock = threading.Lock()
    start = threading.Barrier(8)

    def create(worker: int) -> None:
        start.wait()
        for attempt in range(2):
            try:
                add_user(service, owner, f"w{worker}-{attempt}@acme.example")
                result = "created"
            except QuotaReached:
                result = "refused"
            with lock:
                outcomes.append(result)

    threads = [threading.Thread(target=create, args=(i,)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert outcomes.count("created") == 4
    assert outcomes.count("refused") == 12
    assert _count(db, users) == 5
    stream = [e for e in _events(db) if e.tenant_id == owner.tenant_id]
    assert [e.stream_version for e in stream] == list(range(1, len(stream) + 1))


def test_every_write_is_an_event_and_none_carries_key_material(
    db: Database, service: TenancyService, owner: Principal, acme: CreatedTenant
) -> None:
    user_id = add_user(service, owner, "e@acme.example", "ml-engineer")
    key = service.create_key(CreateApiKey(name="k", user_id=user_id), owner)
    service.update_user(UpdateUser(user_id=user_id, role="viewer"), owner)
    service.revoke_key(RevokeApiKey(key_id=key.key.id), owner)
    service.create_user(CreateUser(email="other@acme.example"), owner)
    service.delete_user(DeleteUser(user_id=user_id), owner)
    stored = _events(db)
    assert [e.type.split(".")[1] for e in stored] == [
        "TenantCreated",
        "UserCreated",
        "ApiKeyCreated",
        "UserCreated",
        "ApiKeyCreated",
        "UserUpdated",
        "ApiKeyRevoked",
        "UserCreated",
        "UserDeleted",
    ]
    with db.owner_engine.connect() as conn:
        raw = repr(conn.execute(select(kernel_events.c.data)).all())
    hasher = KeyHasher(PEPPER)
    for plaintext in (
        acme.owner_key.plaintext.get_secret_value(),
        key.plaintext.get_secret_value(),
    ):
        secret = plaintext.split("_", 2)[2]
        assert secret not in raw
        assert hasher.hash(secret) not in raw


# --- PostgreSQL row-level security -------------------------------------------


@pytest.fixture
def pg_db(postgres_databases: Callable[[], Database]) -> Database:
    database = postgres_databases()
    migrate(database, TENANCY_MIGRATIONS)
    return database


@pytest.fixture
def pg_service(pg_db: Database, clock: FixedClock) -> TenancyService:
    return make_service(SqlTenancyUnitOfWork(pg_db), clock)


@pytest.mark.postgres
def test_the_tenancy_schema_passes_the_rls_catalog_check(pg_db: Database) -> None:
    assert pg_db.schema is not None
    assert pg_db.roles is not None
    with pg_db.owner_engine.connect() as conn:
        found = tenant_tables(conn, [pg_db.schema])
        problems = rls_catalog_problems(conn, [pg_db.schema], pg_db.roles)
    for table in ("tenancy_tenants", "tenancy_users", "tenancy_api_keys"):
        assert f"{pg_db.schema}.{table}" in found
    assert problems == []


@pytest.mark.postgres
def test_a_tenants_transaction_sees_no_other_tenants_rows(
    pg_db: Database, pg_service: TenancyService
) -> None:
    acme = new_tenant(pg_service, "acme")
    globex = new_tenant(pg_service, "globex", email="boss@globex.example")
    with tenant_transaction(pg_db, acme.tenant.id) as conn:
        for table in ("tenancy_tenants", "tenancy_users", "tenancy_api_keys"):
            found = conn.execute(text(f"SELECT DISTINCT tenant_id FROM {table}"))
            assert set(found.scalars()) == {acme.tenant.id}
        hidden = conn.execute(
            text("UPDATE tenancy_users SET disabled = true WHERE tenant_id = :t"),
            {"t": globex.tenant.id},
        )
        assert hidden.rowcount == 0
    with pg_db.engine.connect() as conn:  # no tenant set: nothing at all
        assert conn.execute(text("SELECT count(*) FROM tenancy_users")).scalar() == 0


@pytest.mark.postgres
def test_the_system_role_maps_prefixes_to_tenants_but_never_reads_hashes(
    pg_db: Database, pg_service: TenancyService
) -> None:
    acme = new_tenant(pg_service, "acme")
    with pg_db.system_engine.connect() as conn:
        tenant_id = conn.execute(
            text("SELECT tenant_id FROM tenancy_api_keys WHERE prefix = :p"),
            {"p": acme.owner_key.key.prefix},
        ).scalar()
        assert tenant_id == acme.tenant.id
    for statement in (
        "SELECT secret_hash FROM tenancy_api_keys",
        "SELECT * FROM tenancy_api_keys",
        "SELECT email FROM tenancy_users",
        "UPDATE tenancy_tenants SET status = 'disabled'",
    ):
        with pg_db.system_engine.connect() as conn, pytest.raises(ProgrammingError):
            conn.execute(text(statement))
