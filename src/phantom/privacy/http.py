"""The privacy context's HTTP routes (tenant-scoped, all in OpenAPI).

::

    GET  /v1/privacy/status      detectors and operators here, and whether NER runs
    GET  /v1/privacy/policy      the tenant's policy (the default until one is set)
    PUT  /v1/privacy/policy      replace it (privacy:write)
    POST /v1/privacy/analyze     findings in a text or JSON record
    POST /v1/privacy/anonymize   the text or record anonymized by the policy
    POST /v1/privacy/reveal      pseudonym tokens back to values (privacy:reveal;
                                 audited)

The gateway has already authenticated the caller and checked the route's
permission; the service checks it again.
"""

# No ``from __future__ import annotations``: FastAPI reads the route signatures at
# runtime.

from typing import Annotated, Any, Final

from fastapi import APIRouter, Depends
from starlette.concurrency import run_in_threadpool

from phantom.privacy.api import (
    AnalyzeRequest,
    AnalyzeResult,
    AnonymizeRequest,
    AnonymizeResult,
    FindingInfo,
    PolicyDocument,
    PolicyInfo,
    RevealRequest,
    RevealResult,
)
from phantom.privacy.domain import Finding
from phantom.privacy.service import PolicyView, PrivacyService
from phantom.tenancy.api import Principal, request_principal

__all__ = ["privacy_router"]

_ERRORS: Final[dict[int | str, dict[str, Any]]] = {
    401: {"description": "Unauthorized"},
    403: {"description": "Forbidden"},
    422: {"description": "Invalid input (names the field)"},
}
Caller = Annotated[Principal, Depends(request_principal)]


def _findings(findings: tuple[Finding, ...] | list[Finding]) -> list[FindingInfo]:
    return [
        FindingInfo(
            entity=f.entity,
            start=f.start,
            end=f.end,
            score=f.score,
            detector=f.detector,
            path=f.path,
        )
        for f in findings
    ]


def _policy(view: PolicyView) -> PolicyInfo:
    return PolicyInfo(
        document=view.document,
        revision=view.revision,
        is_default=view.is_default,
        updated_by=view.updated_by,
        updated_at=view.updated_at,
    )


def privacy_router(privacy: PrivacyService) -> APIRouter:
    """The privacy routes over ``privacy``."""
    router = APIRouter(prefix="/v1/privacy", tags=["privacy"])

    @router.get("/status", operation_id="privacy_status", responses=_ERRORS)
    async def status(caller: Caller) -> dict[str, Any]:
        """Entity types detected, operators, and whether NER runs (and why not)."""
        del caller
        return privacy.status()

    @router.get("/policy", operation_id="get_privacy_policy", responses=_ERRORS)
    async def get_policy(caller: Caller) -> PolicyInfo:
        """The tenant's privacy policy (revision 0: the default)."""
        return _policy(await run_in_threadpool(privacy.get_policy, caller))

    @router.put("/policy", operation_id="set_privacy_policy", responses=_ERRORS)
    async def set_policy(caller: Caller, document: PolicyDocument) -> PolicyInfo:
        """Replace the tenant's privacy policy (applies within seconds)."""
        view = await run_in_threadpool(privacy.set_policy, caller, document)
        return _policy(view)

    @router.post("/analyze", operation_id="privacy_analyze", responses=_ERRORS)
    async def analyze(caller: Caller, body: AnalyzeRequest) -> AnalyzeResult:
        """Find personal data in a text or a JSON record (values are not echoed)."""
        value = body.text if body.text is not None else body.record
        found = await run_in_threadpool(privacy.analyze, caller, value, body.policy)
        return AnalyzeResult(findings=_findings(found))

    @router.post("/anonymize", operation_id="privacy_anonymize", responses=_ERRORS)
    async def anonymize(caller: Caller, body: AnonymizeRequest) -> AnonymizeResult:
        """Anonymize a text or a JSON record by the policy."""
        value = body.text if body.text is not None else body.record
        done = await run_in_threadpool(privacy.anonymize, caller, value, body.policy)
        return AnonymizeResult(
            text=done.value if body.text is not None else None,  # type: ignore[arg-type]
            record=None if body.text is not None else done.value,
            findings=_findings(done.findings),
            pseudonyms=done.pseudonyms,
        )

    @router.post(
        "/reveal",
        operation_id="privacy_reveal",
        responses={**_ERRORS, 404: {"description": "Not found"}},
    )
    async def reveal(caller: Caller, body: RevealRequest) -> RevealResult:
        """The values behind pseudonym tokens; every call is audited."""
        values = await run_in_threadpool(
            privacy.reveal, caller, body.tokens, body.reason
        )
        return RevealResult(values=values)

    return router
