"""The deploy saga: validate, convert, warm, switch, audit, or undo what was done.

``deploy`` records a ``DeploymentStarted`` with what it found in place (the
alias's version, the canary and shadow settings), then runs the steps in
order, recording each as started and then done:

validate
    the version exists in the caller's tenant, is not archived, and has a usable
    signature (or one the model itself gives).
convert
    a scikit-learn version with numeric features gets a faithful ONNX copy,
    stored as an artifact (``ModelConverted``); serving uses it from then on.
warm
    the version is loaded into this process's model cache and answers a sample.
switch
    the alias moves (``deploy``, ``rollback``), or the canary share or shadow is
    set (``canary``, ``shadow``). "started" is recorded *before* the change.
audit
    one entry in the tenant's audit chain.

A step that fails is recorded as failed and the steps done before it are
compensated in reverse: the alias and traffic go back to what the saga found,
a warmed version is unloaded. The saga then ends ``compensated``: nothing
served has changed. If undoing fails too it ends ``failed`` and says why.

A crash leaves the saga ``running``. :meth:`DeploySaga.resume_incomplete` (run
when the server starts) finishes a saga whose switch took effect (the alias or
traffic is what the saga set) and compensates any other.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final, Literal

import structlog
from pydantic import JsonValue

from phantom.audit.api import AuditActor, AuditDecision, AuditRecorder, AuditResource
from phantom.kernel.artifacts import ArtifactStore
from phantom.kernel.clock import Clock
from phantom.kernel.context import SYSTEM, Actor
from phantom.kernel.errors import (
    Conflict,
    InvalidField,
    InvalidInput,
    NotFound,
)
from phantom.kernel.events.envelope import Envelope, new_envelope
from phantom.kernel.failpoints import failpoint
from phantom.kernel.ids import uuid7
from phantom.registry.api import ModelVersionInfo
from phantom.serving.adapters.sql import SqlServingStore
from phantom.serving.api import DeploymentInfo
from phantom.serving.domain.signature import check_signature
from phantom.serving.events import (
    DeploymentEnded,
    DeploymentStarted,
    DeploymentStepRecorded,
    ModelConverted,
    ServingEvent,
    TrafficSet,
)
from phantom.serving.ports import ModelSource
from phantom.serving.service import DEFAULT_ALIAS, ServingService
from phantom.tenancy.api import Page, Permission, Principal, require_permission

__all__ = ["STEPS", "DeploySaga"]

STEPS: Final = ("validate", "convert", "warm", "switch", "audit")
Kind = Literal["deploy", "canary", "shadow", "rollback"]
StepState = Literal["started", "done", "failed", "compensated"]
_NO_TRAFFIC: Final[dict[str, int | None]] = {
    "canary_version": None,
    "canary_percent": None,
    "shadow_version": None,
}
_MAX_ERROR: Final = 500
log = structlog.get_logger(__name__)


def _message(exc: BaseException) -> str:
    text = getattr(exc, "detail", None) or str(exc) or type(exc).__name__
    return str(text)[:_MAX_ERROR]


@dataclass(frozen=True, slots=True)
class _Plan:
    """One saga's facts, as recorded in its ``DeploymentStarted``."""

    tenant_id: str
    actor: Actor
    deployment_id: str
    model: str
    version: int
    alias: str
    kind: Kind
    canary_percent: int | None
    previous_version: int | None
    previous_traffic: dict[str, int | None]

    def intended_traffic(self) -> dict[str, int | None]:
        """The alias's canary/shadow settings once the switch is done."""
        if self.kind == "canary":
            return {
                "canary_version": self.version,
                "canary_percent": self.canary_percent,
                "shadow_version": self.previous_traffic.get("shadow_version"),
            }
        if self.kind == "shadow":
            return {**self.previous_traffic, "shadow_version": self.version}
        return dict(_NO_TRAFFIC)

    def intended_version(self) -> int | None:
        """The alias's version once the switch is done."""
        moves = self.kind in {"deploy", "rollback"}
        return self.version if moves else self.previous_version


