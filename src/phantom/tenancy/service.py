"""The in-process adapter of the tenancy API: every handler and query, bound.

The composition root builds one :class:`TenancyService` and hands it to the
gateway (as the :class:`~phantom.tenancy.api.PrincipalResolver` and
:class:`~phantom.tenancy.api.TenancyQueries`) and to the CLI.
"""

from __future__ import annotations

from dataclasses import dataclass

from phantom.kernel.clock import Clock
from phantom.tenancy import handlers, views
from phantom.tenancy.api import (
    ApiKeyInfo,
    CreatedApiKey,
    CreatedTenant,
    Page,
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
    UpdateTenant,
    UpdateUser,
)
from phantom.tenancy.domain.keys import KeyHasher
from phantom.tenancy.domain.tokens import TokenVerifier
from phantom.tenancy.ports import TenancyUnitOfWork

__all__ = ["TenancyService"]


@dataclass(frozen=True, slots=True)
class TenancyService:
    """The tenancy context's operations with their dependencies bound.

    Attributes:
        uow: the tenancy unit of work.
        clock: the time source.
        hasher: the API key hasher (holds the pepper).
        verifier: the JWT verifier (holds the keyring and the policy).
    """

    uow: TenancyUnitOfWork
    clock: Clock
    hasher: KeyHasher
    verifier: TokenVerifier

    def authenticate_key(self, plaintext: str) -> Principal:
        """See :func:`phantom.tenancy.handlers.authenticate_key`."""
        return handlers.authenticate_key(
            plaintext, uow=self.uow, clock=self.clock, hasher=self.hasher
        )

    def authenticate_token(self, token: str) -> Principal:
        """See :func:`phantom.tenancy.handlers.authenticate_token`."""
        return handlers.authenticate_token(
            token, uow=self.uow, clock=self.clock, verifier=self.verifier
        )

    def create_tenant(self, cmd: CreateTenant, actor: Principal) -> CreatedTenant:
        """See :func:`phantom.tenancy.handlers.create_tenant`."""
        return handlers.create_tenant(
            cmd, actor, uow=self.uow, clock=self.clock, hasher=self.hasher
        )

    def update_tenant(self, cmd: UpdateTenant, actor: Principal) -> TenantInfo:
        """See :func:`phantom.tenancy.handlers.update_tenant`."""
        return handlers.update_tenant(cmd, actor, uow=self.uow, clock=self.clock)

    def create_user(self, cmd: CreateUser, actor: Principal) -> UserInfo:
        """See :func:`phantom.tenancy.handlers.create_user`."""
        return handlers.create_user(cmd, actor, uow=self.uow, clock=self.clock)

    def update_user(self, cmd: UpdateUser, actor: Principal) -> UserInfo:
        """See :func:`phantom.tenancy.handlers.update_user`."""
        return handlers.update_user(cmd, actor, uow=self.uow, clock=self.clock)

    def delete_user(self, cmd: DeleteUser, actor: Principal) -> None:
        """See :func:`phantom.tenancy.handlers.delete_user`."""
        handlers.delete_user(cmd, actor, uow=self.uow, clock=self.clock)

    def create_key(self, cmd: CreateApiKey, actor: Principal) -> CreatedApiKey:
        """See :func:`phantom.tenancy.handlers.create_key`."""
        return handlers.create_key(
            cmd, actor, uow=self.uow, clock=self.clock, hasher=self.hasher
        )

    def revoke_key(self, cmd: RevokeApiKey, actor: Principal) -> ApiKeyInfo:
        """See :func:`phantom.tenancy.handlers.revoke_key`."""
        return handlers.revoke_key(cmd, actor, uow=self.uow, clock=self.clock)

    def get_tenant(
        self, principal: Principal, tenant_id: str | None = None
    ) -> TenantInfo:
        """See :func:`phantom.tenancy.views.get_tenant`."""
        return views.get_tenant(principal, tenant_id, uow=self.uow, clock=self.clock)

    def list_tenants(
        self, actor: Principal, *, after: str | None = None, limit: int = 50
    ) -> Page[TenantInfo]:
        """See :func:`phantom.tenancy.views.list_tenants`."""
        return views.list_tenants(
            actor, uow=self.uow, clock=self.clock, after=after, limit=limit
        )

    def get_user(
        self, actor: Principal, user_id: str, *, tenant_id: str | None = None
    ) -> UserInfo:
        """See :func:`phantom.tenancy.views.get_user`."""
        return views.get_user(actor, user_id, uow=self.uow, tenant_id=tenant_id)

    def list_users(
        self,
        actor: Principal,
        *,
        after: str | None = None,
        limit: int = 50,
        tenant_id: str | None = None,
    ) -> Page[UserInfo]:
        """See :func:`phantom.tenancy.views.list_users`."""
        return views.list_users(
            actor, uow=self.uow, after=after, limit=limit, tenant_id=tenant_id
        )

    def list_keys(
        self,
        actor: Principal,
        *,
        user_id: str | None = None,
        after: str | None = None,
        limit: int = 50,
        tenant_id: str | None = None,
    ) -> Page[ApiKeyInfo]:
        """See :func:`phantom.tenancy.views.list_keys`."""
        return views.list_keys(
            actor,
            uow=self.uow,
            user_id=user_id,
            after=after,
            limit=limit,
            tenant_id=tenant_id,
        )
