import pytest

from phantom.tenancy.adapters.memory import InMemoryTenancyUnitOfWork
from phantom.tenancy.api import CreatedTenant, Principal, system_principal
from phantom.tenancy.commands import (
    CreateApiKey,
    CreateUser,
    DeleteUser,
    UpdateUser,
)
from phantom.tenancy.domain.errors import (
    AuthenticationFailed,
    EmailTaken,
    InvalidField,
    LastOwner,
    PermissionDenied,
    TenantNotFound,
    UserNotFound,
)
from phantom.tenancy.service import TenancyService
from tests.unit.tenancy.factories import add_user, new_tenant, owner_of


def _as(service: TenancyService, owner: Principal, email: str, role: str) -> Principal:
    user_id = add_user(service, owner, email, role)
    key = service.create_key(CreateApiKey(name="k", user_id=user_id), owner)
    return service.authenticate_key(key.plaintext.get_secret_value())


def test_a_new_user_is_a_viewer_by_default_and_readable_at_once(
    service: TenancyService, owner: Principal
) -> None:
    created = service.create_user(CreateUser(email="Ada@Acme.Example"), owner)
    assert (created.role, created.email, created.display_name) == (
        "viewer",
        "ada@acme.example",
        "ada",
    )
    assert service.get_user(owner, created.id) == created
    assert created.id in [u.id for u in service.list_users(owner).items]


def test_emails_are_unique_per_tenant_not_globally(
    service: TenancyService, owner: Principal
) -> None:
    add_user(service, owner, "ada@example.com")
    with pytest.raises(EmailTaken):
        add_user(service, owner, "ADA@example.com")
    globex = new_tenant(service, "globex", email="o@globex.example")
    add_user(service, owner_of(service, globex), "ada@example.com")


def test_a_viewer_cannot_write(service: TenancyService, owner: Principal) -> None:
    viewer = _as(service, owner, "v@acme.example", "viewer")
    with pytest.raises(PermissionDenied, match="users:write"):
        service.create_user(CreateUser(email="x@acme.example"), viewer)


def test_an_admin_cannot_create_or_promote_to_owner(
    service: TenancyService, owner: Principal
) -> None:
    admin = _as(service, owner, "a@acme.example", "admin")
    with pytest.raises(PermissionDenied, match="owner"):
        service.create_user(CreateUser(email="x@acme.example", role="owner"), admin)
    user_id = add_user(service, admin, "e@acme.example", "ml-engineer")
    with pytest.raises(PermissionDenied):
        service.update_user(UpdateUser(user_id=user_id, role="owner"), admin)
    assert (
        service.update_user(UpdateUser(user_id=user_id, role="admin"), admin).role
        == "admin"
    )


def test_an_admin_cannot_disable_or_delete_an_owner(
    service: TenancyService, owner: Principal, acme: CreatedTenant
) -> None:
    admin = _as(service, owner, "a@acme.example", "admin")
    with pytest.raises(PermissionDenied):
        service.update_user(UpdateUser(user_id=acme.owner.id, disabled=True), admin)
    with pytest.raises(PermissionDenied):
        service.delete_user(DeleteUser(user_id=acme.owner.id), admin)


def test_the_last_owner_cannot_be_demoted_disabled_or_deleted(
    service: TenancyService, owner: Principal, acme: CreatedTenant
) -> None:
    for cmd in (
        UpdateUser(user_id=acme.owner.id, role="admin"),
        UpdateUser(user_id=acme.owner.id, disabled=True),
    ):
        with pytest.raises(LastOwner):
            service.update_user(cmd, owner)
    with pytest.raises(LastOwner):
        service.delete_user(DeleteUser(user_id=acme.owner.id), owner)


def test_an_owner_may_step_down_once_another_owner_exists(
    service: TenancyService, owner: Principal, acme: CreatedTenant
) -> None:
    add_user(service, owner, "second@acme.example", "owner")
    updated = service.update_user(
        UpdateUser(user_id=acme.owner.id, role="admin"), owner
    )
    assert updated.role == "admin"


def test_an_update_that_changes_nothing_appends_nothing(
    service: TenancyService, uow: InMemoryTenancyUnitOfWork, owner: Principal
) -> None:
    user_id = add_user(service, owner, "v@acme.example")
    before = len(uow.events)
    service.update_user(UpdateUser(user_id=user_id, role="viewer"), owner)
    assert len(uow.events) == before
    service.update_user(UpdateUser(user_id=user_id, display_name="Vee"), owner)
    assert uow.events[-1].data["changed"] == ["display_name"]


def test_deleting_a_user_revokes_their_keys_first(
    service: TenancyService, uow: InMemoryTenancyUnitOfWork, owner: Principal
) -> None:
    user_id = add_user(service, owner, "e@acme.example", "ml-engineer")
    keys = [
        service.create_key(CreateApiKey(name=f"k{i}", user_id=user_id), owner)
        for i in range(2)
    ]
    service.delete_user(DeleteUser(user_id=user_id), owner)
    tail = [(e.type, e.data.get("reason")) for e in uow.events[-3:]]
    assert tail == [
        ("tenancy.ApiKeyRevoked", "user-deleted"),
        ("tenancy.ApiKeyRevoked", "user-deleted"),
        ("tenancy.UserDeleted", None),
    ]
    for key in keys:
        with pytest.raises(AuthenticationFailed):
            service.authenticate_key(key.plaintext.get_secret_value())
    with pytest.raises(UserNotFound):
        service.get_user(owner, user_id)
    assert service.get_tenant(owner).usage.api_keys == 1


def test_another_tenants_user_ids_are_not_found(
    service: TenancyService, owner: Principal
) -> None:
    globex = new_tenant(service, "globex", email="o@globex.example")
    stranger = globex.owner.id
    with pytest.raises(UserNotFound):
        service.get_user(owner, stranger)
    with pytest.raises(UserNotFound):
        service.update_user(UpdateUser(user_id=stranger, disabled=True), owner)
    with pytest.raises(UserNotFound):
        service.delete_user(DeleteUser(user_id=stranger), owner)
    with pytest.raises(UserNotFound):
        service.create_key(CreateApiKey(name="x", user_id=stranger), owner)


def test_naming_another_tenant_is_not_found_unless_platform_admin(
    service: TenancyService, owner: Principal
) -> None:
    globex = new_tenant(service, "globex", email="o@globex.example")
    cmd = CreateUser(email="x@globex.example", tenant_id=globex.tenant.id)
    with pytest.raises(TenantNotFound):
        service.create_user(cmd, owner)
    created = service.create_user(cmd, system_principal())
    assert created.tenant_id == globex.tenant.id


def test_bad_user_input_names_the_field(
    service: TenancyService, owner: Principal
) -> None:
    with pytest.raises(InvalidField) as caught:
        service.create_user(CreateUser(email="x@acme.example", role="root"), owner)
    assert caught.value.field == "role"
    with pytest.raises(InvalidField) as caught:
        service.create_user(
            CreateUser(email="x@acme.example", display_name="\x00"), owner
        )
    assert caught.value.field == "display_name"


def test_users_page_by_id(service: TenancyService, owner: Principal) -> None:
    for i in range(4):
        add_user(service, owner, f"u{i}@acme.example")
    first = service.list_users(owner, limit=3)
    assert len(first.items) == 3
    assert first.next_after == first.items[-1].id
    rest = service.list_users(owner, after=first.next_after, limit=3)
    assert len(rest.items) == 2
    assert rest.next_after is None
    ids = [u.id for u in first.items + rest.items]
    assert ids == sorted(ids)
