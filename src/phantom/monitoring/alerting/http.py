"""The alert routes (tenant-scoped, all in OpenAPI).

::

    GET    /v1/alerts                     rules, each with its state per model
    POST   /v1/alerts/rules               create a rule
    DELETE /v1/alerts/rules/{rule_id}     delete one
    POST   /v1/alerts/evaluate            evaluate now; the transitions made
    GET    /v1/alerts/webhook-secret      the key webhooks are signed with
"""

# No ``from __future__ import annotations``: FastAPI reads the route signatures at
# runtime.

from dataclasses import asdict
from typing import Annotated, Any, Final, Literal

from fastapi import APIRouter, Depends, Path, Response
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from phantom.kernel.events.sql import from_us
from phantom.monitoring.alerting.service import AlertService, AlertView
from phantom.tenancy.api import Principal, request_principal

__all__ = ["AlertRuleRequest", "alerts_router"]

_ERRORS: Final[dict[int | str, dict[str, Any]]] = {
    401: {"description": "Unauthorized"},
    403: {"description": "Forbidden"},
    404: {"description": "Not found"},
    422: {"description": "Invalid rule or refused webhook target"},
}
Caller = Annotated[Principal, Depends(request_principal)]


class AlertRuleRequest(BaseModel):
    """A rule: ``metric op threshold`` held for ``for_s`` seconds fires it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(min_length=1, max_length=100)
    metric: str = Field(max_length=40)
    op: Literal[">", ">=", "<", "<="]
    threshold: float
    model: str | None = Field(None, min_length=1, max_length=100)
    feature: str | None = Field(None, min_length=1, max_length=250)
    for_s: float = Field(0.0, ge=0)
    severity: Literal["info", "warning", "critical"] = "warning"
    webhook_url: str | None = Field(None, max_length=2000)


def _view(view: AlertView) -> dict[str, Any]:
    return {
        **asdict(view.rule),
        "states": [
            {
                "model": row.state.model,
                "state": row.state.phase,
                "since": from_us(row.state.since_us),
                "value": row.state.value,
                "last_delivery": row.last_delivery,
                "updated_at": from_us(row.updated_at_us),
            }
            for row in view.states
        ],
    }


def alerts_router(alerts: AlertService) -> APIRouter:
    """The alert routes over ``alerts``."""
    router = APIRouter(prefix="/v1/alerts", tags=["alerts"])

    @router.get("", operation_id="list_alerts", responses=_ERRORS)
    async def list_alerts(caller: Caller) -> list[dict[str, Any]]:
        """Every rule with its state per model and its last webhook delivery."""
        views = await run_in_threadpool(alerts.rules, caller)
        return [_view(view) for view in views]

    @router.post(
        "/rules", operation_id="create_alert_rule", responses=_ERRORS, status_code=201
    )
    async def create_rule(caller: Caller, body: AlertRuleRequest) -> dict[str, Any]:
        """Create a rule; a webhook must be a public http(s) URL (or allowed)."""
        rule = await run_in_threadpool(alerts.add_rule, caller, body.model_dump())
        return asdict(rule)

    @router.delete(
        "/rules/{rule_id}",
        operation_id="delete_alert_rule",
        responses=_ERRORS,
        status_code=204,
        response_class=Response,
    )
    async def delete_rule(
        caller: Caller, rule_id: Annotated[str, Path(min_length=1, max_length=64)]
    ) -> Response:
        """Delete a rule and its states."""
        await run_in_threadpool(alerts.delete_rule, caller, rule_id)
        return Response(status_code=204)

    @router.post("/evaluate", operation_id="evaluate_alerts", responses=_ERRORS)
    async def evaluate(caller: Caller) -> list[dict[str, Any]]:
        """Evaluate the tenant's rules now; the alerts that fired or resolved."""
        return await run_in_threadpool(alerts.evaluate, caller)

    @router.get(
        "/webhook-secret", operation_id="alert_webhook_secret", responses=_ERRORS
    )
    async def webhook_secret(caller: Caller) -> dict[str, str]:
        """The HMAC key of the tenant's webhooks (``X-Phantom-Signature``)."""
        return {"secret": await run_in_threadpool(alerts.webhook_secret, caller)}

    return router