class DeploySaga:
    """Deployments: start, roll back, list, and recover (see the module docstring)."""

    def __init__(  # noqa: PLR0913 - the saga's collaborators
        self,
        *,
        store: SqlServingStore,
        models: ModelSource,
        serving: ServingService,
        artifacts: ArtifactStore,
        audit: AuditRecorder,
        clock: Clock,
        storage_quota_bytes: int | None = None,
    ) -> None:
        self.store = store
        self.models = models
        self.serving = serving
        self.artifacts = artifacts
        self.audit = audit
        self.clock = clock
        self.storage_quota_bytes = storage_quota_bytes

    # -- reading ---------------------------------------------------------------

    def get(self, principal: Principal, deployment_id: str) -> DeploymentInfo:
        """One deployment of the caller's tenant.

        Raises:
            NotFound: no such deployment in the tenant.
        """
        require_permission(principal, Permission.DEPLOYMENTS_READ)
        with self.store.read(principal.tenant_id) as tx:
            found = tx.deployment(deployment_id)
        if found is None:
            msg = f"no deployment {deployment_id[:100]!r} in this tenant"
            raise NotFound(msg)
        return found

    def page(
        self,
        principal: Principal,
        *,
        model: str | None = None,
        after: str | None = None,
        limit: int = 50,
    ) -> Page[DeploymentInfo]:
        """A page of the tenant's deployments, newest first."""
        require_permission(principal, Permission.DEPLOYMENTS_READ)
        with self.store.read(principal.tenant_id) as tx:
            items = tx.deployments(model=model, after=after, limit=limit + 1)
        more = len(items) > limit
        items = items[:limit]
        return Page(items=items, next_after=items[-1].deployment_id if more else None)

    # -- starting --------------------------------------------------------------

    def deploy(  # noqa: PLR0913 - a deployment's options
        self,
        principal: Principal,
        model: str,
        version: int,
        *,
        alias: str = DEFAULT_ALIAS,
        canary_percent: int | None = None,
        shadow: bool = False,
    ) -> DeploymentInfo:
        """Run the saga for ``model`` ``version`` on ``alias`` (see the module doc).

        Raises:
            Forbidden: the caller lacks ``deployments:write``.
            NotFound: no such model or version in the caller's tenant.
            InvalidInput: the options contradict each other, or a canary or
                shadow has no primary version to run beside.
            Conflict: another deployment of the alias is running.
        """
        require_permission(principal, Permission.DEPLOYMENTS_WRITE)
        if canary_percent is not None and shadow:
            raise InvalidInput("a deployment is a canary or a shadow, not both")
        if canary_percent is not None and not 1 <= canary_percent <= 99:
            raise InvalidField("canary_percent", "must be between 1 and 99")
        kind: Kind = (
            "canary" if canary_percent is not None else "shadow" if shadow else "deploy"
        )
        tenant_id = principal.tenant_id
        self.models.resolve(tenant_id, model, version=version)  # 404 first
        previous = self.models.alias_version(tenant_id, model, alias)
        if kind != "deploy" and previous is None:
            msg = (
                f"a {kind} runs beside the version {alias!r} serves, and {alias!r} "
                "is not set; deploy a version first"
            )
            raise InvalidInput(msg)
        if kind != "deploy" and previous == version:
            msg = f"version {version} already serves {alias!r}"
            raise InvalidInput(msg)
        return self._start(
            principal,
            model=model,
            version=version,
            alias=alias,
            kind=kind,
            canary_percent=canary_percent,
        )

    def rollback(
        self, principal: Principal, model: str, *, alias: str = DEFAULT_ALIAS
    ) -> DeploymentInfo:
        """Undo the alias's last change (a canary, a shadow, or a deploy).

        A running canary or shadow is ended (the alias stays); otherwise the
        alias points back at the version it served before.

        Raises:
            NotFound: no such model, or the alias is not set.
            Conflict: the alias never pointed at another version, or another
                deployment of it is running.
        """
        require_permission(principal, Permission.DEPLOYMENTS_WRITE)
        tenant_id = principal.tenant_id
        current = self.models.alias_version(tenant_id, model, alias)
        if current is None:
            msg = f"model {model[:100]!r} has no {alias!r} alias to roll back"
            raise NotFound(msg)
        with self.store.read(tenant_id) as tx:
            beside = any(v is not None for v in tx.traffic(model, alias).values())
        if beside:  # a canary or shadow runs: rolling back ends it, the alias stays
            target: int | None = current
        else:
            spans = self.models.alias_spans(tenant_id, model, alias)
            target = next(
                (s.version for s in reversed(spans) if s.version != current), None
            )
        if target is None:
            msg = (
                f"{alias!r} has only ever served version {current}: "
                "nothing to roll back to"
            )
            raise Conflict(msg)
        return self._start(
            principal,
            model=model,
            version=target,
            alias=alias,
            kind="rollback",
            canary_percent=None,
        )

    def _start(  # noqa: PLR0913 - a deployment's facts
        self,
        principal: Principal,
        *,
        model: str,
        version: int,
        alias: str,
        kind: Kind,
        canary_percent: int | None,
    ) -> DeploymentInfo:
        tenant_id = principal.tenant_id
        info = self.models.resolve(tenant_id, model, version=version)
        previous = self.models.alias_version(tenant_id, model, alias)
        with self.store.read(tenant_id) as tx:
            running = tx.running(model, alias)
            traffic = tx.traffic(model, alias)
        if running is not None:
            msg = (
                f"deployment {running.deployment_id} of {model}@{alias} is still "
                "running; wait for it to end"
            )
            raise Conflict(msg)
        plan = _Plan(
            tenant_id=tenant_id,
            actor=principal.actor(),
            deployment_id=str(uuid7()),
            model=model,
            version=version,
            alias=alias,
            kind=kind,
            canary_percent=canary_percent,
            previous_version=previous,
            previous_traffic=traffic,
        )
        self._append(
            plan,
            DeploymentStarted(
                deployment_id=plan.deployment_id,
                model=model,
                version=version,
                alias=alias,
                kind=kind,
                canary_percent=canary_percent,
                previous_version=previous,
                previous_traffic=traffic,
            ),
        )
        log.info(
            "serving.deploy.started",
            tenant_id=tenant_id,
            deployment_id=plan.deployment_id,
            model=model,
            version=version,
            alias=alias,
            kind=kind,
        )
        return self._run(plan, info)

    # -- running ---------------------------------------------------------------

    def _append(self, plan: _Plan, *events: ServingEvent) -> None:
        envelopes: Sequence[Envelope] = [
            new_envelope(
                event.event_type(),
                tenant_id=plan.tenant_id,
                stream_id=f"deployment-{plan.deployment_id}",
                data=event.to_data(),
                actor=plan.actor,
                schema_version=event.SCHEMA_VERSION,
                occurred_at=self.clock.now(),
            )
            for event in events
        ]
        with self.store.write(plan.tenant_id) as tx:
            tx.append(envelopes)

    def _step(self, plan: _Plan, step: str, state: StepState, detail: str = "") -> None:
        self._append(
            plan,
            DeploymentStepRecorded(
                deployment_id=plan.deployment_id,
                step=step,
                state=state,
                detail=detail[:_MAX_ERROR],
            ),
        )

    def _get(self, plan: _Plan) -> DeploymentInfo:
        with self.store.read(plan.tenant_id) as tx:
            found = tx.deployment(plan.deployment_id)
        if found is None:  # pragma: no cover - written in this saga
            msg = f"deployment {plan.deployment_id} vanished"
            raise NotFound(msg)
        return found

    def _run(self, plan: _Plan, info: ModelVersionInfo) -> DeploymentInfo:
        done: list[str] = []
        for step in STEPS:
            try:
                self._step(plan, step, "started")
                failpoint(f"serving.deploy.{step}")
                detail = self._do(plan, info, step)
                if step == "switch":
                    failpoint("serving.deploy.after_switch")
            except Exception as exc:  # noqa: BLE001 - any failure is compensated
                error = f"{step}: {_message(exc)}"
                log.warning(
                    "serving.deploy.step_failed",
                    deployment_id=plan.deployment_id,
                    step=step,
                    error=error,
                )
                self._step(plan, step, "failed", _message(exc))
                attempted = [*done, step] if step == "switch" else done
                return self._compensate(plan, attempted, error)
            self._step(plan, step, "done", detail)
            done.append(step)
        self._append(
            plan, DeploymentEnded(deployment_id=plan.deployment_id, state="succeeded")
        )
        log.info("serving.deploy.succeeded", deployment_id=plan.deployment_id)
        return self._get(plan)

    def _do(self, plan: _Plan, info: ModelVersionInfo, step: str) -> str:
        if step == "validate":
            return self._validate(info)
        if step == "convert":
            return self._convert(plan, info)
        if step == "warm":
            started = time.perf_counter()
            served = self.serving.warm(plan.tenant_id, info, reload=True)
            took = (time.perf_counter() - started) * 1_000
            return f"loaded as {served.format} and answered a sample in {took:.0f} ms"
        if step == "switch":
            return self._switch(plan)
        return self._audit(plan, "success", None)

    def _validate(self, info: ModelVersionInfo) -> str:
        if info.status == "archived":
            msg = f"version {info.version} is archived"
            raise InvalidInput(msg)
        if info.signature:
            features = len(check_signature(info.signature))
            return f"{info.format}, {features} features in the signature"
        return f"{info.format}, no signature: the model's own input names are used"

    def _convert(self, plan: _Plan, info: ModelVersionInfo) -> str:
        with self.store.read(plan.tenant_id) as tx:
            existing = tx.conversion(info.name, info.version)
        if existing is not None and existing.source_digest == info.digest:
            return "the ONNX copy made earlier is used"
        copy = self.models.onnx_copy(plan.tenant_id, info)
        if copy is None:
            return f"served as {info.format}: no faithful ONNX copy"
        data, classes = copy
        ref = self.artifacts.put(
            plan.tenant_id, data, quota_bytes=self.storage_quota_bytes
        )
        self._append(
            plan,
            ModelConverted(
                model=info.name,
                version=info.version,
                source_digest=info.digest,
                onnx_digest=ref.digest,
                classes=None if classes is None else list(classes),
            ),
        )
        return f"converted to ONNX ({ref.size} bytes), checked against the original"

    def _traffic(self, plan: _Plan, settings: dict[str, int | None]) -> None:
        with self.store.read(plan.tenant_id) as tx:
            current = tx.traffic(plan.model, plan.alias)
        if current != settings:
            self._append(
                plan,
                TrafficSet(
                    model=plan.model,
                    alias=plan.alias,
                    canary_version=settings.get("canary_version"),
                    canary_percent=settings.get("canary_percent"),
                    shadow_version=settings.get("shadow_version"),
                ),
            )

    def _switch(self, plan: _Plan) -> str:
        if plan.kind in {"deploy", "rollback"}:
            self.models.move_alias(
                plan.tenant_id, plan.actor, plan.model, plan.alias, plan.version
            )
        self._traffic(plan, plan.intended_traffic())
        self.serving.invalidate(plan.tenant_id, plan.model)
        if plan.kind == "canary":
            return (
                f"version {plan.version} takes {plan.canary_percent}% of {plan.alias!r}"
            )
        if plan.kind == "shadow":
            return f"version {plan.version} shadows {plan.alias!r}"
        return f"{plan.alias!r} now serves version {plan.version}"

    def _audit(
        self, plan: _Plan, result: Literal["success", "error"], error: str | None
    ) -> str:
        details: dict[str, JsonValue] = {
            "deployment_id": plan.deployment_id,
            "kind": plan.kind,
            "version": plan.version,
            "previous_version": plan.previous_version,
        }
        if plan.canary_percent is not None:
            details["canary_percent"] = plan.canary_percent
        if error is not None:
            details["error"] = error
        self.audit.record(
            plan.tenant_id,
            AuditDecision(
                action=f"serving.{plan.kind}",
                actor=AuditActor(
                    kind=plan.actor.kind, id=plan.actor.id, via=plan.actor.via
                ),
                result=result,
                resource=AuditResource(type="model", id=f"{plan.model}@{plan.alias}"),
                details=details,
            ),
        )
        return "recorded in the audit chain"

    # -- undoing ---------------------------------------------------------------

    def _compensate(
        self, plan: _Plan, done: Sequence[str], error: str
    ) -> DeploymentInfo:
        try:
            for step in reversed(done):
                detail = self._undo(plan, step)
                self._step(plan, step, "compensated", detail)
        except Exception as exc:
            failure = f"{error}; undoing failed: {_message(exc)}"
            log.exception(
                "serving.deploy.compensation_failed",
                deployment_id=plan.deployment_id,
                error=failure,
            )
            self._end(plan, "failed", failure)
            return self._get(plan)
        self._end(plan, "compensated", error)
        try:
            self._audit(plan, "error", error)
        except Exception:
            log.warning(
                "serving.deploy.audit_failed",
                deployment_id=plan.deployment_id,
                exc_info=True,
            )
        log.info(
            "serving.deploy.compensated", deployment_id=plan.deployment_id, error=error
        )
        return self._get(plan)

    def _end(
        self, plan: _Plan, state: Literal["compensated", "failed"], error: str
    ) -> None:
        self._append(
            plan,
            DeploymentEnded(
                deployment_id=plan.deployment_id, state=state, error=error[:_MAX_ERROR]
            ),
        )

    def _undo(self, plan: _Plan, step: str) -> str:
        if step == "switch":
            if plan.kind in {"deploy", "rollback"}:
                self.models.move_alias(
                    plan.tenant_id,
                    plan.actor,
                    plan.model,
                    plan.alias,
                    plan.previous_version,
                )
            self._traffic(plan, plan.previous_traffic)
            self.serving.invalidate(plan.tenant_id, plan.model)
            if plan.previous_version is None:
                return f"{plan.alias!r} removed again"
            return f"{plan.alias!r} back at version {plan.previous_version}"
        if step == "warm":
            if plan.version != plan.previous_version:
                info = self.models.resolve(
                    plan.tenant_id, plan.model, version=plan.version
                )
                self.serving.cache.evict((plan.tenant_id, info.digest))
            return "unloaded"
        if step == "convert":
            return "the ONNX copy is kept: it changes nothing served"
        return "nothing to undo"

    # -- recovering ------------------------------------------------------------

    def resume_incomplete(self) -> list[DeploymentInfo]:
        """Finish or compensate every saga a crash left running; what became of them."""
        ended = []
        for tenant_id, deployment_id in self.store.unfinished():
            try:
                ended.append(self._resume(tenant_id, deployment_id))
            except Exception:
                log.exception(
                    "serving.deploy.resume_failed",
                    tenant_id=tenant_id,
                    deployment_id=deployment_id,
                )
        return ended

    def _resume(self, tenant_id: str, deployment_id: str) -> DeploymentInfo:
        with self.store.read(tenant_id) as tx:
            found = tx.deployment(deployment_id)
            previous_traffic = tx.previous_traffic(deployment_id)
        if found is None:  # pragma: no cover - listed a moment ago
            msg = f"deployment {deployment_id} vanished"
            raise NotFound(msg)
        plan = _Plan(
            tenant_id=tenant_id,
            actor=SYSTEM,
            deployment_id=deployment_id,
            model=found.model,
            version=found.version,
            alias=found.alias,
            kind=found.kind,
            canary_percent=found.canary_percent,
            previous_version=found.previous_version,
            previous_traffic=previous_traffic or dict(_NO_TRAFFIC),
        )
        states = {step.name: step.state for step in found.steps}
        switch = states.get("switch")
        log.warning(
            "serving.deploy.resuming",
            tenant_id=tenant_id,
            deployment_id=deployment_id,
            steps=states,
        )
        if switch in {"started", "done"} and self._switched(plan):
            if switch != "done":
                self._step(
                    plan,
                    "switch",
                    "done",
                    "the switch had taken effect before a restart",
                )
            try:
                self._step(plan, "audit", "started")
                self._step(plan, "audit", "done", self._audit(plan, "success", None))
            except Exception as exc:  # noqa: BLE001 - compensated like any step
                self._step(plan, "audit", "failed", _message(exc))
                return self._compensate(plan, ["switch"], f"audit: {_message(exc)}")
            self._append(
                plan, DeploymentEnded(deployment_id=deployment_id, state="succeeded")
            )
            return self._get(plan)
        done = [s for s in STEPS if states.get(s) == "done"]
        if switch in {"started", "failed"}:  # it may have half taken effect
            done.append("switch")
        for step, state in states.items():
            if state == "started" and step != "switch":
                self._step(plan, step, "failed", "interrupted by a restart")
        return self._compensate(plan, done, "interrupted by a restart")

    def _switched(self, plan: _Plan) -> bool:
        version = self.models.alias_version(plan.tenant_id, plan.model, plan.alias)
        with self.store.read(plan.tenant_id) as tx:
            traffic = tx.traffic(plan.model, plan.alias)
        return version == plan.intended_version() and traffic == plan.intended_traffic()
