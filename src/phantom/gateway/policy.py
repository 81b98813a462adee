"""THE policy table: who may call each route of the gateway.

Every route, named by its method and path template, maps to one :class:`Rule`:

* ``public``: anyone, no credentials looked at (probes, metrics, the API docs);
* ``authenticated``: any caller with a valid API key or token;
* a permission: an authenticated caller holding it (``users:write``...).

A rule may also mark a POST that creates something as ``idempotent``: it honours
the ``Idempotency-Key`` header. The gateway enforces the table before a route runs
(:mod:`phantom.gateway.access`), and :func:`check_complete` refuses to build an
app that mounts a route the table does not name, so a new route cannot ship
without a decision. Routes of contexts not deployed may keep their entries.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import Final, Literal

from fastapi.routing import RouteContext, iter_route_contexts
from starlette.routing import BaseRoute, Mount, WebSocketRoute

from phantom.kernel.errors import ConfigError
from phantom.tenancy.api import Permission

__all__ = [
    "AUTHENTICATED",
    "POLICY",
    "PUBLIC",
    "Access",
    "RouteKey",
    "Rule",
    "check_complete",
    "mounted_routes",
    "needs",
    "route_keys",
    "rule_for",
    "uploads",
]

Access = Literal["public", "authenticated", "permission"]
RouteKey = tuple[str, str]
"""``(METHOD, path template)``, e.g. ``("GET", "/v1/users/{user_id}")``."""


@dataclass(frozen=True, slots=True)
class Rule:
    """What a route demands of its caller.

    Attributes:
        access: ``public``, ``authenticated`` or ``permission``.
        permission: the permission needed when ``access`` is ``permission``.
        idempotent: the route honours ``Idempotency-Key`` (POSTs that create).
        upload: the route takes a file as its body: the body limit is
            ``max_upload_bytes`` instead of ``max_body_bytes``.
    """

    access: Access
    permission: str | None = None
    idempotent: bool = False
    upload: bool = False

    def __post_init__(self) -> None:
        if (self.access == "permission") != (self.permission is not None):
            msg = "a rule names a permission exactly when its access is 'permission'"
            raise ValueError(msg)


PUBLIC: Final = Rule("public")
AUTHENTICATED: Final = Rule("authenticated")


def needs(permission: str, *, idempotent: bool = False) -> Rule:
    """A rule asking for ``permission``."""
    return Rule("permission", str(permission), idempotent=idempotent)


def uploads(permission: str) -> Rule:
    """A rule asking for ``permission`` on a route taking a file as its body."""
    return Rule("permission", str(permission), upload=True)


_P = Permission
POLICY: Final[Mapping[RouteKey, Rule]] = MappingProxyType(
    {
        # The gateway's own routes.
        ("GET", "/healthz"): PUBLIC,
        ("GET", "/readyz"): PUBLIC,
        ("GET", "/metrics"): PUBLIC,
        ("GET", "/openapi.json"): PUBLIC,
        ("GET", "/docs"): PUBLIC,
        ("GET", "/docs/oauth2-redirect"): PUBLIC,
        # tenancy
        ("GET", "/v1/me"): AUTHENTICATED,
        ("GET", "/v1/tenant"): needs(_P.TENANT_READ),
        ("GET", "/v1/users"): needs(_P.USERS_READ),
        ("POST", "/v1/users"): needs(_P.USERS_WRITE, idempotent=True),
        ("GET", "/v1/users/{user_id}"): needs(_P.USERS_READ),
        ("PATCH", "/v1/users/{user_id}"): needs(_P.USERS_WRITE),
        ("DELETE", "/v1/users/{user_id}"): needs(_P.USERS_WRITE),
        ("GET", "/v1/keys"): needs(_P.KEYS_READ),
        ("POST", "/v1/keys"): needs(_P.KEYS_WRITE, idempotent=True),
        ("DELETE", "/v1/keys/{key_id}"): needs(_P.KEYS_WRITE),
        ("GET", "/v1/tenants"): needs(_P.PLATFORM_ADMIN),
        ("POST", "/v1/tenants"): needs(_P.PLATFORM_ADMIN, idempotent=True),
        # monitoring
        ("GET", "/v1/models/{name}/drift"): needs(_P.MONITORING_READ),
        ("POST", "/v1/models/{name}/drift"): needs(_P.MONITORING_WRITE),
        ("GET", "/v1/models/{name}/drift/history"): needs(_P.MONITORING_READ),
        ("GET", "/v1/models/{name}/drift/policy"): needs(_P.MONITORING_READ),
        ("PUT", "/v1/models/{name}/drift/policy"): needs(_P.MONITORING_WRITE),
        ("POST", "/v1/models/{name}/feedback"): needs(_P.MONITORING_WRITE),
        ("GET", "/v1/models/{name}/performance"): needs(_P.MONITORING_READ),
        ("GET", "/v1/monitoring/serving"): needs(_P.MONITORING_READ),
        ("GET", "/v1/alerts"): needs(_P.MONITORING_READ),
        ("POST", "/v1/alerts/rules"): needs(_P.MONITORING_WRITE, idempotent=True),
        ("DELETE", "/v1/alerts/rules/{rule_id}"): needs(_P.MONITORING_WRITE),
        ("POST", "/v1/alerts/evaluate"): needs(_P.MONITORING_WRITE),
        ("GET", "/v1/alerts/webhook-secret"): needs(_P.MONITORING_WRITE),
        # privacy
        ("GET", "/v1/privacy/status"): needs(_P.PRIVACY_READ),
        ("GET", "/v1/privacy/policy"): needs(_P.PRIVACY_READ),
        ("PUT", "/v1/privacy/policy"): needs(_P.PRIVACY_WRITE),
        ("POST", "/v1/privacy/analyze"): needs(_P.PRIVACY_READ),
        ("POST", "/v1/privacy/anonymize"): needs(_P.PRIVACY_READ),
        ("POST", "/v1/privacy/reveal"): needs(_P.PRIVACY_REVEAL),
        # audit
        ("GET", "/v1/audit"): needs(_P.AUDIT_READ),
        ("GET", "/v1/audit/verify"): needs(_P.AUDIT_READ),
        # training
        ("GET", "/v1/datasets"): needs(_P.DATASETS_READ),
        ("POST", "/v1/datasets"): needs(_P.DATASETS_WRITE, idempotent=True),
        ("GET", "/v1/datasets/{name}"): needs(_P.DATASETS_READ),
        ("GET", "/v1/datasets/{name}/versions"): needs(_P.DATASETS_READ),
        ("POST", "/v1/datasets/{name}/versions"): uploads(_P.DATASETS_WRITE),
        ("GET", "/v1/datasets/{name}/versions/{version}"): needs(_P.DATASETS_READ),
        ("GET", "/v1/datasets/{name}/versions/{version}/content"): needs(
            _P.DATASETS_READ
        ),
        ("GET", "/v1/experiments"): needs(_P.RUNS_READ),
        ("POST", "/v1/experiments"): needs(_P.RUNS_WRITE, idempotent=True),
        ("GET", "/v1/experiments/{experiment}"): needs(_P.RUNS_READ),
        ("GET", "/v1/runs"): needs(_P.RUNS_READ),
        ("POST", "/v1/runs"): needs(_P.RUNS_WRITE, idempotent=True),
        ("GET", "/v1/runs/compare"): needs(_P.RUNS_READ),
        ("GET", "/v1/runs/{run_id}"): needs(_P.RUNS_READ),
        ("PATCH", "/v1/runs/{run_id}"): needs(_P.RUNS_WRITE),
        ("POST", "/v1/runs/{run_id}/metrics"): needs(_P.RUNS_WRITE),
        ("GET", "/v1/runs/{run_id}/metrics"): needs(_P.RUNS_READ),
        ("GET", "/v1/runs/{run_id}/metrics/{key:path}"): needs(_P.RUNS_READ),
        ("GET", "/v1/runs/{run_id}/artifacts"): needs(_P.RUNS_READ),
        ("PUT", "/v1/runs/{run_id}/artifacts/{name:path}"): uploads(_P.RUNS_WRITE),
        ("GET", "/v1/runs/{run_id}/artifacts/{name:path}"): needs(_P.RUNS_READ),
        ("POST", "/v1/jobs"): needs(_P.JOBS_WRITE, idempotent=True),
        ("GET", "/v1/jobs"): needs(_P.JOBS_READ),
        ("GET", "/v1/jobs/{job_id}"): needs(_P.JOBS_READ),
        ("POST", "/v1/jobs/{job_id}/cancel"): needs(_P.JOBS_WRITE),
        ("GET", "/v1/jobs/{job_id}/logs"): needs(_P.JOBS_READ),
        # batch inference jobs also need ``predict`` (the job service checks it)
        ("POST", "/v1/batch-jobs"): needs(_P.JOBS_WRITE, idempotent=True),
        ("GET", "/v1/batch-jobs"): needs(_P.JOBS_READ),
        ("GET", "/v1/batch-jobs/{job_id}"): needs(_P.JOBS_READ),
        ("GET", "/v1/batch-jobs/{job_id}/output"): needs(_P.JOBS_READ),
        # registry
        ("GET", "/v1/models"): needs(_P.MODELS_READ),
        ("GET", "/v1/models/{name}"): needs(_P.MODELS_READ),
        ("GET", "/v1/models/{name}/versions"): needs(_P.MODELS_READ),
        ("POST", "/v1/models/{name}/versions"): uploads(_P.MODELS_WRITE),
        ("POST", "/v1/models/{name}/versions/from-artifact"): needs(
            _P.MODELS_WRITE, idempotent=True
        ),
        ("GET", "/v1/models/{name}/versions/{version}"): needs(_P.MODELS_READ),
        ("GET", "/v1/models/{name}/versions/{version}/content"): needs(_P.MODELS_READ),
        ("POST", "/v1/models/{name}/versions/{version}/archive"): needs(
            _P.MODELS_WRITE
        ),
        ("GET", "/v1/models/{name}/aliases"): needs(_P.MODELS_READ),
        ("GET", "/v1/models/{name}/aliases/{alias}"): needs(_P.MODELS_READ),
        ("PUT", "/v1/models/{name}/aliases/{alias}"): needs(_P.MODELS_WRITE),
        ("DELETE", "/v1/models/{name}/aliases/{alias}"): needs(_P.MODELS_WRITE),
        ("GET", "/v1/models/{name}/aliases/{alias}/history"): needs(_P.MODELS_READ),
        # serving
        ("POST", "/v1/models/{name}/predict"): needs(_P.PREDICT),
        ("POST", "/v1/deployments"): needs(_P.DEPLOYMENTS_WRITE, idempotent=True),
        ("POST", "/v1/deployments/rollback"): needs(_P.DEPLOYMENTS_WRITE),
        ("GET", "/v1/deployments"): needs(_P.DEPLOYMENTS_READ),
        ("GET", "/v1/deployments/{deployment_id}"): needs(_P.DEPLOYMENTS_READ),
        # serving: Open Inference Protocol v2 (health and server metadata public)
        ("GET", "/v2"): PUBLIC,
        ("GET", "/v2/health/live"): PUBLIC,
        ("GET", "/v2/health/ready"): PUBLIC,
        ("GET", "/v2/models/{name}"): needs(_P.PREDICT),
        ("GET", "/v2/models/{name}/ready"): needs(_P.PREDICT),
        ("POST", "/v2/models/{name}/infer"): needs(_P.PREDICT),
        ("GET", "/v2/models/{name}/versions/{version}"): needs(_P.PREDICT),
        ("GET", "/v2/models/{name}/versions/{version}/ready"): needs(_P.PREDICT),
        ("POST", "/v2/models/{name}/versions/{version}/infer"): needs(_P.PREDICT),
    }
)
"""THE table. Keep it sorted by context; every mounted route must appear."""


def mounted_routes(routes: Sequence[BaseRoute]) -> list[RouteContext]:
    """Every route the app serves, routers included flattened, in matching order."""
    return list(iter_route_contexts(routes))


def route_keys(route: RouteContext) -> list[RouteKey]:
    """The table keys a mounted ``route`` needs (``HEAD`` rides on ``GET``).

    WebSocket routes are keyed ``("WEBSOCKET", path)`` and mounted sub-apps
    ``("MOUNT", path)``, so neither slips past the check.
    """
    path = str(route.path or "")
    if isinstance(route.original_route, WebSocketRoute):
        return [("WEBSOCKET", path)]
    if isinstance(route.original_route, Mount):
        return [("MOUNT", path)]
    methods = set(route.methods or ())
    if "GET" in methods:
        methods.discard("HEAD")
    return [(method, path) for method in sorted(methods)] or [("ROUTE", path)]


def rule_for(
    table: Mapping[RouteKey, Rule], method: str, path_template: str
) -> Rule | None:
    """The rule of ``method`` on ``path_template`` (``HEAD`` falls back to ``GET``)."""
    rule = table.get((method, path_template))
    if rule is None and method == "HEAD":
        rule = table.get(("GET", path_template))
    return rule


def check_complete(
    routes: Iterable[RouteContext], table: Mapping[RouteKey, Rule]
) -> None:
    """Refuse mounted routes (see :func:`mounted_routes`) the table does not name.

    Raises:
        ConfigError: listing every ``METHOD path`` without an entry.
    """
    missing = sorted(
        {key for route in routes for key in route_keys(route) if key not in table}
    )
    if missing:
        names = ", ".join(f"{method} {path}" for method, path in missing)
        msg = (
            f"{len(missing)} route(s) have no entry in the gateway's policy table "
            f"(phantom.gateway.policy.POLICY): {names}"
        )
        raise ConfigError(msg)
