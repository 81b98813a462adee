"""The tenancy context's HTTP routes: thin, request bodies ↔ service calls.

::

    GET    /v1/me                  the caller (any authenticated principal)
    GET    /v1/tenant              the caller's tenant, its quotas and usage
    GET    /v1/users               a page of the tenant's users
    POST   /v1/users               add a user (201)
    GET    /v1/users/{user_id}     one user
    PATCH  /v1/users/{user_id}     change role, disabled flag, display name
    DELETE /v1/users/{user_id}     delete a user, revoking their keys (204)
    GET    /v1/keys                a page of the tenant's API keys
    POST   /v1/keys                create an API key; its secret is shown once (201)
    DELETE /v1/keys/{key_id}       revoke an API key
    GET    /v1/tenants             every tenant (platform administrators)
    POST   /v1/tenants             create a tenant, its owner and their key (201)

The router never learns how callers authenticate: it receives the gateway's
``require`` dependency factory (contexts never import the gateway), and every
handler acts as the principal it returns. Request bodies refuse unknown fields;
another tenant's ids are simply not found (404), as the service decides.
"""

# No ``from __future__ import annotations``: FastAPI reads the route signatures at
# runtime, and their ``Depends(require(...))`` aliases are local values.

from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Annotated, Any, Final

from fastapi import APIRouter, Depends, Path, Query, Response
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from phantom.tenancy.api import (
    ApiKeyInfo,
    CreatedApiKey,
    CreatedTenant,
    Page,
    Permission,
    Principal,
    TenantInfo,
    UserInfo,
)
from phantom.tenancy.commands import (
    CreateApiKey,
    CreateTenant,
    CreateUser,
    DeleteUser,
    RevokeApiKey,
    UpdateUser,
)
from phantom.tenancy.service import TenancyService

__all__ = [
    "CreatedKeyBody",
    "CreatedTenantBody",
    "KeyCreate",
    "Me",
    "RequireFactory",
    "TenantCreate",
    "UserCreate",
    "UserUpdate",
    "tenancy_router",
]

RequireFactory = Callable[[str | None], Callable[..., Awaitable[Principal]]]
"""``require(permission)``: a FastAPI dependency returning the caller's principal.

``None`` asks for any authenticated caller. The dependency answers 401 when the
caller is not authenticated and 403 when it lacks ``permission``.
"""

_ERRORS: Final[dict[int | str, dict[str, Any]]] = {
    401: {"description": "Unauthorized"},
    403: {"description": "Forbidden"},
    429: {"description": "Too Many Requests"},
}
_NOT_FOUND: Final[dict[int | str, dict[str, Any]]] = {
    **_ERRORS,
    404: {"description": "Not Found"},
}
_WRITES: Final[dict[int | str, dict[str, Any]]] = {
    **_NOT_FOUND,
    409: {"description": "Conflict"},
}

Id = Annotated[str, Path(min_length=1, max_length=64)]
After = Annotated[str | None, Query(max_length=64, description="Cursor.")]
Limit = Annotated[int, Query(ge=1, le=200, description="Page size.")]
Text = Annotated[str, Field(max_length=400)]


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class UserCreate(_Body):
    """``POST /v1/users``: a new user of the caller's tenant."""

    email: Text
    display_name: Text | None = None
    role: Annotated[str, Field(max_length=40)] = "viewer"


class UserUpdate(_Body):
    """``PATCH /v1/users/{id}``: what to change (omitted fields stay as they are)."""

    role: Annotated[str, Field(max_length=40)] | None = None
    disabled: bool | None = None
    display_name: Text | None = None


class KeyCreate(_Body):
    """``POST /v1/keys``: a new API key (for the caller unless ``user_id``)."""

    name: Text
    user_id: Annotated[str, Field(min_length=1, max_length=64)] | None = None
    scopes: (
        Annotated[list[Annotated[str, Field(max_length=64)]], Field(max_length=64)]
        | None
    ) = None
    expires_at: datetime | None = None


class TenantCreate(_Body):
    """``POST /v1/tenants``: a new tenant and its owner (platform administrators)."""

    name: Text
    slug: Text
    owner_email: Text
    owner_display_name: Text | None = None
    max_users: Annotated[int, Field(ge=1, le=1_000_000)] | None = None
    max_api_keys: Annotated[int, Field(ge=1, le=1_000_000)] | None = None


class CreatedKeyBody(BaseModel):
    """A new key and its secret, ``plaintext``: shown in this answer only."""

    key: ApiKeyInfo
    plaintext: str


class CreatedTenantBody(BaseModel):
    """A new tenant, its owner, and the owner's key (secret shown once)."""

    tenant: TenantInfo
    owner: UserInfo
    owner_key: CreatedKeyBody


class Me(BaseModel):
    """Who the caller is, as the gateway authenticated them."""

    tenant_id: str
    user_id: str | None
    key_id: str | None
    role: str
    via: str
    permissions: list[str]


def _created_key(created: CreatedApiKey) -> CreatedKeyBody:
    return CreatedKeyBody(
        key=created.key, plaintext=created.plaintext.get_secret_value()
    )


def _created_tenant(created: CreatedTenant) -> CreatedTenantBody:
    return CreatedTenantBody(
        tenant=created.tenant,
        owner=created.owner,
        owner_key=_created_key(created.owner_key),
    )


