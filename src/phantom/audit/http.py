"""The audit context's HTTP routes: search the caller's trail and verify its chain.

* ``GET /v1/audit`` takes :class:`~phantom.audit.api.AuditSearch` as query
  parameters (unknown ones are refused) and answers an
  :class:`~phantom.audit.api.AuditPage`; pass ``next_cursor`` back as ``after_seq``
  for the next page.
* ``GET /v1/audit/verify`` answers an :class:`~phantom.audit.api.AuditVerification`,
  200 even when the chain is broken (``intact: false`` and the first problem).

Both need the ``audit:read`` permission and only ever read the caller's own
tenant's chain. The caller comes from a FastAPI dependency returning a
:class:`~phantom.tenancy.api.Principal`: the gateway's
``phantom.gateway.auth.require("audit:read")``, or by default
:func:`request_principal`, which reads ``request.state.principal`` set by the
gateway's authentication. The audit context never imports the gateway.
"""

# No ``from __future__ import annotations`` here: FastAPI resolves the route
# signatures at runtime, and ``Depends(principal_dependency)`` is a closure value.

from collections.abc import Awaitable, Callable
from typing import Annotated, Any, Final

from fastapi import APIRouter, Depends, Query
from starlette.concurrency import run_in_threadpool

from phantom.audit.api import AuditPage, AuditQueries, AuditSearch, AuditVerification
from phantom.kernel.errors import Forbidden
from phantom.tenancy.api import Permission, Principal, request_principal

__all__ = ["PrincipalDependency", "audit_router", "request_principal"]

PrincipalDependency = Callable[..., Principal] | Callable[..., Awaitable[Principal]]
"""A FastAPI dependency (plain or a coroutine) that answers the authenticated caller."""

_ERRORS: Final[dict[int | str, dict[str, Any]]] = {
    401: {"description": "Unauthorized"},
    403: {"description": "Forbidden"},
}


def _readable_tenant(principal: Principal) -> str:
    """The tenant whose trail ``principal`` may read: its own, with ``audit:read``."""
    if not principal.has(Permission.AUDIT_READ):
        msg = f"this needs the {Permission.AUDIT_READ.value!r} permission"
        raise Forbidden(msg)
    return principal.tenant_id


def audit_router(
    queries: AuditQueries, principal_dependency: PrincipalDependency
) -> APIRouter:
    """The ``/v1/audit`` routes over ``queries``.

    Args:
        queries: the audit reads (:class:`~phantom.audit.views.SqlAuditQueries`).
        principal_dependency: the FastAPI dependency answering the caller.

    Returns:
        A router to include in the gateway application.
    """
    router = APIRouter(prefix="/v1/audit", tags=["audit"])

    @router.get(
        "",
        summary="Search the caller's audit trail",
        operation_id="search_audit",
        responses=_ERRORS,
    )
    async def search_audit(
        principal: Annotated[Principal, Depends(principal_dependency)],
        search: Annotated[AuditSearch, Query()],
    ) -> AuditPage:
        """One page of the caller's tenant's audit entries matching the filters."""
        return await run_in_threadpool(
            queries.search, _readable_tenant(principal), search
        )

    @router.get(
        "/verify",
        summary="Verify the caller's audit chain",
        operation_id="verify_audit",
        responses=_ERRORS,
    )
    async def verify_audit(
        principal: Annotated[Principal, Depends(principal_dependency)],
    ) -> AuditVerification:
        """Verify the caller's tenant's whole chain against its signed checkpoints.

        Answers 200 whatever the outcome: ``intact`` says whether the chain holds,
        ``problem`` names the first break (kind and ``seq``).
        """
        return await run_in_threadpool(queries.verify, _readable_tenant(principal))

    return router
