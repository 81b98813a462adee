import pytest

from phantom.kernel.errors import InvalidInput
from phantom.tenancy.adapters.memory import InMemoryTenancyUnitOfWork
from phantom.tenancy.api import CreatedTenant, Principal, system_principal
from phantom.tenancy.commands import CreateTenant, UpdateTenant
from phantom.tenancy.domain.errors import (
    InvalidField,
    PermissionDenied,
    SlugTaken,
    TenantNotFound,
)
from phantom.tenancy.domain.tenants import DEFAULT_QUOTAS
from phantom.tenancy.service import TenancyService
from tests.unit.tenancy.factories import new_tenant


def test_a_new_tenant_comes_with_an_owner_and_a_key_shown_once(
    service: TenancyService, uow: InMemoryTenancyUnitOfWork
) -> None:
    created = new_tenant(service, "acme")
    assert created.tenant.slug == "acme"
    assert created.tenant.isolation == "row"
    assert created.tenant.status == "active"
    assert created.tenant.quotas.max_users == DEFAULT_QUOTAS.max_users
    assert (created.tenant.usage.users, created.tenant.usage.api_keys) == (1, 1)
    assert created.owner.role == "owner"
    assert created.owner.email == "owner@acme.example"
    plaintext = created.owner_key.plaintext.get_secret_value()
    assert plaintext.startswith(f"phk_{created.owner_key.key.prefix}_")
    assert plaintext not in repr(created)
    assert plaintext not in created.model_dump_json()
    types = [e.type for e in uow.events]
    assert types == [
        "tenancy.TenantCreated",
        "tenancy.UserCreated",
        "tenancy.ApiKeyCreated",
    ]
    assert {e.stream_id for e in uow.events} == {f"tenant-{created.tenant.id}"}
    assert [e.stream_version for e in uow.events] == [1, 2, 3]


def test_only_platform_admins_create_tenants(
    service: TenancyService, owner: Principal
) -> None:
    with pytest.raises(PermissionDenied, match="platform:admin"):
        service.create_tenant(
            CreateTenant(name="X", slug="xxx", owner_email="a@x.example"), owner
        )


def test_slugs_are_unique(service: TenancyService, acme: CreatedTenant) -> None:
    with pytest.raises(SlugTaken):
        new_tenant(service, "acme", email="other@acme.example")


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"slug": "../../etc"}, "slug"),
        ({"slug": "ACME"}, "slug"),
        ({"name": "evil\u202e"}, "name"),
        ({"name": "  "}, "name"),
        ({"owner_email": "not-an-email"}, "owner_email"),
        ({"isolation": "schema"}, "isolation"),
        ({"isolation": "database"}, "isolation"),
    ],
)
def test_hostile_input_is_refused_naming_the_field_and_writes_nothing(
    service: TenancyService,
    uow: InMemoryTenancyUnitOfWork,
    changes: dict[str, str],
    field: str,
) -> None:
    fields = {"name": "Acme", "slug": "acme", "owner_email": "o@acme.example"}
    fields.update(changes)
    with pytest.raises(InvalidInput) as caught:
        service.create_tenant(CreateTenant.model_validate(fields), system_principal())
    assert caught.value.status == 422
    expected = "email" if field == "owner_email" else field
    assert isinstance(caught.value, InvalidField)
    assert caught.value.field == expected
    assert uow.events == []


def test_isolation_levels_not_built_yet_say_so(service: TenancyService) -> None:
    with pytest.raises(InvalidField, match="'schema' is not available yet"):
        service.create_tenant(
            CreateTenant(
                name="A", slug="acme", owner_email="o@a.example", isolation="schema"
            ),
            system_principal(),
        )


def test_a_platform_admin_updates_a_tenant_and_no_op_appends_nothing(
    service: TenancyService, uow: InMemoryTenancyUnitOfWork, acme: CreatedTenant
) -> None:
    before = len(uow.events)
    info = service.update_tenant(
        UpdateTenant(tenant_id=acme.tenant.id, name="Acme Inc", max_users=3),
        system_principal(),
    )
    assert (info.name, info.quotas.max_users) == ("Acme Inc", 3)
    assert uow.events[-1].type == "tenancy.TenantUpdated"
    assert uow.events[-1].data["changed"] == ["name", "max_users"]
    service.update_tenant(
        UpdateTenant(tenant_id=acme.tenant.id, name="Acme Inc"), system_principal()
    )
    assert len(uow.events) == before + 1


def test_tenant_owners_cannot_change_their_tenant_record(
    service: TenancyService, acme: CreatedTenant, owner: Principal
) -> None:
    with pytest.raises(PermissionDenied):
        service.update_tenant(
            UpdateTenant(tenant_id=acme.tenant.id, max_users=10_000), owner
        )


def test_updating_an_unknown_tenant_is_not_found(service: TenancyService) -> None:
    with pytest.raises(TenantNotFound):
        service.update_tenant(
            UpdateTenant(tenant_id="nope", name="X"), system_principal()
        )


def test_the_caller_reads_its_own_tenant_with_usage(
    service: TenancyService, acme: CreatedTenant, owner: Principal
) -> None:
    info = service.get_tenant(owner)
    assert info.id == acme.tenant.id
    assert info.usage.users == 1


def test_another_tenant_is_not_found_for_tenant_users(
    service: TenancyService, owner: Principal
) -> None:
    globex = new_tenant(service, "globex", email="o@globex.example")
    with pytest.raises(TenantNotFound):
        service.get_tenant(owner, globex.tenant.id)


def test_platform_admins_list_and_read_every_tenant(
    service: TenancyService, acme: CreatedTenant
) -> None:
    globex = new_tenant(service, "globex", email="o@globex.example")
    admin = system_principal()
    assert service.get_tenant(admin, globex.tenant.id).slug == "globex"
    first = service.list_tenants(admin, limit=1)
    assert [t.slug for t in first.items] == ["acme"]
    assert first.next_after == acme.tenant.id
    second = service.list_tenants(admin, after=first.next_after, limit=1)
    assert [t.slug for t in second.items] == ["globex"]
    assert second.next_after is None


def test_list_tenants_needs_platform_admin(
    service: TenancyService, owner: Principal
) -> None:
    with pytest.raises(PermissionDenied):
        service.list_tenants(owner)


def test_the_system_principal_must_name_a_tenant(service: TenancyService) -> None:
    with pytest.raises(TenantNotFound, match="name the tenant"):
        service.get_tenant(system_principal())


@pytest.mark.parametrize("limit", [0, -1, 201])
def test_page_sizes_are_bounded(service: TenancyService, limit: int) -> None:
    with pytest.raises(InvalidField, match="limit"):
        service.list_tenants(system_principal(), limit=limit)


def test_platform_admins_listing_an_unknown_tenant_get_not_found(
    service: TenancyService,
) -> None:
    with pytest.raises(TenantNotFound):
        service.list_users(system_principal(), tenant_id="nope")
    with pytest.raises(TenantNotFound):
        service.list_keys(system_principal(), tenant_id="nope")