def tenancy_router(service: TenancyService, require: RequireFactory) -> APIRouter:
    """The tenancy routes, acting through ``service`` as ``require``'s principal.

    Args:
        service: the tenancy service (handlers and views, bound).
        require: the gateway's dependency factory (see :data:`RequireFactory`).
    """
    router = APIRouter(prefix="/v1", tags=["tenancy"])
    _identity_routes(router, service, require)
    _user_routes(router, service, require)
    _key_routes(router, service, require)
    _tenant_routes(router, service, require)
    return router


def _identity_routes(
    router: APIRouter, service: TenancyService, require: RequireFactory
) -> None:
    @router.get("/me", operation_id="get_me", responses=_ERRORS)
    async def get_me(caller: Annotated[Principal, Depends(require(None))]) -> Me:
        """The authenticated caller."""
        return Me(
            tenant_id=caller.tenant_id,
            user_id=caller.user_id,
            key_id=caller.key_id,
            role=caller.role,
            via=caller.via,
            permissions=sorted(caller.permissions),
        )

    @router.get("/tenant", operation_id="get_tenant", responses=_NOT_FOUND)
    async def get_tenant(
        caller: Annotated[Principal, Depends(require(Permission.TENANT_READ))],
    ) -> TenantInfo:
        """The caller's tenant with its quotas and usage."""
        return await run_in_threadpool(service.get_tenant, caller)


def _user_routes(
    router: APIRouter, service: TenancyService, require: RequireFactory
) -> None:
    reader = Annotated[Principal, Depends(require(Permission.USERS_READ))]
    writer = Annotated[Principal, Depends(require(Permission.USERS_WRITE))]

    @router.get("/users", operation_id="list_users", responses=_ERRORS)
    async def list_users(
        caller: reader, after: After = None, limit: Limit = 50
    ) -> Page[UserInfo]:
        """A page of the tenant's users, by id."""
        return await run_in_threadpool(
            service.list_users, caller, after=after, limit=limit
        )

    @router.post(
        "/users", status_code=201, operation_id="create_user", responses=_WRITES
    )
    async def create_user(caller: writer, body: UserCreate) -> UserInfo:
        """Add a user to the caller's tenant."""
        return await run_in_threadpool(
            service.create_user, CreateUser(**body.model_dump()), caller
        )

    @router.get("/users/{user_id}", operation_id="get_user", responses=_NOT_FOUND)
    async def get_user(caller: reader, user_id: Id) -> UserInfo:
        """One user of the caller's tenant."""
        return await run_in_threadpool(service.get_user, caller, user_id)

    @router.patch("/users/{user_id}", operation_id="update_user", responses=_WRITES)
    async def update_user(caller: writer, user_id: Id, body: UserUpdate) -> UserInfo:
        """Change a user's role, disabled flag or display name."""
        command = UpdateUser(user_id=user_id, **body.model_dump())
        return await run_in_threadpool(service.update_user, command, caller)

    @router.delete(
        "/users/{user_id}",
        status_code=204,
        operation_id="delete_user",
        responses=_WRITES,
    )
    async def delete_user(caller: writer, user_id: Id) -> Response:
        """Delete a user; their keys are revoked."""
        await run_in_threadpool(
            service.delete_user, DeleteUser(user_id=user_id), caller
        )
        return Response(status_code=204)


def _key_routes(
    router: APIRouter, service: TenancyService, require: RequireFactory
) -> None:
    reader = Annotated[Principal, Depends(require(Permission.KEYS_READ))]
    writer = Annotated[Principal, Depends(require(Permission.KEYS_WRITE))]

    @router.get("/keys", operation_id="list_keys", responses=_ERRORS)
    async def list_keys(
        caller: reader,
        user_id: Annotated[str | None, Query(max_length=64)] = None,
        after: After = None,
        limit: Limit = 50,
    ) -> Page[ApiKeyInfo]:
        """A page of the tenant's API keys (never a secret)."""
        return await run_in_threadpool(
            service.list_keys, caller, user_id=user_id, after=after, limit=limit
        )

    @router.post("/keys", status_code=201, operation_id="create_key", responses=_WRITES)
    async def create_key(caller: writer, body: KeyCreate) -> CreatedKeyBody:
        """Create an API key; ``plaintext`` is in this answer and nowhere else."""
        created = await run_in_threadpool(
            service.create_key, CreateApiKey(**body.model_dump()), caller
        )
        return _created_key(created)

    @router.delete("/keys/{key_id}", operation_id="revoke_key", responses=_NOT_FOUND)
    async def revoke_key(caller: writer, key_id: Id) -> ApiKeyInfo:
        """Revoke an API key (revoking a revoked key changes nothing)."""
        return await run_in_threadpool(
            service.revoke_key, RevokeApiKey(key_id=key_id), caller
        )


def _tenant_routes(
    router: APIRouter, service: TenancyService, require: RequireFactory
) -> None:
    admin = Annotated[Principal, Depends(require(Permission.PLATFORM_ADMIN))]

    @router.get("/tenants", operation_id="list_tenants", responses=_ERRORS)
    async def list_tenants(
        caller: admin, after: After = None, limit: Limit = 50
    ) -> Page[TenantInfo]:
        """A page of every tenant (platform administrators)."""
        return await run_in_threadpool(
            service.list_tenants, caller, after=after, limit=limit
        )

    @router.post(
        "/tenants", status_code=201, operation_id="create_tenant", responses=_WRITES
    )
    async def create_tenant(caller: admin, body: TenantCreate) -> CreatedTenantBody:
        """Create a tenant, its owner and the owner's first key (shown once)."""
        created = await run_in_threadpool(
            service.create_tenant, CreateTenant(**body.model_dump()), caller
        )
        return _created_tenant(created)
